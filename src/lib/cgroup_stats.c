/* SPDX-License-Identifier: MIT */
/* Usage statistics in runc's `events --stats` shape: reading cgroup files
 * into JSON, for the backends, which know which files they have. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "util.h"

/* ---- reading cgroup files ---- */

char *husk_cgstat_read(const char *dir, const char *file)
{
	cleanup_free char *path = NULL;
	char *text = NULL;

	if (dir == NULL || asprintf(&path, "%s/%s", dir, file) < 0)
		return NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

int husk_cgstat_parse(const char *s, int64_t *ret)
{
	char *end = NULL;
	unsigned long long v;

	if (strncmp(s, "max", 3) == 0) {
		*ret = INT64_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	*ret = v > INT64_MAX ? INT64_MAX : (int64_t)v;
	return 0;
}

int husk_cgstat_value(const char *dir, const char *file, int64_t *ret)
{
	cleanup_free char *text = husk_cgstat_read(dir, file);

	return text ? husk_cgstat_parse(text, ret) : -1;
}

json_t *husk_cgstat_keyed(const char *dir, const char *file)
{
	cleanup_free char *text = husk_cgstat_read(dir, file);
	char *save = NULL;
	json_t *o;

	if (text == NULL || (o = json_object()) == NULL)
		return NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		int64_t v;
		if (sp == NULL || husk_cgstat_parse(sp + 1, &v) < 0)
			continue;
		*sp = '\0';
		json_object_set_new(o, l, json_integer(v));
	}
	return o;
}

int64_t husk_cgstat_key(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

void husk_cgstat_set_opt(json_t *o, const char *key, int64_t v)
{
	if (v != 0)
		json_object_set_new(o, key, json_integer(v));
}

void husk_cgstat_set_int(json_t *o, const char *key, int64_t v)
{
	json_object_set_new(o, key, json_integer(v));
}

void husk_cgstat_set_list(json_t *o, const char *key, json_t *list)
{
	if (json_array_size(list) > 0)
		json_object_set(o, key, list);
	json_decref(list);
}

/* ---- what every hierarchy has alike ---- */

json_t *husk_cgstat_pids(const char *dir)
{
	json_t *p = json_object();
	int64_t v = 0;

	if (p && husk_cgstat_value(dir, "pids.current", &v) == 0)
		husk_cgstat_set_opt(p, "current", v);
	if (p && husk_cgstat_value(dir, "pids.max", &v) == 0)
		husk_cgstat_set_opt(p, "limit", v);
	return p;
}

json_t *husk_cgstat_blkio_entry(unsigned major, unsigned minor, const char *op, int64_t value)
{
	json_t *e = json_object();

	if (e) {
		husk_cgstat_set_opt(e, "major", major);
		husk_cgstat_set_opt(e, "minor", minor);
		json_object_set_new(e, "op", json_string(op));
		husk_cgstat_set_opt(e, "value", value);
	}
	return e;
}

/* "hugepages-2048kB" → "2MB", as the kernel names the hugetlb files. */
static bool hugepage_name(const char *dirent, char *buf, size_t size)
{
	unsigned long kb;

	if (sscanf(dirent, "hugepages-%lukB", &kb) != 1 || kb == 0)
		return false;
	if (kb % (1024 * 1024) == 0)
		snprintf(buf, size, "%luGB", kb / (1024 * 1024));
	else if (kb % 1024 == 0)
		snprintf(buf, size, "%luMB", kb / 1024);
	else
		snprintf(buf, size, "%luKB", kb);
	return true;
}

json_t *husk_cgstat_hugetlb(const char *dir, json_t *(*entry)(const char *dir, const char *size))
{
	DIR *d = dir ? opendir("/sys/kernel/mm/hugepages") : NULL;
	json_t *h = json_object();
	struct dirent *de;

	while (d && h && (de = readdir(d)) != NULL) {
		char size[32];
		json_t *e;
		if (hugepage_name(de->d_name, size, sizeof(size)) && (e = entry(dir, size)) != NULL)
			json_object_set_new(h, size, e);
	}
	if (d)
		closedir(d);
	return h;
}

int husk_cgstat_assemble(json_t *cpu, json_t *memory, json_t *pids, json_t *blkio, json_t *hugetlb,
			 json_t **ret, husk_error **err)
{
	json_t *s = json_pack("{s:o*, s:o*, s:o*, s:o*, s:o*}", "cpu", cpu, "memory", memory,
			      "pids", pids, "blkio", blkio, "hugetlb", hugetlb);

	if (s == NULL)
		return husk_error_set(err, ENOMEM, "cgroup stats");
	*ret = s;
	return 0;
}

int husk_cgstat_oom_kills(const char *dir, const char *file, uint64_t *ret)
{
	cleanup_json json_t *o = NULL;
	json_t *v;

	if (dir == NULL)
		return -ENOENT;
	o = husk_cgstat_keyed(dir, file);
	if (o == NULL)
		return -ENOENT;
	v = json_object_get(o, "oom_kill");
	if (v)
		*ret = (uint64_t)json_integer_value(v);
	return v ? 0 : -ENOENT;
}
