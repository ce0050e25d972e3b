/* SPDX-License-Identifier: MIT */
/* Usage statistics of a container's cgroup, in runc's `events --stats` shape. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* ---- reading cgroup files ---- */

static char *read_in(const char *dir, const char *file)
{
	cleanup_free char *path = NULL;
	char *text = NULL;

	if (dir == NULL || asprintf(&path, "%s/%s", dir, file) < 0)
		return NULL;
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

/* A number, or "max" as INT64_MAX (JSON integers are int64 here). */
static int parse_value(const char *s, int64_t *ret)
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

/* A file holding one number: 0, or -1 when missing or not a number. */
static int read_value(const char *dir, const char *file, int64_t *ret)
{
	cleanup_free char *text = read_in(dir, file);

	return text ? parse_value(text, ret) : -1;
}

/* A flat-keyed file ("key value" lines: memory.stat, cpu.stat) as an object. */
static json_t *read_keyed(const char *dir, const char *file)
{
	cleanup_free char *text = read_in(dir, file);
	char *save = NULL;
	json_t *o;

	if (text == NULL || (o = json_object()) == NULL)
		return NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		int64_t v;
		if (sp == NULL || parse_value(sp + 1, &v) < 0)
			continue;
		*sp = '\0';
		json_object_set_new(o, l, json_integer(v));
	}
	return o;
}

static int64_t keyed(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Go's `omitempty`: zero values are left out. */
static void set_opt(json_t *o, const char *key, int64_t v)
{
	if (v != 0)
		json_object_set_new(o, key, json_integer(v));
}

static void set_int(json_t *o, const char *key, int64_t v)
{
	json_object_set_new(o, key, json_integer(v));
}

/* ---- cpu ---- */

static void cpu_v1(const struct husk_cgroup *cg, json_t *usage, json_t *throttling)
{
	const char *acct = husk_cgroup_dir_for(cg, "cpuacct");
	cleanup_free char *percpu = read_in(acct, "cpuacct.usage_percpu");
	cleanup_json json_t *stat = read_keyed(husk_cgroup_dir_for(cg, "cpu"), "cpu.stat");
	cleanup_json json_t *list = NULL;
	int64_t v = 0, user = 0, sys = 0;
	char *save = NULL;

	if (read_value(acct, "cpuacct.usage", &v) == 0)
		set_opt(usage, "total", v);
	if (percpu && (list = json_array()) != NULL) {
		for (char *t = strtok_r(percpu, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
			if (parse_value(t, &v) == 0)
				json_array_append_new(list, json_integer(v));
		if (json_array_size(list) > 0)
			json_object_set(usage, "percpu", list);
	}
	/* Nanoseconds where the kernel has them (4.7+), else clock ticks. */
	if (read_value(acct, "cpuacct.usage_user", &user) < 0 ||
	    read_value(acct, "cpuacct.usage_sys", &sys) < 0) {
		cleanup_json json_t *ticks = read_keyed(acct, "cpuacct.stat");
		long hz = sysconf(_SC_CLK_TCK);
		int64_t ns = 1000000000 / (hz > 0 ? hz : 100);
		user = keyed(ticks, "user") * ns;
		sys = keyed(ticks, "system") * ns;
	}
	set_int(usage, "kernel", sys);
	set_int(usage, "user", user);
	set_opt(throttling, "periods", keyed(stat, "nr_periods"));
	set_opt(throttling, "throttledPeriods", keyed(stat, "nr_throttled"));
	set_opt(throttling, "throttledTime", keyed(stat, "throttled_time"));
}

static void cpu_v2(const char *dir, json_t *usage, json_t *throttling)
{
	cleanup_json json_t *stat = read_keyed(dir, "cpu.stat");

	/* v2 counts microseconds; runc reports nanoseconds. */
	set_opt(usage, "total", keyed(stat, "usage_usec") * 1000);
	set_int(usage, "kernel", keyed(stat, "system_usec") * 1000);
	set_int(usage, "user", keyed(stat, "user_usec") * 1000);
	set_opt(throttling, "periods", keyed(stat, "nr_periods"));
	set_opt(throttling, "throttledPeriods", keyed(stat, "nr_throttled"));
	set_opt(throttling, "throttledTime", keyed(stat, "throttled_usec") * 1000);
}

static json_t *stats_cpu(const struct husk_cgroup *cg)
{
	json_t *usage = json_object(), *throttling = json_object();

	if (usage && throttling && cg->version == 1)
		cpu_v1(cg, usage, throttling);
	else if (usage && throttling)
		cpu_v2(cg->dirs[0].dir, usage, throttling);
	return json_pack("{s:o*, s:o*}", "usage", usage, "throttling", throttling);
}

/* ---- memory ---- */

/* {limit, usage, max, failcnt} from PREFIX.{usage_in_bytes,...} (v1). */
static json_t *memory_entry_v1(const char *dir, const char *prefix)
{
	static const struct {
		const char *suffix, *key;
		bool always;
	} files[] = {
	    {"limit_in_bytes", "limit", true},
	    {"usage_in_bytes", "usage", false},
	    {"max_usage_in_bytes", "max", false},
	    {"failcnt", "failcnt", true},
	};
	json_t *e = json_object();

	for (size_t i = 0; e && i < ARRAY_SIZE(files); i++) {
		char file[64];
		int64_t v = 0;
		snprintf(file, sizeof(file), "%s.%s", prefix, files[i].suffix);
		read_value(dir, file, &v);
		if (files[i].always)
			set_int(e, files[i].key, v);
		else
			set_opt(e, files[i].key, v);
	}
	return e;
}

static json_t *stats_memory_v1(const char *dir)
{
	cleanup_json json_t *raw = read_keyed(dir, "memory.stat");
	json_t *m = json_pack("{s:o*, s:o*, s:o*, s:o*}", "usage", memory_entry_v1(dir, "memory"),
			      "swap", memory_entry_v1(dir, "memory.memsw"), "kernel",
			      memory_entry_v1(dir, "memory.kmem"), "kernelTCP",
			      memory_entry_v1(dir, "memory.kmem.tcp"));

	if (m)
		set_opt(m, "cache", keyed(raw, "cache"));
	if (m && json_object_size(raw) > 0)
		json_object_set(m, "raw", raw);
	return m;
}

static json_t *memory_entry(int64_t limit, int64_t usage, int64_t max, int64_t failcnt)
{
	json_t *e =
	    json_pack("{s:I, s:I}", "limit", (json_int_t)limit, "failcnt", (json_int_t)failcnt);

	if (e) {
		set_opt(e, "usage", usage);
		set_opt(e, "max", max);
	}
	return e;
}

static json_t *stats_memory_v2(const char *dir)
{
	cleanup_json json_t *raw = read_keyed(dir, "memory.stat");
	cleanup_json json_t *events = read_keyed(dir, "memory.events");
	cleanup_json json_t *swap_events = read_keyed(dir, "memory.swap.events");
	json_t *m;
	int64_t cur = 0, max = 0, peak = 0, swap = 0, swap_max = 0;

	read_value(dir, "memory.current", &cur);
	read_value(dir, "memory.max", &max);
	read_value(dir, "memory.peak", &peak);
	/* v1 reported memory+swap, and so does runc on v2. */
	if (read_value(dir, "memory.swap.current", &swap) == 0 &&
	    read_value(dir, "memory.swap.max", &swap_max) == 0) {
		swap += cur;
		swap_max = swap_max == INT64_MAX || max == INT64_MAX ? INT64_MAX : swap_max + max;
	}
	m = json_pack("{s:o*, s:o*, s:{s:I, s:I}, s:{s:I, s:I}}", "usage",
		      memory_entry(max, cur, peak, keyed(events, "max")), "swap",
		      memory_entry(swap_max, swap, 0, keyed(swap_events, "max")), "kernel", "limit",
		      (json_int_t)0, "failcnt", (json_int_t)0, "kernelTCP", "limit", (json_int_t)0,
		      "failcnt", (json_int_t)0);
	if (m)
		set_opt(m, "cache", keyed(raw, "file"));
	if (m && json_object_size(raw) > 0)
		json_object_set(m, "raw", raw);
	return m;
}

/* ---- pids ---- */

static json_t *stats_pids(const char *dir)
{
	json_t *p = json_object();
	int64_t v = 0;

	if (p && read_value(dir, "pids.current", &v) == 0)
		set_opt(p, "current", v);
	if (p && read_value(dir, "pids.max", &v) == 0)
		set_opt(p, "limit", v);
	return p;
}

/* ---- blkio ---- */

static json_t *blkio_entry(unsigned major, unsigned minor, const char *op, int64_t value)
{
	json_t *e = json_object();

	if (e) {
		set_opt(e, "major", major);
		set_opt(e, "minor", minor);
		json_object_set_new(e, "op", json_string(op));
		set_opt(e, "value", value);
	}
	return e;
}

/* v1 "MAJ:MIN Op value" lines (the closing "Total N" has no device). */
static json_t *blkio_v1_list(const char *dir, const char *const *files, size_t n)
{
	cleanup_free char *text = NULL;
	json_t *list;
	char *save = NULL;

	for (size_t i = 0; text == NULL && i < n; i++)
		text = read_in(dir, files[i]);
	if (text == NULL || (list = json_array()) == NULL)
		return NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned major, minor;
		char op[32];
		unsigned long long v;
		if (sscanf(l, "%u:%u %31s %llu", &major, &minor, op, &v) == 4)
			json_array_append_new(
			    list, blkio_entry(major, minor, op, (int64_t)(v & INT64_MAX)));
	}
	return list;
}

static void set_list(json_t *o, const char *key, json_t *list)
{
	if (json_array_size(list) > 0)
		json_object_set(o, key, list);
	json_decref(list);
}

static json_t *stats_blkio_v1(const char *dir)
{
	/* CFQ's files (before 5.0), BFQ's, else the throttling layer's. */
	static const char *const bytes[] = {"blkio.io_service_bytes_recursive",
					    "blkio.bfq.io_service_bytes_recursive",
					    "blkio.throttle.io_service_bytes_recursive"};
	static const char *const ios[] = {"blkio.io_serviced_recursive",
					  "blkio.bfq.io_serviced_recursive",
					  "blkio.throttle.io_serviced_recursive"};
	json_t *b = json_object();

	if (b && dir) {
		set_list(b, "ioServiceBytesRecursive", blkio_v1_list(dir, bytes, 3));
		set_list(b, "ioServicedRecursive", blkio_v1_list(dir, ios, 3));
	}
	return b;
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N". */
static void io_stat_line(char *l, json_t *bytes, json_t *ios)
{
	static const struct {
		const char *key, *op;
		bool is_bytes;
	} keys[] = {
	    {"rbytes", "Read", true}, {"wbytes", "Write", true}, {"dbytes", "Discard", true},
	    {"rios", "Read", false},  {"wios", "Write", false},	 {"dios", "Discard", false},
	};
	unsigned major, minor;
	char *save = NULL;

	if (sscanf(l, "%u:%u", &major, &minor) != 2)
		return;
	strtok_r(l, " ", &save);
	for (char *kv = strtok_r(NULL, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		int64_t v;
		if (eq == NULL || parse_value(eq + 1, &v) < 0)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (strcmp(kv, keys[i].key) == 0)
				json_array_append_new(keys[i].is_bytes ? bytes : ios,
						      blkio_entry(major, minor, keys[i].op, v));
	}
}

static json_t *stats_blkio_v2(const char *dir)
{
	cleanup_free char *text = read_in(dir, "io.stat");
	json_t *b = json_object();
	cleanup_json json_t *bytes = json_array();
	cleanup_json json_t *ios = json_array();
	char *save = NULL;

	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l && bytes && ios;
	     l = strtok_r(NULL, "\n", &save))
		io_stat_line(l, bytes, ios);
	if (b) {
		set_list(b, "ioServiceBytesRecursive", steal_pointer(&bytes));
		set_list(b, "ioServicedRecursive", steal_pointer(&ios));
	}
	return b;
}

/* ---- hugetlb ---- */

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

static json_t *hugetlb_entry(const char *dir, const char *size, int version)
{
	char file[96];
	int64_t usage = 0, max = 0, failcnt = 0;
	json_t *e;

	snprintf(file, sizeof(file), "hugetlb.%s.%s", size,
		 version == 1 ? "usage_in_bytes" : "current");
	if (read_value(dir, file, &usage) < 0)
		return NULL;
	if (version == 1) {
		snprintf(file, sizeof(file), "hugetlb.%s.max_usage_in_bytes", size);
		read_value(dir, file, &max);
		snprintf(file, sizeof(file), "hugetlb.%s.failcnt", size);
		read_value(dir, file, &failcnt);
	} else {
		cleanup_json json_t *events = NULL;
		snprintf(file, sizeof(file), "hugetlb.%s.events", size);
		events = read_keyed(dir, file);
		failcnt = keyed(events, "max");
	}
	e = json_pack("{s:I}", "failcnt", (json_int_t)failcnt);
	if (e) {
		set_opt(e, "usage", usage);
		set_opt(e, "max", max);
	}
	return e;
}

static json_t *stats_hugetlb(const char *dir, int version)
{
	DIR *d = dir ? opendir("/sys/kernel/mm/hugepages") : NULL;
	json_t *h = json_object();
	struct dirent *de;

	while (d && h && (de = readdir(d)) != NULL) {
		char size[32];
		json_t *e;
		if (hugepage_name(de->d_name, size, sizeof(size)) &&
		    (e = hugetlb_entry(dir, size, version)) != NULL)
			json_object_set_new(h, size, e);
	}
	if (d)
		closedir(d);
	return h;
}

/* ---- the whole ---- */

int husk_cgroup_stats(const struct husk_cgroup *cg, json_t **ret, husk_error **err)
{
	const char *mem = husk_cgroup_dir_for(cg, "memory");
	const char *pids = husk_cgroup_dir_for(cg, "pids");
	const char *blkio = husk_cgroup_dir_for(cg, cg->version == 1 ? "blkio" : "io");
	const char *hugetlb = husk_cgroup_dir_for(cg, "hugetlb");
	json_t *s;

	if (cg->version == 0 || cg->n == 0)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "the container has no cgroup");
	s = json_pack("{s:o*, s:o*, s:o*, s:o*, s:o*}", "cpu", stats_cpu(cg), "memory",
		      mem == NULL	 ? json_object()
		      : cg->version == 1 ? stats_memory_v1(mem)
					 : stats_memory_v2(mem),
		      "pids", stats_pids(pids), "blkio",
		      cg->version == 1 ? stats_blkio_v1(blkio) : stats_blkio_v2(blkio), "hugetlb",
		      stats_hugetlb(hugetlb, cg->version));
	if (s == NULL)
		return husk_error_set(err, ENOMEM, "cgroup stats");
	*ret = s;
	return 0;
}

int husk_cgroup_oom_count(const struct husk_cgroup *cg, uint64_t *ret)
{
	const char *dir = husk_cgroup_dir_for(cg, "memory");
	cleanup_json json_t *o = NULL;
	json_t *v;

	if (dir == NULL)
		return -ENOENT;
	o = read_keyed(dir, cg->version == 1 ? "memory.oom_control" : "memory.events");
	if (o == NULL)
		return -ENOENT;
	v = json_object_get(o, "oom_kill");
	if (v)
		*ret = (uint64_t)json_integer_value(v);
	return v ? 0 : -ENOENT;
}
