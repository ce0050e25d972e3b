/* SPDX-License-Identifier: MIT */
/*
 * husk commit [-a AUTHOR] [-m MESSAGE] [-c INSTRUCTION]... [-p=false]
 * CONTAINER [REPO[:TAG]]: a new image, the container's image plus one layer
 * of what the container changed (its overlay upper dir: overlay whiteouts
 * and opaque directories become OCI ones), with the container's command,
 * environment, working dir and user as its config, and a history entry.
 * Prints the new image's id.
 *
 * A running container is paused (frozen) while its upper dir is packed, as
 * Docker does, so that the layer is one moment of it; with -p=false it
 * runs on, and a file written meanwhile may be packed half-written. A
 * container without a cgroup cannot be frozen: it is packed running.
 *
 * All-or-nothing: the store records the image only once its layer, config
 * and manifest are written; a failure before leaves at most blobs that no
 * image names, which gc removes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "commit_changes.h"
#include "record.h"
#include "userns_auto.h"
#include "util.h"

struct commit_options {
	const char *author, *message;
	char **changes;
	bool no_pause;
	const char *container;
	char *name; /* normalized, or NULL */
};

static void commit_options_clear(struct commit_options *o)
{
	strv_free(o->changes);
	free(o->name);
}

static int parse_pause(const char *v, bool *ret_no_pause)
{
	if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*ret_no_pause = false;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*ret_no_pause = true;
	else
		return -1;
	return 0;
}

static int parse(struct commit_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"author", required_argument, NULL, 'a'},
	    {"message", required_argument, NULL, 'm'},
	    {"change", required_argument, NULL, 'c'},
	    {"pause", optional_argument, NULL, 'p'},
	    {0},
	};
	husk_error *err = NULL;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":a:m:c:p::", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->author = optarg;
			break;
		case 'm':
			o->message = optarg;
			break;
		case 'c':
			if (strv_append(&o->changes, strdup(optarg)) < 0) {
				engine_error("commit: out of memory");
				return EXIT_ENGINE;
			}
			break;
		case 'p': /* -p, -p=false, --pause=false */
			if (parse_pause(optarg && optarg[0] == '=' ? optarg + 1 : optarg,
					&o->no_pause) < 0) {
				engine_error("commit: --pause `%s`: must be true or false", optarg);
				return EXIT_ENGINE;
			}
			break;
		default:
			return engine_flag_error("commit", c, argv);
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		engine_error("commit: %s", argc - optind < 1 ? "a container is required"
							     : "takes CONTAINER [REPO[:TAG]]");
		return EXIT_ENGINE;
	}
	o->container = argv[optind];
	if (optind + 1 < argc && husk_store_normalize_name(argv[optind + 1], &o->name, &err) < 0)
		return engine_fail(err);
	return 0;
}

/* "a b c" of a JSON array of strings. */
static char *joined(json_t *array)
{
	char *s = NULL;
	size_t len = 0, i;
	json_t *v;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		return NULL;
	json_array_foreach (array, i, v)
		fprintf(f, "%s%s", i ? " " : "", json_string_value(v) ? json_string_value(v) : "");
	fclose(f);
	return s;
}

/* The container's Env without the HOSTNAME husk gave it (it is the
 * container's, not the image's). */
static json_t *image_env(json_t *ctr_config)
{
	json_t *env = json_object_get(ctr_config, "Env"), *out = json_array(), *v;
	const char *host = json_string_value(json_object_get(ctr_config, "Hostname"));
	size_t i;

	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s == NULL ||
		    (host && strncmp(s, "HOSTNAME=", 9) == 0 && strcmp(s + 9, host) == 0))
			continue;
		json_array_append(out, v);
	}
	return out;
}

static void set_or_drop(json_t *config, const char *key, json_t *value, bool keep)
{
	if (keep && value != NULL)
		json_object_set(config, key, value);
	else
		json_object_del(config, key);
}

/* The image's config, with what the container ran as. */
static json_t *new_config(const struct husk_image *img, const struct ctr *c)
{
	json_t *base = json_object_get(img->config_json, "config");
	json_t *config = json_is_object(base) ? json_deep_copy(base) : json_object();
	json_t *cc = json_object_get(c->doc, "Config");
	json_t *cmd = json_object_get(cc, "Cmd"), *ep = json_object_get(cc, "Entrypoint");
	json_t *wd = json_object_get(cc, "WorkingDir"), *user = json_object_get(cc, "User");
	json_t *labels = json_object_get(cc, "Labels"), *sig = json_object_get(cc, "StopSignal");

	if (config == NULL)
		return NULL;
	set_or_drop(config, "Cmd", cmd, json_array_size(cmd) > 0);
	set_or_drop(config, "Entrypoint", ep, json_array_size(ep) > 0);
	json_object_set_new(config, "Env", image_env(cc));
	/* "/" is the default a container gets, not a choice to record */
	if (json_string_length(wd) > 0 &&
	    (strcmp(json_string_value(wd), "/") != 0 || json_object_get(config, "WorkingDir")))
		json_object_set(config, "WorkingDir", wd);
	set_or_drop(config, "User", user, json_string_length(user) > 0);
	if (json_object_size(labels) > 0) {
		if (!json_is_object(json_object_get(config, "Labels")))
			json_object_set_new(config, "Labels", json_object());
		json_object_update(json_object_get(config, "Labels"), labels);
	}
	if (json_is_string(sig) && (json_object_get(config, "StopSignal") ||
				    strcmp(json_string_value(sig), "SIGTERM") != 0))
		json_object_set(config, "StopSignal", sig);
	return config;
}

/* The upper dir, made empty when the container never had its overlay
 * mounted (a created container: nothing changed). */
static int open_upper(const struct ctr *c, int *ret, husk_error **err)
{
	cleanup_close int dir = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0)
		return husk_error_set(err, errno, "open `%s`", c->dir);
	if (mkdirat(dir, "upper", 0755) < 0 && errno != EEXIST)
		return husk_error_set(err, errno, "mkdir `%s/upper`", c->dir);
	*ret = openat(dir, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return *ret < 0 ? husk_error_set(err, errno, "open `%s/upper`", c->dir) : 0;
}

/* The layer, packed under the container's lock (no start, stop or removal
 * meanwhile), the container frozen if it runs and may be. */
static int pack_changes(struct engine *e, struct husk_store *s, struct ctr *c, bool pause,
			struct husk_layer *ret, husk_error **err)
{
	struct husk_pack_opts pack = {.overlay_upper = true, .mtime = -1};
	cleanup_close int upper = -1;
	struct ctr_idmap m;
	bool paused = false;
	int r;

	if (userns_auto_read(c->dir, &m, err) < 0)
		return -1;
	pack.uids = m.uids;
	pack.n_uids = m.n_uids;
	pack.gids = m.gids;
	pack.n_gids = m.n_gids;
	if (ctr_lock(c, err) < 0)
		return -1;
	if (pause && ctr_status_now(c, NULL) == CTR_RUNNING) {
		husk_error *perr = NULL;
		paused = husk_container_pause(&e->rt, c->id, &perr) == 0;
		/* no cgroup to freeze: packed running (see above) */
		if (!paused && !husk_error_is(perr, HUSK_ERR_UNSUPPORTED)) {
			ctr_unlock(c);
			*err = perr;
			return husk_error_wrap(err, "pause %s", c->id);
		}
		husk_error_free(&perr);
	}
	r = open_upper(c, &upper, err);
	if (r == 0)
		r = husk_store_pack_dir(s, upper, &pack, ret, err);
	if (paused && husk_container_resume(&e->rt, c->id, r == 0 ? err : NULL) < 0 && r == 0) {
		husk_layer_clear(ret);
		r = -1;
	}
	ctr_unlock(c);
	return r;
}

static int commit(struct engine *e, struct ctr *c, const struct commit_options *o, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image *img = NULL, *made = NULL;
	struct husk_layer layer = {NULL};
	cleanup_json json_t *config = NULL;
	cleanup_free char *created_by = NULL, *manifest = NULL;
	char now[64];
	int r = -1;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	if (husk_store_image_get(s, c->image_digest, &img, err) < 0)
		goto out;
	config = new_config(img, c);
	created_by = joined(json_object_get(json_object_get(c->doc, "Config"), "Cmd"));
	if (config == NULL || created_by == NULL) {
		husk_error_set(err, ENOMEM, "commit");
		goto out;
	}
	if (commit_apply_changes(config, o->changes, err) < 0 ||
	    pack_changes(e, s, c, !o->no_pause, &layer, err) < 0)
		goto out;
	rfc3339_now(now);
	struct husk_image_create create = {
	    .base = c->image_digest,
	    .layers = &layer,
	    .n_layers = 1,
	    .config = config,
	    .created = now,
	    .created_by = created_by,
	    .author = o->author,
	    .comment = o->message,
	    .name = o->name,
	};
	if (husk_store_create_image(s, &create, &manifest, err) < 0 ||
	    husk_store_image_get(s, manifest, &made, err) < 0)
		goto out;
	printf("%s\n", made->id);
	r = 0;
out:
	husk_layer_clear(&layer);
	husk_image_free(made);
	husk_image_free(img);
	husk_store_close(s);
	return r;
}

int cmd_commit(struct engine *e, int argc, char **argv)
{
	struct commit_options o = {0};
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	int r = parse(&o, argc, argv);

	if (r == 0 && ctr_lookup(e, o.container, &c, &err) < 0)
		r = engine_fail(err);
	if (r == 0 && commit(e, c, &o, &err) < 0)
		r = engine_fail(err);
	commit_options_clear(&o);
	return r;
}
