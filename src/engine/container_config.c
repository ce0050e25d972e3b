/* SPDX-License-Identifier: MIT */
/* A container's config.json, generated from its image and `run` options. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container_config.h"
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
	for (size_t i = 0; o->env && o->env[i]; i++)
		if (env_set_option(env, o->env[i], err) < 0)
			return -1;
	*ret = steal_pointer(&env);
	return 0;
}

static bool parse_id(const char *s, size_t len, unsigned *ret)
{
	char buf[16];
	int64_t v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (parse_int64(buf, 0, UINT32_MAX - 1, &v) < 0)
		return false;
	*ret = (unsigned)v;
	return true;
}

/* uid[:gid], numeric. Without a gid, 0 (names from the image's /etc/passwd
 * come with name resolution). */
static int process_user(const char *user, json_t **ret, husk_error **err)
{
	unsigned uid = 0, gid = 0;

	if (user != NULL && user[0] != '\0') {
		size_t uid_len = strcspn(user, ":");
		bool has_gid = user[uid_len] == ':';
		if (!parse_id(user, uid_len, &uid) ||
		    (has_gid && !parse_id(user + uid_len + 1, strlen(user + uid_len + 1), &gid)))
			return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					       "user `%s`: user and group names are not supported "
					       "yet: use a numeric uid[:gid]",
					       user);
	}
	*ret = json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "process.user");
}

static int apply_process(json_t *process, const struct husk_image *img, const struct run_options *o,
			 const char *hostname, husk_error **err)
{
	const struct husk_image_config *c = &img->config;
	const char *cwd =
	    o->workdir ? o->workdir : (c->working_dir && c->working_dir[0] ? c->working_dir : "/");
	json_t *args = NULL, *env = NULL, *user = NULL;

	if (cwd[0] != '/')
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "working directory `%s` is not an absolute path", cwd);
	if (process_args(c, o, &args, err) < 0)
		return -1;
	json_object_set_new(process, "args", args);
	if (process_env(c, o, hostname, &env, err) < 0)
		return -1;
	json_object_set_new(process, "env", env);
	if (process_user(o->user ? o->user : c->user, &user, err) < 0)
		return -1;
	json_object_set_new(process, "user", user);
	if (json_object_set_new(process, "cwd", json_string(cwd)) < 0 ||
	    json_object_set_new(process, "terminal", json_boolean(o->tty)) < 0)
		return husk_error_set(err, ENOMEM, "process");
	return 0;
}

int container_config_generate(const struct husk_image *img, const struct run_options *o,
			      const char *id, const char *rootfs, json_t **ret, husk_error **err)
{
	struct husk_spec_defaults d = {.caps = husk_caps_default()};
	cleanup_json json_t *config = husk_spec_default(&d);
	char short_id[13];
	const char *hostname = o->hostname;
	json_t *root;

	if (config == NULL)
		return husk_error_set(err, ENOMEM, "config");
	if (hostname == NULL) {
		/* Docker's: the id's first 12 digits */
		snprintf(short_id, sizeof(short_id), "%.12s", id);
		hostname = short_id;
	}
	if (apply_process(json_object_get(config, "process"), img, o, hostname, err) < 0)
		return -1;
	root = json_pack("{s:s, s:b}", "path", rootfs, "readonly", 0);
	if (root == NULL || json_object_set_new(config, "root", root) < 0 ||
	    json_object_set_new(config, "hostname", json_string(hostname)) < 0)
		return husk_error_set(err, ENOMEM, "config");
	*ret = steal_pointer(&config);
	return 0;
}
