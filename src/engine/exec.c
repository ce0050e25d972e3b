/* SPDX-License-Identifier: MIT */
/* husk exec [-d] [-i] [-t] [-e K=V] [-u UID[:GID]] [-w DIR] CONTAINER CMD... */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

struct exec_options {
	bool detach, interactive, tty;
	const char *user, *workdir;
	char **env;
};

static int parse(struct exec_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"detach", no_argument, NULL, 'd'},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"env", required_argument, NULL, 'e'},
	    {"user", required_argument, NULL, 'u'},
	    {"workdir", required_argument, NULL, 'w'},
	    {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:dite:u:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->detach = true;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 't':
			o->tty = true;
			break;
		case 'e':
			if (strv_append(&o->env, strdup(optarg)) < 0)
				return -EXIT_ENGINE;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'w':
			o->workdir = optarg;
			break;
		default:
			return -engine_flag_error("exec", c, argv);
		}
	}
	if (argc - optind < 2) {
		engine_error("exec: a container and a command are required");
		return -EXIT_ENGINE;
	}
	return optind;
}

/* NAME=value replaces NAME; NAME alone takes our own value. */
static void env_apply(json_t *env, char *const *add)
{
	for (size_t i = 0; add && add[i]; i++) {
		cleanup_free char *entry = NULL;
		const char *e = add[i];
		size_t len, j;
		json_t *v;
		bool replaced = false;
		if (strchr(e, '=') == NULL) {
			const char *value = getenv(e);
			if (value == NULL || asprintf(&entry, "%s=%s", e, value) < 0)
				continue;
			e = entry;
		}
		len = strcspn(e, "=");
		json_array_foreach (env, j, v) {
			const char *s = json_string_value(v);
			if (s && strncmp(s, e, len) == 0 && s[len] == '=') {
				json_array_set_new(env, j, json_string(e));
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append_new(env, json_string(e));
	}
}

static int user_apply(json_t *process, const char *user, husk_error **err)
{
	unsigned long uid = 0, gid = 0;
	char *end;

	if (user == NULL)
		return 0;
	uid = strtoul(user, &end, 10);
	if (end == user || (*end != '\0' && *end != ':'))
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "exec: user `%s`: use a numeric uid[:gid]", user);
	if (*end == ':') {
		const char *g = end + 1;
		gid = strtoul(g, &end, 10);
		if (end == g || *end != '\0')
			return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					       "exec: user `%s`: use a numeric uid[:gid]", user);
	}
	json_object_set_new(
	    process, "user",
	    json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
	return 0;
}

static int build_process(struct engine *e, const struct ctr *c, const struct exec_options *o,
			 char **cmd, json_t **ret, husk_error **err)
{
	cleanup_json json_t *p = NULL;
	json_t *args = json_array();

	if (husk_container_saved_process(&e->rt, c->id, &p, err) < 0) {
		json_decref(args);
		return -1;
	}
	for (size_t i = 0; cmd[i]; i++)
		json_array_append_new(args, json_string(cmd[i]));
	json_object_set_new(p, "args", args);
	json_object_set_new(p, "terminal", json_boolean(o->tty));
	if (o->workdir)
		json_object_set_new(p, "cwd", json_string(o->workdir));
	env_apply(json_object_get(p, "env"), o->env);
	if (user_apply(p, o->user, err) < 0)
		return -1;
	*ret = steal_pointer(&p);
	return 0;
}

int cmd_exec(struct engine *e, int argc, char **argv)
{
	struct exec_options o = {0};
	cleanup_ctr struct ctr *c = NULL;
	cleanup_json json_t *process = NULL;
	struct husk_exec_opts xo = {0};
	husk_error *err = NULL;
	int first = parse(&o, argc, argv), status = 0;

	if (first < 0) {
		strv_free(o.env);
		return -first;
	}
	if (ctr_lookup(e, argv[first], &c, &err) < 0)
		goto fail;
	if (ctr_status_now(c, NULL) != CTR_RUNNING) {
		husk_error_fail(&err, HUSK_ERR_INVALID, "container %s is not running", argv[first]);
		goto fail;
	}
	if (build_process(e, c, &o, argv + first + 1, &process, &err) < 0)
		goto fail;
	if (!o.interactive) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			close(null);
		}
	}
	xo.detach = o.detach;
	if (husk_container_exec_wait(&e->rt, c->id, process, &xo, &status, &err) < 0) {
		strv_free(o.env);
		engine_error("%s", err->msg ? err->msg : "exec failed");
		status = husk_error_is(err, HUSK_ERR_NOT_FOUND)	   ? EXIT_NOT_FOUND
			 : husk_error_is(err, HUSK_ERR_PERMISSION) ? EXIT_CANNOT_INVOKE
								   : EXIT_ENGINE;
		husk_error_free(&err);
		return status;
	}
	strv_free(o.env);
	return status;
fail:
	strv_free(o.env);
	return engine_fail(err);
}
