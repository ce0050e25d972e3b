/* SPDX-License-Identifier: MIT */
/*
 * husk system check: the image store (every blob's digest, every image's
 * references) and the containers (each record readable, its image held, its
 * name its own; no name, hold, overlay or core state left of a container
 * that is gone or not running; nothing a killed husk left half-made). One
 * line per problem and exit 1; nothing and exit 0 when all is well. It is a
 * snapshot: what other husk commands change meanwhile may show as a problem.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "remains.h"
#include "system.h"
#include "util.h"

struct check {
	struct engine *e;
	char **problems;
	char **mounts;	     /* mount points under containers/ */
	char **live_transit; /* ids of .creating-/.removing- dirs under way */
};

__attribute__((format(printf, 2, 3))) static void problem(struct check *k, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) >= 0)
		strv_append(&k->problems, line);
	va_end(ap);
}

/* mountinfo's octal escapes (\040 for a space) undone, in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* The mount points under dir/. */
static int mounts_under(const char *dir, char ***ret, husk_error **err)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	cleanup_strv char **found = calloc(1, sizeof(char *));
	cleanup_free char *line = NULL;
	size_t cap = 0, len = strlen(dir);

	if (f == NULL || found == NULL) {
		if (f)
			fclose(f);
		return husk_error_set(err, f ? ENOMEM : errno, "/proc/self/mountinfo");
	}
	while (getline(&line, &cap, f) > 0) {
		char *point = NULL;
		if (sscanf(line, "%*s %*s %*s %*s %ms", &point) != 1)
			continue;
		unescape(point);
		if (strncmp(point, dir, len) == 0 && point[len] == '/')
			strv_append(&found, point);
		else
			free(point);
	}
	fclose(f);
	*ret = steal_pointer(&found);
	return 0;
}

static bool core_has(const struct engine *e, const char *id)
{
	cleanup_free char *path = NULL;

	return asprintf(&path, "%s/%s", e->paths.runtime_root, id) >= 0 && access(path, F_OK) == 0;
}

/* names/<name> or holds/<id>: what it holds, or NULL. */
static char *file_text(const char *dir, const char *name)
{
	cleanup_free char *path = NULL;
	char *data = NULL;

	if (asprintf(&path, "%s/%s", dir, name) < 0 ||
	    read_file_at(AT_FDCWD, path, &data, NULL, NULL) < 0)
		return NULL;
	return data;
}

static void check_links(struct check *k, const struct ctr *c, const char *who)
{
	cleanup_free char *holds = NULL, *held = NULL, *named = NULL;

	if (c->name) {
		named = file_text(k->e->paths.names, c->name);
		if (named == NULL || strcmp(named, c->id) != 0)
			problem(k, "container %s: names/%s does not name it", who, c->name);
	}
	if (asprintf(&holds, "%s/holds", k->e->paths.storage_root) >= 0)
		held = file_text(holds, c->id);
	if (held == NULL || c->image_digest == NULL || strcmp(held, c->image_digest) != 0)
		problem(k, "container %s: its image %s is not held", who,
			c->image_digest ? c->image_digest : "(none recorded)");
}

static void check_container(struct check *k, const struct ctr *c)
{
	cleanup_free char *rootfs = NULL;
	char who[128];
	bool monitor, busy = ctr_busy(c);

	snprintf(who, sizeof(who), "%.12s (%s)", c->id, c->name ? c->name : "no name");
	ctr_status_now(c, &monitor);
	if (ctr_needs_heal(c))
		problem(k,
			"container %s: its monitor (or the process starting it) was killed: "
			"its record is stale until a command on it (ps) heals it",
			who);
	else if (c->st.status == CTR_RUNNING && !monitor)
		problem(k,
			"container %s: it runs without its monitor (killed): its output is "
			"not logged and its exit will not be recorded",
			who);
	check_links(k, c, who);
	if (asprintf(&rootfs, "%s/rootfs", c->dir) >= 0 && strv_contains(k->mounts, rootfs) &&
	    !busy)
		problem(k, "container %s: its overlay is mounted but it is not running", who);
	if (core_has(k->e, c->id) && !busy)
		problem(k, "container %s: the core keeps its state but it is not running", who);
}

static void check_dir_entry(struct check *k, const char *name)
{
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	const char *what;
	char id[65];
	bool alive;

	if (ctr_transit_parse(name, &what, id, &alive)) {
		if (alive)
			strv_append(&k->live_transit, strdup(id));
		else
			problem(k, "containers/%s: the %s of a container was killed half-way", name,
				strcmp(what, "creating") == 0 ? "creation" : "removal");
		return;
	}
	if (!ctr_id_valid(name)) {
		problem(k, "containers/%s: not a container", name);
		return;
	}
	switch (ctr_remains_of(k->e, name, NULL)) {
	case REMAINS_RECORD:
		if (ctr_load(k->e, name, &c, &err) < 0) {
			/* removed meanwhile is no problem */
			if (ctr_remains_of(k->e, name, NULL) == REMAINS_RECORD)
				problem(k, "container %.12s: its record cannot be read: %s", name,
					err->msg);
			husk_error_free(&err);
			return;
		}
		check_container(k, c);
		return;
	case REMAINS_ABANDONED:
		problem(k,
			"container %.12s: its creation or removal was killed half-way (it has "
			"no record)",
			name);
		return;
	default:
		return; /* being made or removed */
	}
}

static bool no_container(struct check *k, const char *id)
{
	enum ctr_remains r = ctr_remains_of(k->e, id, NULL);

	return (r == REMAINS_NONE || r == REMAINS_ABANDONED) && !strv_contains(k->live_transit, id);
}

static void check_names(struct check *k)
{
	cleanup_dir DIR *d = opendir(k->e->paths.names);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		cleanup_free char *id = NULL;
		if (de->d_name[0] == '.')
			continue;
		id = file_text(k->e->paths.names, de->d_name);
		if (id == NULL || !ctr_id_valid(id))
			problem(k, "name %s: holds no container id", de->d_name);
		else if (no_container(k, id))
			problem(k, "name %s: names %.12s, which is no container", de->d_name, id);
		else if (name_stale(k->e, de->d_name, id))
			problem(k, "name %s: names %.12s, which has another name", de->d_name, id);
	}
}

static void check_ids_of(struct check *k, const char *dir, const char *what)
{
	cleanup_strv char **ids = NULL;

	if (ids_in_dir(dir, &ids, NULL) < 0)
		return;
	for (size_t i = 0; ids[i]; i++)
		if (no_container(k, ids[i]))
			problem(k, "%s %.12s: no such container", what, ids[i]);
}

/* Mounts of no container: left by a husk killed with its dir half removed. */
static void check_mounts(struct check *k)
{
	size_t len = strlen(k->e->paths.containers);

	for (size_t i = 0; k->mounts[i]; i++) {
		cleanup_free char *entry =
		    strndup(k->mounts[i] + len + 1, strcspn(k->mounts[i] + len + 1, "/"));
		const char *what;
		char id[65] = "";
		bool alive = false;
		if (entry == NULL || (ctr_transit_parse(entry, &what, id, &alive) && alive))
			continue;
		if (id[0] == '\0')
			snprintf(id, sizeof(id), "%s", entry);
		if (!ctr_id_valid(id) || no_container(k, id))
			problem(k, "overlay mounted at %s: no such container", k->mounts[i]);
	}
}

static void check_store(struct check *k)
{
	struct husk_store *s = NULL;
	cleanup_strv char **lines = NULL;
	husk_error *err = NULL;

	if (engine_store_open(k->e, &s, &err) < 0 || husk_store_check(s, &lines, &err) < 0) {
		problem(k, "the image store cannot be checked: %s", err->msg);
		husk_error_free(&err);
	}
	husk_store_close(s);
	for (size_t i = 0; lines && lines[i]; i++)
		problem(k, "image store: %s", lines[i]);
}

int system_check(struct engine *e, char ***ret_problems, husk_error **err)
{
	struct check k = {.e = e};
	cleanup_dir DIR *d = NULL;
	cleanup_free char *holds = NULL;
	struct dirent *de;

	if (mounts_under(e->paths.containers, &k.mounts, err) < 0)
		return -1;
	d = opendir(e->paths.containers);
	if (d == NULL) {
		strv_free(k.mounts);
		return husk_error_set(err, errno, "open `%s`", e->paths.containers);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			check_dir_entry(&k, de->d_name);
	check_names(&k);
	if (asprintf(&holds, "%s/holds", e->paths.storage_root) >= 0)
		check_ids_of(&k, holds, "image hold");
	check_ids_of(&k, e->paths.runtime_root, "core state");
	check_mounts(&k);
	check_store(&k);
	strv_free(k.mounts);
	strv_free(k.live_transit);
	*ret_problems = k.problems;
	return 0;
}
