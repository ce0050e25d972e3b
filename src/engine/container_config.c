/* SPDX-License-Identifier: MIT */
/* A container's config.json, generated from its image and `run` options. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "spec_default.h"
#include "util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int append_strings(json_t *a, char *const *v)
{
	for (size_t i = 0; v && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0)
			return -1;
	return 0;
}

/* Docker's rule: --entrypoint replaces the image's Entrypoint and drops its
 * Cmd; arguments after the image replace the Cmd. */
static int process_args(const struct husk_image_config *c, const struct run_options *o,
			json_t **ret, husk_error **err)
{
	cleanup_json json_t *args = json_array();
	char *const *cmd = o->args && o->args[0] ? o->args : (o->entrypoint_set ? NULL : c->cmd);

	if (args == NULL)
		return husk_error_set(err, ENOMEM, "process.args");
	if (o->entrypoint_set) {
		if (o->entrypoint[0] != '\0' &&
		    json_array_append_new(args, json_string(o->entrypoint)) < 0)
			return husk_error_set(err, ENOMEM, "process.args");
	} else if (append_strings(args, c->entrypoint) < 0) {
		return husk_error_set(err, ENOMEM, "process.args");
	}
	if (append_strings(args, cmd) < 0)
		return husk_error_set(err, ENOMEM, "process.args");
	if (json_array_size(args) == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "no command specified");
	*ret = steal_pointer(&args);
	return 0;
}

/* Sets NAME=value in env, replacing an earlier NAME. */
static int env_set(json_t *env, const char *entry)
{
	size_t name_len = strcspn(entry, "=");
	size_t i;
	json_t *v;

	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, entry, name_len) == 0 && s[name_len] == '=')
			return json_array_set_new(env, i, json_string(entry));
	}
	return json_array_append_new(env, json_string(entry));
}

/* "-e NAME" takes NAME from our own environment, or is left out. */
static int env_set_option(json_t *env, const char *opt, husk_error **err)
{
	cleanup_free char *entry = NULL;
	const char *value;

	if (opt[0] == '=' || opt[0] == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID, "-e `%s`: no variable name", opt);
	if (strchr(opt, '=') == NULL) {
		value = getenv(opt);
		if (value == NULL)
			return 0;
		if (asprintf(&entry, "%s=%s", opt, value) < 0)
			return husk_error_set(err, ENOMEM, "-e");
		opt = entry;
	}
	return env_set(env, opt) < 0 ? husk_error_set(err, ENOMEM, "-e") : 0;
}

static int process_env(const struct husk_image_config *c, const struct run_options *o,
		       const char *hostname, json_t **ret, husk_error **err)
{
	cleanup_json json_t *env = json_array();
	cleanup_free char *host = NULL;
	int r = 0;

	if (env == NULL || asprintf(&host, "HOSTNAME=%s", hostname) < 0)
		return husk_error_set(err, ENOMEM, "process.env");
	r |= env_set(env, DEFAULT_PATH);
	r |= env_set(env, host);
	if (o->tty)
		r |= env_set(env, "TERM=xterm");
	for (size_t i = 0; c->env && c->env[i]; i++)
		r |= env_set(env, c->env[i]);
	if (r < 0)
		return husk_error_set(err, ENOMEM, "process.env");
	/* docker's order: the --env-file lines, then -e */
	for (size_t i = 0; o->env_file && o->env_file[i]; i++)
		if (env_set_option(env, o->env_file[i], err) < 0)
			return -1;
	for (size_t i = 0; o->env && o->env[i]; i++)
		if (env_set_option(env, o->env[i], err) < 0)
			return -1;
	*ret = steal_pointer(&env);
	return 0;
}

static int apply_process(json_t *process, const struct husk_image *img, const struct run_options *o,
			 const char *hostname, husk_error **err)
{
	const struct husk_image_config *c = &img->config;
	const char *cwd =
	    o->workdir ? o->workdir : (c->working_dir && c->working_dir[0] ? c->working_dir : "/");
	json_t *args = NULL, *env = NULL;

	if (cwd[0] != '/')
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "working directory `%s` is not an absolute path", cwd);
	if (process_args(c, o, &args, err) < 0)
		return -1;
	json_object_set_new(process, "args", args);
	if (process_env(c, o, hostname, &env, err) < 0)
		return -1;
	json_object_set_new(process, "env", env);
	if (json_object_set_new(process, "cwd", json_string(cwd)) < 0 ||
	    json_object_set_new(process, "terminal", json_boolean(o->tty)) < 0)
		return husk_error_set(err, ENOMEM, "process");
	return 0;
}

/* The image's labels, then --label: config annotations. */
static int apply_labels(struct config_ctx *c, husk_error **err)
{
	cleanup_json json_t *annotations = json_object();
	char **lists[2] = {c->img->config.labels, c->o->labels};

	if (annotations == NULL)
		return husk_error_set(err, ENOMEM, "annotations");
	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			cleanup_free char *key = strdup(lists[l][i]);
			char *eq = key ? strchr(key, '=') : NULL;
			if (eq == NULL)
				return husk_error_set(err, ENOMEM, "annotations");
			*eq = '\0';
			if (json_object_set_new(annotations, key, json_string(eq + 1)) < 0)
				return husk_error_set(err, ENOMEM, "annotations");
		}
	if (json_object_size(annotations) == 0)
		return 0;
	return json_object_set_new(c->config, "annotations", steal_pointer(&annotations)) < 0
		   ? husk_error_set(err, ENOMEM, "annotations")
		   : 0;
}

static size_t path_depth(const char *path)
{
	size_t n = 0;

	for (; *path; path++)
		if (*path == '/' && path[1] != '\0')
			n++;
	return n;
}

static int by_depth(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	size_t dx = path_depth(json_string_value(json_object_get(*x, "destination")));
	size_t dy = path_depth(json_string_value(json_object_get(*y, "destination")));

	return dx < dy ? -1 : dx > dy;
}

/* Ours after the default ones, a parent before what is mounted in it (as
 * docker sorts them); a default mount of the same destination (say
 * /dev/shm) gives way to ours. */
static int add_our_mounts(struct config_ctx *c, husk_error **err)
{
	json_t *mounts = json_object_get(c->config, "mounts");
	size_t n = json_array_size(c->mounts), i;
	cleanup_free json_t **sorted = calloc(n + 1, sizeof(json_t *));
	json_t *m;

	if (sorted == NULL)
		return husk_error_set(err, ENOMEM, "mounts");
	json_array_foreach (c->mounts, i, m)
		sorted[i] = m;
	/* a stable sort: insertion, n is small */
	for (i = 1; i < n; i++)
		for (size_t j = i; j > 0 && by_depth(&sorted[j - 1], &sorted[j]) > 0; j--) {
			json_t *t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		const char *dest = json_string_value(json_object_get(sorted[i], "destination"));
		size_t k;
		json_array_foreach (mounts, k, m)
			if (strcmp(json_string_value(json_object_get(m, "destination")), dest) ==
			    0) {
				json_array_remove(mounts, k);
				break;
			}
		if (json_array_append(mounts, sorted[i]) < 0)
			return husk_error_set(err, ENOMEM, "mounts");
	}
	return 0;
}

static int apply_root(struct config_ctx *c, husk_error **err)
{
	cleanup_free char *rootfs = NULL;
	json_t *root;

	if (asprintf(&rootfs, "%s/rootfs", c->dir) < 0)
		return husk_error_set(err, ENOMEM, "root");
	root = json_pack("{s:s, s:b}", "path", rootfs, "readonly", c->o->security.read_only);
	if (root == NULL || json_object_set_new(c->config, "root", root) < 0 ||
	    json_object_set_new(c->config, "hostname", json_string(c->hostname)) < 0)
		return husk_error_set(err, ENOMEM, "config");
	return 0;
}

static json_t *default_config(const struct run_options *o, uint64_t *ret_caps, husk_error **err)
{
	struct husk_spec_defaults d = {.privileged = o->security.privileged};
	json_t *config;

	if (config_capabilities(&o->security, &d.caps, err) < 0)
		return NULL;
	config = husk_spec_default(&d);
	if (config == NULL)
		husk_error_set(err, ENOMEM, "config");
	*ret_caps = d.caps;
	return config;
}

int container_config_generate(const struct engine_paths *paths, const struct husk_image *img,
			      const struct run_options *o, const char *id, const char *dir,
			      json_t **ret, husk_error **err)
{
	cleanup_free char *hostname = NULL;
	cleanup_json json_t *config = NULL, *mounts = json_array();
	struct config_ctx c = {.paths = paths, .img = img, .o = o, .id = id, .dir = dir};
	uint64_t caps = 0;

	if (mounts == NULL)
		return husk_error_set(err, ENOMEM, "config");
	if ((config = default_config(o, &caps, err)) == NULL ||
	    config_hostname(o, id, &hostname, err) < 0)
		return -1;
	if (userns_auto_read(dir, &c.idmap, err) < 0)
		return -1;
	c.config = config;
	c.mounts = mounts;
	c.hostname = hostname;
	if (apply_process(json_object_get(config, "process"), img, o, hostname, err) < 0 ||
	    config_apply_user(&c, err) < 0 || apply_root(&c, err) < 0 ||
	    apply_labels(&c, err) < 0 || config_apply_security(&c, caps, err) < 0 ||
	    config_apply_resources(&c, err) < 0 || config_apply_network(&c, err) < 0 ||
	    config_apply_init(&c, err) < 0 || config_apply_mounts(&c, err) < 0 ||
	    add_our_mounts(&c, err) < 0 || config_apply_userns(&c, err) < 0)
		return -1;
	*ret = steal_pointer(&config);
	return 0;
}

int config_add_bind(struct config_ctx *c, const char *dest, const char *source, bool readonly,
		    const char *propagation, husk_error **err)
{
	json_t *m =
	    json_pack("{s:s, s:s, s:s, s:[s, s]}", "destination", dest, "type", "bind", "source",
		      source, "options", "rbind", propagation ? propagation : "rprivate");

	if (m == NULL)
		return husk_error_set(err, ENOMEM, "mounts");
	if (readonly)
		json_array_append_new(json_object_get(m, "options"), json_string("ro"));
	return json_array_append_new(c->mounts, m) < 0 ? husk_error_set(err, ENOMEM, "mounts") : 0;
}

bool config_user_mounts(const struct run_options *o, const char *dest)
{
	for (size_t i = 0; i < o->n_mounts; i++)
		if (strcmp(o->mounts[i].target, dest) == 0)
			return true;
	return false;
}
