/* SPDX-License-Identifier: MIT */
/* config.json: parse and validate into struct husk_spec. */
#define _GNU_SOURCE
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "sysctl.h"
#include "util.h"

/* Errors name the field: "process.args: must be a non-empty array of strings". */
#define field_error(err, fmt, ...) husk_error_fail(err, HUSK_ERR_INVALID, fmt, ##__VA_ARGS__)

static int get_string(json_t *obj, const char *key, const char *where, bool required, char **ret,
		      husk_error **err)
{
	json_t *v = json_object_get(obj, key);

	*ret = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return field_error(err, "%s%s: is required", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return field_error(err, "%s%s: must be a string", where, key);
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : husk_error_set(err, ENOMEM, "%s%s", where, key);
}

static int get_uint(json_t *v, const char *where, const char *key, uint64_t max, uint64_t *ret,
		    husk_error **err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return field_error(err, "%s%s: must be an integer between 0 and %llu", where, key,
				   (unsigned long long)max);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_bool(json_t *obj, const char *key, const char *where, bool *ret, husk_error **err)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return field_error(err, "%s%s: must be true or false", where, key);
	*ret = json_is_true(v);
	return 0;
}

/* An optional array of strings; NULL when absent. */
static int get_strv(json_t *obj, const char *key, const char *where, char ***ret, husk_error **err)
{
	json_t *v = json_object_get(obj, key), *e;
	cleanup_strv char **r = NULL;
	size_t i;

	*ret = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "%s%s: must be an array of strings", where, key);
	r = calloc(json_array_size(v) + 1, sizeof(char *));
	if (r == NULL)
		return husk_error_set(err, ENOMEM, "%s%s", where, key);
	json_array_foreach (v, i, e) {
		if (!json_is_string(e))
			return field_error(err, "%s%s[%zu]: must be a string", where, key, i);
		r[i] = strdup(json_string_value(e));
		if (r[i] == NULL)
			return husk_error_set(err, ENOMEM, "%s%s", where, key);
	}
	*ret = steal_pointer(&r);
	return 0;
}

static int check_object(json_t *v, const char *what, husk_error **err)
{
	if (v != NULL && !json_is_null(v) && !json_is_object(v))
		return field_error(err, "%s: must be an object", what);
	return 0;
}

static int parse_caps_set(json_t *caps, const char *where, const char *key, struct husk_process *p,
			  uint64_t *ret, husk_error **err)
{
	json_t *v = json_object_get(caps, key), *e;
	size_t i;

	*ret = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "%s.capabilities.%s: must be an array of strings", where,
				   key);
	json_array_foreach (v, i, e) {
		int c = json_is_string(e) ? husk_cap_from_name(json_string_value(e)) : -2;
		if (c == -2)
			return field_error(err, "%s.capabilities.%s[%zu]: must be a string", where,
					   key, i);
		if (c < 0) {
			/* runtime-spec 1.1: log a warning and do not fail */
			char *w = NULL;
			if (asprintf(&w, "%s.capabilities: unknown capability `%s` ignored", where,
				     json_string_value(e)) < 0)
				return husk_error_set(err, ENOMEM, "%s.capabilities", where);
			if (strv_contains(p->warnings, w))
				free(w);
			else if (strv_append(&p->warnings, w) < 0)
				return husk_error_set(err, ENOMEM, "%s.capabilities", where);
			continue;
		}
		*ret |= 1ULL << c;
	}
	return 0;
}

static int parse_capabilities(json_t *obj, const char *where, struct husk_process *p,
			      husk_error **err)
{
	json_t *caps = json_object_get(obj, "capabilities");

	if (caps == NULL || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return field_error(err, "%s.capabilities: must be an object", where);
	p->has_caps = true;
	if (parse_caps_set(caps, where, "bounding", p, &p->caps.bounding, err) < 0 ||
	    parse_caps_set(caps, where, "effective", p, &p->caps.effective, err) < 0 ||
	    parse_caps_set(caps, where, "inheritable", p, &p->caps.inheritable, err) < 0 ||
	    parse_caps_set(caps, where, "permitted", p, &p->caps.permitted, err) < 0 ||
	    parse_caps_set(caps, where, "ambient", p, &p->caps.ambient, err) < 0)
		return -1;
	return 0;
}

/* RLIM_INFINITY arrives as INT64_MIN (see infinity_to_sentinel). */
static int get_rlim(json_t *v, const char *where, const char *key, uint64_t *ret, husk_error **err)
{
	if (json_is_integer(v) && json_integer_value(v) == INT64_MIN) {
		*ret = UINT64_MAX;
		return 0;
	}
	return get_uint(v, where, key, UINT64_MAX, ret, err);
}

static int parse_rlimits(json_t *obj, const char *where, struct husk_process *p, husk_error **err)
{
	json_t *v = json_object_get(obj, "rlimits"), *e;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "%s.rlimits: must be an array", where);
	p->rlimits = calloc(json_array_size(v) + 1, sizeof(*p->rlimits));
	if (p->rlimits == NULL)
		return husk_error_set(err, ENOMEM, "%s.rlimits", where);
	json_array_foreach (v, i, e) {
		json_t *t = json_object_get(e, "type");
		struct husk_rlimit *r = &p->rlimits[i];
		char f[80];
		int res;

		if (!json_is_object(e) || !json_is_string(t))
			return field_error(err, "%s.rlimits[%zu].type: is required", where, i);
		res = husk_rlimit_from_name(json_string_value(t));
		if (res < 0)
			return field_error(err, "%s.rlimits[%zu].type: unknown rlimit `%s`", where,
					   i, json_string_value(t));
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[j].resource == res)
				return field_error(err, "%s.rlimits[%zu].type: duplicate `%s`",
						   where, i, json_string_value(t));
		snprintf(f, sizeof(f), "%s.rlimits[%zu].", where, i);
		r->resource = res;
		if (get_rlim(json_object_get(e, "soft"), f, "soft", &r->soft, err) < 0 ||
		    get_rlim(json_object_get(e, "hard"), f, "hard", &r->hard, err) < 0)
			return -1;
		if (r->soft > r->hard)
			return field_error(
			    err, "%s.rlimits[%zu]: soft limit is above the hard limit", where, i);
		p->n_rlimits++;
	}
	return 0;
}

static int parse_user(json_t *obj, const char *where, struct husk_process *p, husk_error **err)
{
	json_t *u = json_object_get(obj, "user"), *v, *e;
	char f[80];
	uint64_t n = 0;
	size_t i;

	if (u == NULL || json_is_null(u))
		return 0;
	snprintf(f, sizeof(f), "%s.user", where);
	if (check_object(u, f, err) < 0)
		return -1;
	snprintf(f, sizeof(f), "%s.user.", where);
	if ((v = json_object_get(u, "uid")) != NULL) {
		if (get_uint(v, f, "uid", UINT32_MAX - 1, &n, err) < 0)
			return -1;
		p->uid = (uid_t)n;
	}
	if ((v = json_object_get(u, "gid")) != NULL) {
		if (get_uint(v, f, "gid", UINT32_MAX - 1, &n, err) < 0)
			return -1;
		p->gid = (gid_t)n;
	}
	if ((v = json_object_get(u, "umask")) != NULL && !json_is_null(v)) {
		if (get_uint(v, f, "umask", 0777, &n, err) < 0)
			return -1;
		p->umask = (mode_t)n;
		p->has_umask = true;
	}
	v = json_object_get(u, "additionalGids");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_array(v))
			return field_error(err, "%sadditionalGids: must be an array", f);
		p->additional_gids = calloc(json_array_size(v) + 1, sizeof(gid_t));
		if (p->additional_gids == NULL)
			return husk_error_set(err, ENOMEM, "%sadditionalGids", f);
		json_array_foreach (v, i, e) {
			if (get_uint(e, f, "additionalGids[]", UINT32_MAX - 1, &n, err) < 0)
				return -1;
			p->additional_gids[p->n_additional_gids++] = (gid_t)n;
		}
	}
	return 0;
}

static int parse_console_size(json_t *obj, const char *where, struct husk_process *p,
			      husk_error **err)
{
	json_t *cs = json_object_get(obj, "consoleSize");
	char f[80];
	uint64_t h = 0, w = 0;

	if (cs == NULL || json_is_null(cs))
		return 0;
	snprintf(f, sizeof(f), "%s.consoleSize.", where);
	if (!json_is_object(cs) ||
	    get_uint(json_object_get(cs, "height"), f, "height", UINT16_MAX, &h, err) < 0 ||
	    get_uint(json_object_get(cs, "width"), f, "width", UINT16_MAX, &w, err) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s.consoleSize: must have height and width", where);
	p->has_console_size = true;
	p->console_rows = (unsigned short)h;
	p->console_cols = (unsigned short)w;
	return 0;
}

static int check_env(char **env, const char *where, husk_error **err)
{
	for (size_t i = 0; env && env[i]; i++)
		if (strchr(env[i], '=') == NULL || env[i][0] == '=')
			return field_error(err, "%s.env[%zu]: `%s` is not of the form KEY=VALUE",
					   where, i, env[i]);
	return 0;
}

int husk_process_parse(json_t *obj, const char *where, struct husk_process *p, husk_error **err)
{
	char f[80];
	json_t *v;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(obj))
		return field_error(err, "%s: must be an object", where);
	snprintf(f, sizeof(f), "%s.", where);
	if (get_bool(obj, "terminal", f, &p->terminal, err) < 0 ||
	    get_bool(obj, "noNewPrivileges", f, &p->no_new_privileges, err) < 0 ||
	    get_strv(obj, "args", f, &p->args, err) < 0 ||
	    get_strv(obj, "env", f, &p->env, err) < 0 ||
	    get_string(obj, "cwd", f, true, &p->cwd, err) < 0 ||
	    get_string(obj, "apparmorProfile", f, false, &p->apparmor_profile, err) < 0 ||
	    get_string(obj, "selinuxLabel", f, false, &p->selinux_label, err) < 0)
		return -1;
	if (p->args == NULL || p->args[0] == NULL || p->args[0][0] == '\0')
		return field_error(err, "%s.args: must be a non-empty array of strings", where);
	if (p->cwd[0] != '/')
		return field_error(err, "%s.cwd: `%s` must be an absolute path", where, p->cwd);
	if (check_env(p->env, where, err) < 0 || parse_user(obj, where, p, err) < 0 ||
	    parse_console_size(obj, where, p, err) < 0 || parse_rlimits(obj, where, p, err) < 0 ||
	    parse_capabilities(obj, where, p, err) < 0)
		return -1;
	v = json_object_get(obj, "oomScoreAdj");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < -1000 ||
		    json_integer_value(v) > 1000)
			return field_error(
			    err, "%s.oomScoreAdj: must be an integer in [-1000, 1000]", where);
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)json_integer_value(v);
	}
	return 0;
}

void husk_process_clear(struct husk_process *p)
{
	free(p->additional_gids);
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	strv_free(p->warnings);
	memset(p, 0, sizeof(*p));
}

static int parse_root(struct husk_spec *s, husk_error **err)
{
	json_t *root = json_object_get(s->json, "root");
	cleanup_free char *path = NULL;
	struct stat st;

	if (root == NULL || !json_is_object(root))
		return field_error(err, "root: is required and must be an object");
	if (get_string(root, "path", "root.", true, &path, err) < 0 ||
	    get_bool(root, "readonly", "root.", &s->root_readonly, err) < 0)
		return -1;
	if (path[0] == '/')
		s->root_path = realpath(path, NULL);
	else {
		cleanup_free char *joined = NULL;
		if (asprintf(&joined, "%s/%s", s->bundle, path) < 0)
			return husk_error_set(err, ENOMEM, "root.path");
		s->root_path = realpath(joined, NULL);
	}
	if (s->root_path == NULL)
		return husk_error_set(err, errno, "root.path: `%s`", path);
	if (stat(s->root_path, &st) < 0 || !S_ISDIR(st.st_mode))
		return field_error(err, "root.path: `%s` is not a directory", path);
	return 0;
}

static int parse_mount(json_t *e, size_t i, struct husk_mount *m, husk_error **err)
{
	char f[80];

	snprintf(f, sizeof(f), "mounts[%zu].", i);
	if (!json_is_object(e))
		return field_error(err, "mounts[%zu]: must be an object", i);
	if (get_string(e, "destination", f, true, &m->destination, err) < 0 ||
	    get_string(e, "source", f, false, &m->source, err) < 0 ||
	    get_string(e, "type", f, false, &m->type, err) < 0 ||
	    get_strv(e, "options", f, &m->options, err) < 0)
		return -1;
	if (m->destination[0] != '/')
		return field_error(err, "mounts[%zu].destination: `%s` must be an absolute path", i,
				   m->destination);
	if (husk_mount_parse_options(m, m->options, err) < 0)
		return husk_error_wrap(err, "mounts[%zu].options", i);
	if (!m->bind && m->type == NULL)
		return field_error(err, "mounts[%zu].type: is required unless options has bind", i);
	if (m->bind && m->source == NULL)
		return field_error(err, "mounts[%zu].source: is required for a bind mount", i);
	return 0;
}

static int parse_mounts(struct husk_spec *s, husk_error **err)
{
	json_t *v = json_object_get(s->json, "mounts"), *e;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "mounts: must be an array");
	s->mounts = calloc(json_array_size(v) + 1, sizeof(*s->mounts));
	if (s->mounts == NULL)
		return husk_error_set(err, ENOMEM, "mounts");
	json_array_foreach (v, i, e) {
		s->n_mounts++;
		if (parse_mount(e, i, &s->mounts[i], err) < 0)
			return -1;
	}
	return 0;
}

static const char *const hook_keys[HUSK_HOOK_KIND_COUNT] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

static int parse_hook_list(json_t *v, enum husk_hook_kind k, struct husk_spec *s, husk_error **err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v))
		return field_error(err, "hooks.%s: must be an array", hook_keys[k]);
	s->hooks[k] = calloc(json_array_size(v) + 1, sizeof(struct husk_hook));
	if (s->hooks[k] == NULL)
		return husk_error_set(err, ENOMEM, "hooks");
	json_array_foreach (v, i, e) {
		struct husk_hook *h = &s->hooks[k][i];
		json_t *t;
		char f[80];

		snprintf(f, sizeof(f), "hooks.%s[%zu].", hook_keys[k], i);
		s->n_hooks[k]++;
		if (!json_is_object(e))
			return field_error(err, "hooks.%s[%zu]: must be an object", hook_keys[k],
					   i);
		if (get_string(e, "path", f, true, &h->path, err) < 0 ||
		    get_strv(e, "args", f, &h->args, err) < 0 ||
		    get_strv(e, "env", f, &h->env, err) < 0)
			return -1;
		if (h->path[0] != '/')
			return field_error(err, "%spath: `%s` must be an absolute path", f,
					   h->path);
		t = json_object_get(e, "timeout");
		if (t != NULL && !json_is_null(t)) {
			if (!json_is_integer(t) || json_integer_value(t) <= 0 ||
			    json_integer_value(t) > INT_MAX)
				return field_error(err, "%stimeout: must be a positive integer", f);
			h->timeout = (int)json_integer_value(t);
		}
	}
	return 0;
}

int husk_spec_parse_hooks(struct husk_spec *s, json_t *hooks, husk_error **err)
{
	if (hooks == NULL || json_is_null(hooks))
		return 0;
	if (check_object(hooks, "hooks", err) < 0)
		return -1;
	for (int k = 0; k < HUSK_HOOK_KIND_COUNT; k++) {
		json_t *v = json_object_get(hooks, hook_keys[k]);
		if (v != NULL && !json_is_null(v) && parse_hook_list(v, k, s, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_kv(json_t *obj, const char *where, struct husk_kv **ret, size_t *ret_n,
		    husk_error **err)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return field_error(err, "%s: must be an object", where);
	*ret = calloc(json_object_size(obj) + 1, sizeof(struct husk_kv));
	if (*ret == NULL)
		return husk_error_set(err, ENOMEM, "%s", where);
	json_object_foreach (obj, key, v) {
		if (!json_is_string(v))
			return field_error(err, "%s.%s: must be a string", where, key);
		(*ret)[n].key = strdup(key);
		(*ret)[n].value = strdup(json_string_value(v));
		*ret_n = ++n;
		if ((*ret)[n - 1].key == NULL || (*ret)[n - 1].value == NULL)
			return husk_error_set(err, ENOMEM, "%s", where);
	}
	return 0;
}

static int parse_namespaces(json_t *lx, struct husk_spec *s, husk_error **err)
{
	json_t *v = json_object_get(lx, "namespaces"), *e;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "linux.namespaces: must be an array");
	json_array_foreach (v, i, e) {
		json_t *t = json_object_get(e, "type");
		char f[80];
		int type;

		if (!json_is_string(t))
			return field_error(err, "linux.namespaces[%zu].type: is required", i);
		type = husk_ns_from_name(json_string_value(t));
		if (type < 0)
			return field_error(err,
					   "linux.namespaces[%zu].type: unknown namespace `%s`", i,
					   json_string_value(t));
		if (s->ns[type].enabled)
			return field_error(err, "linux.namespaces[%zu].type: duplicate `%s`", i,
					   json_string_value(t));
		s->ns[type].enabled = true;
		snprintf(f, sizeof(f), "linux.namespaces[%zu].", i);
		if (get_string(e, "path", f, false, &s->ns[type].path, err) < 0)
			return -1;
		if (s->ns[type].path && s->ns[type].path[0] == '\0') {
			free(s->ns[type].path);
			s->ns[type].path = NULL;
		}
		if (s->ns[type].path && s->ns[type].path[0] != '/')
			return field_error(err, "%spath: `%s` must be an absolute path", f,
					   s->ns[type].path);
	}
	return 0;
}

static int parse_idmaps(json_t *lx, const char *key, struct husk_idmap **ret, size_t *ret_n,
			husk_error **err)
{
	json_t *v = json_object_get(lx, key), *e;
	char where[40];
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	snprintf(where, sizeof(where), "linux.%s", key);
	if (!json_is_array(v))
		return field_error(err, "%s: must be an array", where);
	*ret = calloc(json_array_size(v) + 1, sizeof(struct husk_idmap));
	if (*ret == NULL)
		return husk_error_set(err, ENOMEM, "%s", where);
	json_array_foreach (v, i, e) {
		char f[80];
		uint64_t c = 0, h = 0, sz = 0;

		snprintf(f, sizeof(f), "%s[%zu].", where, i);
		if (!json_is_object(e) ||
		    get_uint(json_object_get(e, "containerID"), f, "containerID", UINT32_MAX, &c,
			     err) < 0 ||
		    get_uint(json_object_get(e, "hostID"), f, "hostID", UINT32_MAX, &h, err) < 0 ||
		    get_uint(json_object_get(e, "size"), f, "size", UINT32_MAX, &sz, err) < 0)
			return field_error(err, "%s[%zu]: needs containerID, hostID and size",
					   where, i);
		(*ret)[i] = (struct husk_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)sz};
		*ret_n = i + 1;
	}
	return husk_idmap_validate(*ret, *ret_n, where, err);
}

static int parse_device(json_t *e, size_t i, struct husk_device *d, husk_error **err)
{
	cleanup_free char *type = NULL;
	char f[80];
	json_t *v;
	uint64_t n = 0;

	snprintf(f, sizeof(f), "linux.devices[%zu].", i);
	if (!json_is_object(e))
		return field_error(err, "linux.devices[%zu]: must be an object", i);
	if (get_string(e, "path", f, true, &d->path, err) < 0 ||
	    get_string(e, "type", f, true, &type, err) < 0)
		return -1;
	if (d->path[0] != '/')
		return field_error(err, "%spath: `%s` must be an absolute path", f, d->path);
	if (strlen(type) != 1 || strchr("cubp", type[0]) == NULL)
		return field_error(err, "%stype: `%s` must be one of c, u, b, p", f, type);
	d->type = type[0];
	if (d->type != 'p') {
		v = json_object_get(e, "major");
		if (v == NULL || get_uint(v, f, "major", UINT32_MAX, &n, err) < 0)
			return field_error(err, "%smajor: is required for type %c", f, d->type);
		d->major = (int64_t)n;
		v = json_object_get(e, "minor");
		if (v == NULL || get_uint(v, f, "minor", UINT32_MAX, &n, err) < 0)
			return field_error(err, "%sminor: is required for type %c", f, d->type);
		d->minor = (int64_t)n;
	}
	if ((v = json_object_get(e, "fileMode")) != NULL && !json_is_null(v)) {
		if (get_uint(v, f, "fileMode", 07777, &n, err) < 0)
			return -1;
		d->has_mode = true;
		d->mode = (mode_t)n;
	}
	if ((v = json_object_get(e, "uid")) != NULL && !json_is_null(v)) {
		if (get_uint(v, f, "uid", UINT32_MAX - 1, &n, err) < 0)
			return -1;
		d->has_uid = true;
		d->uid = (uid_t)n;
	}
	if ((v = json_object_get(e, "gid")) != NULL && !json_is_null(v)) {
		if (get_uint(v, f, "gid", UINT32_MAX - 1, &n, err) < 0)
			return -1;
		d->has_gid = true;
		d->gid = (gid_t)n;
	}
	return 0;
}

static int parse_devices(json_t *lx, struct husk_spec *s, husk_error **err)
{
	json_t *v = json_object_get(lx, "devices"), *e;
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return field_error(err, "linux.devices: must be an array");
	s->devices = calloc(json_array_size(v) + 1, sizeof(*s->devices));
	if (s->devices == NULL)
		return husk_error_set(err, ENOMEM, "linux.devices");
	json_array_foreach (v, i, e) {
		s->n_devices++;
		if (parse_device(e, i, &s->devices[i], err) < 0)
			return -1;
	}
	return 0;
}

static int parse_propagation(json_t *lx, struct husk_spec *s, husk_error **err)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} table[] = {
	    {"shared", MS_SHARED},
	    {"slave", MS_SLAVE},
	    {"private", MS_PRIVATE},
	    {"unbindable", MS_UNBINDABLE},
	    {"rshared", MS_SHARED | MS_REC},
	    {"rslave", MS_SLAVE | MS_REC},
	    {"rprivate", MS_PRIVATE | MS_REC},
	    {"runbindable", MS_UNBINDABLE | MS_REC},
	};
	cleanup_free char *p = NULL;

	if (get_string(lx, "rootfsPropagation", "linux.", false, &p, err) < 0)
		return -1;
	if (p == NULL || *p == '\0')
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (strcmp(table[i].name, p) == 0) {
			s->rootfs_propagation = table[i].flags;
			return 0;
		}
	return field_error(err, "linux.rootfsPropagation: unknown value `%s`", p);
}

static int parse_time_offsets(json_t *lx, struct husk_spec *s, husk_error **err)
{
	static const char *const clocks[2] = {"monotonic", "boottime"};
	json_t *v = json_object_get(lx, "timeOffsets");

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return field_error(err, "linux.timeOffsets: must be an object");
	for (int c = 0; c < 2; c++) {
		json_t *o = json_object_get(v, clocks[c]), *secs, *ns;
		if (o == NULL)
			continue;
		secs = json_object_get(o, "secs");
		ns = json_object_get(o, "nanosecs");
		if (!json_is_object(o) || (secs && !json_is_integer(secs)) ||
		    (ns && (!json_is_integer(ns) || json_integer_value(ns) < 0 ||
			    json_integer_value(ns) >= 1000000000)))
			return field_error(err,
					   "linux.timeOffsets.%s: needs integer secs and "
					   "nanosecs in [0, 1e9)",
					   clocks[c]);
		s->time_offsets[c][0] = secs ? json_integer_value(secs) : 0;
		s->time_offsets[c][1] = ns ? json_integer_value(ns) : 0;
		s->has_time_offsets = true;
	}
	return 0;
}

static int parse_personality(json_t *lx, struct husk_spec *s, husk_error **err)
{
	json_t *v = json_object_get(lx, "personality");
	const char *domain;

	if (v == NULL || json_is_null(v))
		return 0;
	domain = json_string_value(json_object_get(v, "domain"));
	if (!json_is_object(v) || domain == NULL)
		return field_error(err, "linux.personality.domain: is required");
	if (strcmp(domain, "LINUX") == 0)
		s->personality = 0x0000; /* PER_LINUX */
	else if (strcmp(domain, "LINUX32") == 0)
		s->personality = 0x0008; /* PER_LINUX32 */
	else
		return field_error(err, "linux.personality.domain: unknown domain `%s`", domain);
	s->has_personality = true;
	return 0;
}

static int parse_linux(struct husk_spec *s, husk_error **err)
{
	json_t *lx = json_object_get(s->json, "linux"), *v;

	if (lx == NULL || json_is_null(lx))
		return 0;
	if (check_object(lx, "linux", err) < 0)
		return -1;
	if (parse_namespaces(lx, s, err) < 0 ||
	    parse_idmaps(lx, "uidMappings", &s->uid_mappings, &s->n_uid_mappings, err) < 0 ||
	    parse_idmaps(lx, "gidMappings", &s->gid_mappings, &s->n_gid_mappings, err) < 0 ||
	    parse_devices(lx, s, err) < 0 ||
	    get_string(lx, "cgroupsPath", "linux.", false, &s->cgroups_path, err) < 0 ||
	    parse_kv(json_object_get(lx, "sysctl"), "linux.sysctl", &s->sysctl, &s->n_sysctl, err) <
		0 ||
	    get_strv(lx, "maskedPaths", "linux.", &s->masked_paths, err) < 0 ||
	    get_strv(lx, "readonlyPaths", "linux.", &s->readonly_paths, err) < 0 ||
	    parse_propagation(lx, s, err) < 0 ||
	    get_string(lx, "mountLabel", "linux.", false, &s->mount_label, err) < 0 ||
	    parse_time_offsets(lx, s, err) < 0 || parse_personality(lx, s, err) < 0)
		return -1;
	v = json_object_get(lx, "resources");
	if (check_object(v, "linux.resources", err) < 0)
		return -1;
	s->resources = json_is_object(v) ? v : NULL;
	v = json_object_get(lx, "seccomp");
	if (check_object(v, "linux.seccomp", err) < 0)
		return -1;
	s->seccomp = json_is_object(v) ? v : NULL;
	return 0;
}

/* Cross-field rules of config-linux.md. */
static int validate_spec(struct husk_spec *s, husk_error **err)
{
	bool userns = s->ns[HUSK_NS_USER].enabled;

	if ((s->n_uid_mappings || s->n_gid_mappings) && !userns)
		return field_error(err, "linux.%s: given without a user namespace",
				   s->n_uid_mappings ? "uidMappings" : "gidMappings");
	if (userns && s->ns[HUSK_NS_USER].path == NULL &&
	    (s->n_uid_mappings == 0 || s->n_gid_mappings == 0))
		return field_error(err, "linux.uidMappings: a new user namespace needs uidMappings "
					"and gidMappings");
	if (s->has_hostname && !s->ns[HUSK_NS_UTS].enabled)
		return field_error(err, "hostname: cannot be set without a new uts namespace");
	if (s->has_domainname && !s->ns[HUSK_NS_UTS].enabled)
		return field_error(err, "domainname: cannot be set without a new uts namespace");
	if (s->has_time_offsets &&
	    (!s->ns[HUSK_NS_TIME].enabled || s->ns[HUSK_NS_TIME].path != NULL))
		return field_error(err, "linux.timeOffsets: needs a new time namespace");
	if (s->cgroups_path &&
	    (strcmp(s->cgroups_path, "..") == 0 || strncmp(s->cgroups_path, "../", 3) == 0 ||
	     strstr(s->cgroups_path, "/../") ||
	     (strlen(s->cgroups_path) >= 3 &&
	      strcmp(s->cgroups_path + strlen(s->cgroups_path) - 3, "/..") == 0)))
		return field_error(err, "linux.cgroupsPath: `%s` must not contain `..`",
				   s->cgroups_path);
	return husk_sysctl_validate(s, err);
}

static int parse_document(struct husk_spec *s, husk_error **err)
{
	json_t *proc;

	if (!json_is_object(s->json))
		return field_error(err, "the document must be a JSON object");
	if (get_string(s->json, "ociVersion", "", true, &s->oci_version, err) < 0 ||
	    parse_root(s, err) < 0)
		return -1;
	if (get_string(s->json, "hostname", "", false, &s->hostname, err) < 0 ||
	    get_string(s->json, "domainname", "", false, &s->domainname, err) < 0)
		return -1;
	s->has_hostname = s->hostname != NULL;
	s->has_domainname = s->domainname != NULL;
	proc = json_object_get(s->json, "process");
	if (proc != NULL && !json_is_null(proc)) {
		if (husk_process_parse(proc, "process", &s->process, err) < 0)
			return -1;
		s->has_process = true;
	}
	if (parse_mounts(s, err) < 0 ||
	    husk_spec_parse_hooks(s, json_object_get(s->json, "hooks"), err) < 0 ||
	    parse_kv(json_object_get(s->json, "annotations"), "annotations", &s->annotations,
		     &s->n_annotations, err) < 0 ||
	    parse_linux(s, err) < 0)
		return -1;
	return validate_spec(s, err);
}

/*
 * Go writes RLIM_INFINITY as 18446744073709551615, which jansson refuses
 * (it holds integers as int64). Outside strings, that exact number becomes
 * INT64_MIN, which has the same length and no other valid use here.
 */
static char *infinity_to_sentinel(const char *text, size_t len)
{
	static const char inf[] = "18446744073709551615";
	const size_t n = sizeof(inf) - 1;
	char *copy = NULL;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
			continue;
		}
		if (c != '1' || len - i < n || memcmp(text + i, inf, n) != 0 ||
		    (i > 0 && strchr("-0123456789.", text[i - 1])) ||
		    (i + n < len && strchr("0123456789.eE", text[i + n])))
			continue;
		if (copy == NULL && (copy = malloc(len + 1)) != NULL) {
			memcpy(copy, text, len);
			copy[len] = '\0';
		}
		if (copy == NULL)
			return NULL;
		memcpy(copy + i, "-9223372036854775808", n);
		i += n - 1;
	}
	return copy;
}

int husk_spec_parse(const char *text, size_t len, const char *bundle, struct husk_spec **ret,
		    husk_error **err)
{
	cleanup_free char *fixed = infinity_to_sentinel(text, len);

	cleanup_spec struct husk_spec *s = calloc(1, sizeof(*s));
	json_error_t jerr;

	if (s == NULL)
		return husk_error_set(err, ENOMEM, "config");
	s->bundle = strdup(bundle ? bundle : ".");
	if (s->bundle == NULL)
		return husk_error_set(err, ENOMEM, "config");
	s->json = json_loadb(fixed ? fixed : text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (s->json == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "invalid JSON at line %d column %d: %s", jerr.line,
				       jerr.column, jerr.text);
	if (parse_document(s, err) < 0)
		return -1;
	*ret = steal_pointer(&s);
	return 0;
}

int husk_spec_from_json(json_t *config, const char *bundle, struct husk_spec **ret,
			husk_error **err)
{
	cleanup_spec struct husk_spec *s = calloc(1, sizeof(*s));
	const char *root =
	    json_string_value(json_object_get(json_object_get(config, "root"), "path"));

	if (s == NULL)
		return husk_error_set(err, ENOMEM, "config");
	if (!json_is_object(config))
		return husk_error_fail(err, HUSK_ERR_INVALID, "config: must be an object");
	if (root != NULL && root[0] != '/')
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "root.path: `%s` must be absolute without a bundle", root);
	/* A copy: the caller may go on changing its own. */
	s->json = json_deep_copy(config);
	s->bundle = strdup(bundle ? bundle : "/");
	if (s->json == NULL || s->bundle == NULL)
		return husk_error_set(err, ENOMEM, "config");
	if (parse_document(s, err) < 0)
		return -1;
	*ret = steal_pointer(&s);
	return 0;
}

int husk_spec_load(const char *bundle, const char *config_path, struct husk_spec **ret,
		   husk_error **err)
{
	cleanup_free char *abs_bundle = realpath(bundle, NULL);
	cleanup_free char *text = NULL;
	cleanup_free char *path = NULL;
	size_t len;

	if (abs_bundle == NULL)
		return husk_error_set(err, errno, "bundle `%s`", bundle);
	if (config_path == NULL && asprintf(&path, "%s/config.json", abs_bundle) < 0)
		return husk_error_set(err, ENOMEM, "config.json");
	if (read_file_at(AT_FDCWD, config_path ? config_path : path, &text, &len, err) < 0)
		return -1;
	if (husk_spec_parse(text, len, abs_bundle, ret, err) < 0)
		return husk_error_wrap(err, "%s", config_path ? config_path : "config.json");
	return 0;
}

static void free_mount(struct husk_mount *m)
{
	free(m->destination);
	free(m->source);
	free(m->type);
	strv_free(m->options);
	free(m->data);
}

static void free_kv(struct husk_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void husk_spec_free(struct husk_spec *s)
{
	if (s == NULL)
		return;
	free(s->bundle);
	free(s->oci_version);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	husk_process_clear(&s->process);
	for (size_t i = 0; i < s->n_mounts; i++)
		free_mount(&s->mounts[i]);
	free(s->mounts);
	for (int k = 0; k < HUSK_HOOK_KIND_COUNT; k++) {
		for (size_t i = 0; i < s->n_hooks[k]; i++) {
			free(s->hooks[k][i].path);
			strv_free(s->hooks[k][i].args);
			strv_free(s->hooks[k][i].env);
		}
		free(s->hooks[k]);
	}
	free_kv(s->annotations, s->n_annotations);
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		free(s->ns[i].path);
	free(s->uid_mappings);
	free(s->gid_mappings);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	free(s->cgroups_path);
	free_kv(s->sysctl, s->n_sysctl);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	free(s->mount_label);
	json_decref(s->json);
	free(s);
}
