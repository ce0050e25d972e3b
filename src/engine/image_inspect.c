/* SPDX-License-Identifier: MIT */
/*
 * husk image inspect IMAGE...: a JSON array of objects shaped as Docker's
 * (Id, RepoTags, RepoDigests, Created, Config, Architecture, Os, Size,
 * RootFS, ...). The images found are printed; each one that is not is an
 * error line on stderr, and the exit status is then 1, as Docker's.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "util.h"

/* Docker's Config fields that come from an image, null (or "") when the
 * image has none. */
static const struct {
	const char *key;
	bool string;
} config_fields[] = {
    {"User", true},	    {"ExposedPorts", false}, {"Env", false},	   {"Cmd", false},
    {"Healthcheck", false}, {"Volumes", false},	     {"WorkingDir", true}, {"Entrypoint", false},
    {"Labels", false},	    {"StopSignal", true},
};

static json_t *inspect_config(json_t *config)
{
	json_t *out = json_object();

	for (size_t i = 0; out != NULL && i < ARRAY_SIZE(config_fields); i++) {
		json_t *v = json_object_get(config, config_fields[i].key);
		json_t *copy = v != NULL && !json_is_null(v) ? json_deep_copy(v)
			       : config_fields[i].string     ? json_string("")
							     : json_null();
		if (json_object_set_new(out, config_fields[i].key, copy) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *strv_json(char **v)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && v != NULL && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *diff_ids_json(const struct husk_image *img)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < img->n_layers; i++)
		if (json_array_append_new(a, json_string(img->layers[i].diff_id)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* A string of the config document, "" when absent. */
static const char *config_string(const struct husk_image *img, const char *key)
{
	const char *v = json_string_value(json_object_get(img->config_json, key));

	return v ? v : "";
}

static json_t *inspect_object(const struct husk_image *img)
{
	return json_pack(
	    "{s:s, s:o, s:[], s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:{s:s, s:o}}", "Id",
	    img->id, "RepoTags", strv_json(img->tags), "RepoDigests", "Parent", "", "Comment",
	    config_string(img, "comment"), "Created",
	    img->created ? img->created : "0001-01-01T00:00:00Z", "DockerVersion",
	    config_string(img, "docker_version"), "Author", config_string(img, "author"), "Config",
	    inspect_config(json_object_get(img->config_json, "config")), "Architecture",
	    img->architecture ? img->architecture : "", "Os", img->os ? img->os : "", "Size",
	    (json_int_t)img->size, "RootFS", "Type", "layers", "Layers", diff_ids_json(img));
}

int image_inspect_json(struct engine *e, const char *ref, json_t **ret, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image *img = NULL;
	cleanup_free char *digest = NULL;
	int r;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = engine_image_resolve(s, ref, &digest, err);
	if (r == 0)
		r = husk_store_image_get(s, digest, &img, err);
	husk_store_close(s);
	if (r < 0)
		return -1;
	*ret = inspect_object(img);
	husk_image_free(img);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "inspect %s", ref);
}

int cmd_image_inspect(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	cleanup_json json_t *all = json_array();
	cleanup_free char *text = NULL;
	int c, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		if (c != 'H')
			return engine_flag_error("image inspect", c, argv);
		fputs("usage: husk image inspect IMAGE...\n", stdout);
		return 0;
	}
	if (optind >= argc) {
		engine_error("image inspect: needs at least one image");
		return EXIT_ENGINE;
	}
	for (int i = optind; i < argc && all != NULL; i++) {
		husk_error *err = NULL;
		json_t *obj = NULL;
		if (image_inspect_json(e, argv[i], &obj, &err) < 0 ||
		    json_array_append_new(all, obj) < 0) {
			engine_fail(err);
			status = 1;
		}
	}
	text = all ? json_dumps(all, JSON_INDENT(4)) : NULL;
	if (text == NULL) {
		engine_error("image inspect: out of memory");
		return EXIT_ENGINE;
	}
	puts(text);
	return status;
}
