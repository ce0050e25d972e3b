/* SPDX-License-Identifier: MIT */
/* `commit -c INSTRUCTION`: a few Dockerfile instructions on a config. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "commit_changes.h"
#include "signals.h"
#include "util.h"

struct change_state {
	bool cmd_set; /* a CMD among the changes: ENTRYPOINT keeps it */
};

/* ["a", "b"] (every element a string), or NULL. */
static json_t *json_form(const char *args)
{
	json_t *a = json_loads(args, JSON_DECODE_ANY, NULL), *v;
	size_t i;

	if (!json_is_array(a))
		goto no;
	json_array_foreach (a, i, v)
		if (!json_is_string(v))
			goto no;
	return a;
no:
	json_decref(a);
	return NULL;
}

/* CMD and ENTRYPOINT: the JSON form, or the shell form run by /bin/sh -c. */
static json_t *command_form(const char *args, husk_error **err)
{
	json_t *a;

	if (args[0] == '[') {
		a = json_form(args);
		if (a == NULL)
			husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: not a JSON array of strings",
					args);
		return a;
	}
	a = json_pack("[s, s, s]", "/bin/sh", "-c", args);
	if (a == NULL)
		husk_error_set(err, ENOMEM, "commit");
	return a;
}

static int set_command(json_t *config, const char *key, const char *args, husk_error **err)
{
	json_t *a = command_form(args, err);

	if (a == NULL)
		return -1;
	json_object_set_new(config, key, a);
	return 0;
}

/* "NAME=value" set in an Env array, replacing that NAME's entry. */
static int env_put(json_t *config, const char *name, size_t name_len, const char *value)
{
	json_t *env = json_object_get(config, "Env"), *v;
	cleanup_free char *entry = NULL;
	size_t i;

	if (!json_is_array(env)) {
		env = json_array();
		if (env == NULL || json_object_set_new(config, "Env", env) < 0)
			return -1;
	}
	if (asprintf(&entry, "%.*s=%s", (int)name_len, name, value) < 0)
		return -1;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, name, name_len) == 0 && s[name_len] == '=')
			return json_array_set_new(env, i, json_string(entry));
	}
	return json_array_append_new(env, json_string(entry));
}

/* ENV A=1 B=2 (no quoting), or the old form ENV NAME some value. */
static int set_env(json_t *config, const char *args, husk_error **err)
{
	cleanup_free char *copy = strdup(args);
	char *save = NULL, *space = strpbrk(args, " \t");

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "commit");
	if (strchr(args, '=') == NULL ||
	    (space && memchr(args, '=', (size_t)(space - args)) == NULL)) {
		size_t len = space ? (size_t)(space - args) : strlen(args);
		if (space == NULL)
			return husk_error_fail(err, HUSK_ERR_INVALID, "ENV `%s`: no value", args);
		return env_put(config, args, len, space + strspn(space, " \t")) < 0
			   ? husk_error_set(err, ENOMEM, "commit")
			   : 0;
	}
	for (char *kv = strtok_r(copy, " \t", &save); kv; kv = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(kv, '=');
		if (eq == NULL || eq == kv)
			return husk_error_fail(err, HUSK_ERR_INVALID, "ENV `%s`: not NAME=value",
					       kv);
		if (env_put(config, kv, (size_t)(eq - kv), eq + 1) < 0)
			return husk_error_set(err, ENOMEM, "commit");
	}
	return 0;
}

/* The words of args (or its JSON form) as keys of config[key], each {}. */
static int add_keys(json_t *config, const char *key, const char *args, bool port, husk_error **err)
{
	json_t *set = json_object_get(config, key);
	cleanup_json json_t *words = args[0] == '[' ? json_form(args) : json_array();
	cleanup_free char *copy = strdup(args);
	char *save = NULL;
	json_t *v;
	size_t i;

	if (words == NULL || copy == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: not a list", args);
	if (args[0] != '[')
		for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
			json_array_append_new(words, json_string(w));
	if (!json_is_object(set) && json_object_set_new(config, key, set = json_object()) < 0)
		return husk_error_set(err, ENOMEM, "commit");
	json_array_foreach (words, i, v) {
		const char *w = json_string_value(v);
		cleanup_free char *name = NULL;
		if (port && strspn(w, "0123456789") == 0)
			return husk_error_fail(err, HUSK_ERR_INVALID, "EXPOSE `%s`: not a port", w);
		if (asprintf(&name, "%s%s", w, port && strchr(w, '/') == NULL ? "/tcp" : "") < 0 ||
		    json_object_set_new(set, name, json_object()) < 0)
			return husk_error_set(err, ENOMEM, "commit");
	}
	return 0;
}

static int set_label(json_t *config, const char *args, husk_error **err)
{
	cleanup_free char *copy = strdup(args);
	json_t *labels = json_object_get(config, "Labels");
	char *save = NULL;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "commit");
	if (!json_is_object(labels) &&
	    json_object_set_new(config, "Labels", labels = json_object()) < 0)
		return husk_error_set(err, ENOMEM, "commit");
	for (char *kv = strtok_r(copy, " \t", &save); kv; kv = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(kv, '=');
		if (eq == NULL || eq == kv)
			return husk_error_fail(err, HUSK_ERR_INVALID, "LABEL `%s`: not key=value",
					       kv);
		*eq = '\0';
		json_object_set_new(labels, kv, json_string(eq + 1));
	}
	return 0;
}

static int set_workdir(json_t *config, const char *args, husk_error **err)
{
	const char *now = json_string_value(json_object_get(config, "WorkingDir"));
	cleanup_free char *path = NULL;

	if (args[0] == '/')
		path = strdup(args);
	else if (asprintf(&path, "%s/%s", now && *now ? now : "", args) < 0)
		path = NULL;
	if (path == NULL)
		return husk_error_set(err, ENOMEM, "commit");
	json_object_set_new(config, "WorkingDir", json_string(path));
	return 0;
}

static int set_stop_signal(json_t *config, const char *args, husk_error **err)
{
	int sig;

	if (husk_signal_parse(args, &sig) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "STOPSIGNAL `%s`: not a signal",
				       args);
	json_object_set_new(config, "StopSignal", json_string(args));
	return 0;
}

static int apply_one(json_t *config, const char *word, const char *args, struct change_state *st,
		     husk_error **err)
{
	if (strcasecmp(word, "CMD") == 0) {
		st->cmd_set = true;
		return set_command(config, "Cmd", args, err);
	}
	if (strcasecmp(word, "ENTRYPOINT") == 0) {
		if (!st->cmd_set)
			json_object_del(config, "Cmd");
		return set_command(config, "Entrypoint", args, err);
	}
	if (strcasecmp(word, "ENV") == 0)
		return set_env(config, args, err);
	if (strcasecmp(word, "EXPOSE") == 0)
		return add_keys(config, "ExposedPorts", args, true, err);
	if (strcasecmp(word, "VOLUME") == 0)
		return add_keys(config, "Volumes", args, false, err);
	if (strcasecmp(word, "LABEL") == 0)
		return set_label(config, args, err);
	if (strcasecmp(word, "USER") == 0)
		return json_object_set_new(config, "User", json_string(args)) < 0
			   ? husk_error_set(err, ENOMEM, "commit")
			   : 0;
	if (strcasecmp(word, "WORKDIR") == 0)
		return set_workdir(config, args, err);
	if (strcasecmp(word, "STOPSIGNAL") == 0)
		return set_stop_signal(config, args, err);
	return husk_error_fail(err, HUSK_ERR_INVALID,
			       "unknown instruction `%s` (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, "
			       "STOPSIGNAL, USER, VOLUME, WORKDIR)",
			       word);
}

/* "CMD ls -l" → "CMD", "ls -l"; the word is copied into word. */
static int split_instruction(const char *change, char *word, size_t len, const char **ret_args,
			     husk_error **err)
{
	size_t n;

	change += strspn(change, " \t");
	n = strcspn(change, " \t");
	if (n == 0 || n >= len)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: not an instruction", change);
	memcpy(word, change, n);
	word[n] = '\0';
	change += n;
	change += strspn(change, " \t");
	if (*change == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: needs an argument", word);
	*ret_args = change;
	return 0;
}

int commit_apply_changes(json_t *config, char *const *changes, husk_error **err)
{
	cleanup_json json_t *work = json_deep_copy(config);
	struct change_state st = {false};

	if (work == NULL)
		return husk_error_set(err, ENOMEM, "commit");
	for (size_t i = 0; changes && changes[i]; i++) {
		const char *c = changes[i] + strspn(changes[i], " \t");
		if (strncasecmp(c, "CMD", 3) == 0 && (c[3] == ' ' || c[3] == '\t'))
			st.cmd_set = true;
	}
	for (size_t i = 0; changes && changes[i]; i++) {
		char word[32];
		const char *args = NULL;
		if (split_instruction(changes[i], word, sizeof(word), &args, err) < 0 ||
		    apply_one(work, word, args, &st, err) < 0)
			return husk_error_wrap(err, "--change");
	}
	json_object_clear(config);
	return json_object_update(config, work) < 0 ? husk_error_set(err, ENOMEM, "commit") : 0;
}
