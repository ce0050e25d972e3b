/* SPDX-License-Identifier: MIT */
/*
 * The cgroupfs v2 backend: one directory (named "unified") in the cgroup2
 * hierarchy at /sys/fs/cgroup. Controllers must be enabled in every
 * ancestor's cgroup.subtree_control for their files to appear; devices are
 * filtered by an eBPF program attached to the directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "util.h"

/* Every controller's files are in the one directory, and so are cgroup.*. */
static const char *v2_dir_for(const struct husk_cgroup *cg, const char *controller)
{
	return cg->n > 0 ? cg->dirs[0].dir : NULL;
}

static const char *v2_unified_dir(const struct husk_cgroup *cg)
{
	return cg->n == 1 ? cg->dirs[0].dir : NULL;
}

/* ---- creating ---- */

static int v2_create(struct husk_cgroup *cg, const struct husk_cgroup_config *cfg, husk_error **err)
{
	cleanup_free char *proc_cgroup = NULL, *own = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &proc_cgroup, NULL, err) < 0)
		return -1;
	own = husk_cgroupfs_own_cgroup(proc_cgroup, "");
	if (husk_cgroupfs_plan_dir(cg, "unified", HUSK_CGROUP_ROOT, own ? own : "/", cfg, err) < 0)
		return -1;
	return husk_cgroupfs_make_planned(cg, cfg, err);
}

/* ---- joining ---- */

/* born_in: cloned into the directory already, nothing to move. */
static int v2_enter(const struct husk_cgroup *cg, pid_t pid, bool born_in, husk_error **err)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; !born_in && i < cg->n; i++)
		if (husk_cgroupfs_join(cg->dirs[i].dir, "cgroup.procs", buf, err) < 0)
			return -1;
	return 0;
}

static int v2_enter_self(const struct husk_cgroup *cg, bool born_in, husk_error **err)
{
	return v2_enter(cg, getpid(), born_in, err);
}

/* ---- controllers in the parents' cgroup.subtree_control ---- */

struct need {
	const char *controller, *field; /* field NULL: best effort */
};

static bool word_in(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *s = list; s && *s;) {
		s += strspn(s, " \t\n");
		size_t n = strcspn(s, " \t\n");
		if (n == len && strncmp(s, word, n) == 0)
			return true;
		s += n;
	}
	return false;
}

static int read_in(const char *dir, const char *file, char **ret, husk_error **err)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	return read_file_at(AT_FDCWD, path, ret, NULL, err);
}

/* Enables in `dir` the needed controllers it does not enable yet. Best
 * effort entries (field NULL) are skipped when missing and their failure
 * ignored. */
static int enable_in(const char *dir, const struct need *need, size_t n, bool best_effort,
		     husk_error **err)
{
	cleanup_free char *enabled = NULL, *available = NULL, *path = NULL;
	const char *field = NULL;
	char buf[256] = "";
	size_t len = 0;
	int r;

	if (read_in(dir, "cgroup.subtree_control", &enabled, best_effort ? NULL : err) < 0 ||
	    read_in(dir, "cgroup.controllers", &available, best_effort ? NULL : err) < 0)
		return best_effort ? 0 : -1;
	for (size_t i = 0; i < n; i++) {
		if (word_in(enabled, need[i].controller))
			continue;
		if (!word_in(available, need[i].controller)) {
			if (best_effort)
				continue;
			return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					       "%s: the %s controller is not available in `%s`",
					       need[i].field, need[i].controller, dir);
		}
		r = snprintf(buf + len, sizeof(buf) - len, "%s+%s", len ? " " : "",
			     need[i].controller);
		if (r < 0 || (size_t)r >= sizeof(buf) - len)
			return husk_error_set(err, E2BIG, "cgroup.subtree_control");
		len += (size_t)r;
		if (field == NULL)
			field = need[i].field;
	}
	if (len == 0)
		return 0;
	if (asprintf(&path, "%s/cgroup.subtree_control", dir) < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	r = write_file_at(AT_FDCWD, path, buf, len, NULL);
	if (r < 0 && !best_effort)
		return husk_error_set(err, -r, "enable controllers (%s) for %s in `%s`%s", buf,
				      field, path,
				      r == -EBUSY ? " (it has processes of its own, which cgroup "
						    "v2 allows only without controllers)"
						  : "");
	return 0;
}

/* Calls enable_in for the hierarchy root and every ancestor below it. */
static int enable_in_ancestors(const char *dir, const struct need *need, size_t n, bool best_effort,
			       husk_error **err)
{
	cleanup_free char *p = strdup(dir);
	size_t root = strlen(HUSK_CGROUP_ROOT);
	char *last;

	if (p == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	last = strrchr(p, '/');
	if (strncmp(p, HUSK_CGROUP_ROOT "/", root + 1) != 0 || last == NULL || last < p + root)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "cgroup `%s` is not below " HUSK_CGROUP_ROOT, dir);
	for (char *s = p + root; s && s <= last; s = strchr(s + 1, '/')) {
		*s = '\0';
		int r = enable_in(p, need, n, best_effort, err);
		*s = '/';
		if (r < 0)
			return -1;
	}
	return 0;
}

static int enable_controllers(const struct husk_cgroup *cg, const struct husk_cgroup_write *w,
			      size_t n, husk_error **err)
{
	/* Enabled whether limited or not, so that `events --stats` has
	 * memory.current, pids.current and io.stat; best effort. */
	static const struct need stats[] = {
	    {"cpu", NULL}, {"io", NULL}, {"memory", NULL}, {"pids", NULL}};
	cleanup_free struct need *need = calloc(n + 1, sizeof(*need));
	size_t k = 0;

	if (need == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	for (size_t i = 0; i < n; i++) {
		bool seen = w[i].controller == NULL;
		for (size_t j = 0; !seen && j < k; j++)
			seen = strcmp(need[j].controller, w[i].controller) == 0;
		if (!seen)
			need[k++] = (struct need){w[i].controller, w[i].field};
	}
	if (k > 0 && enable_in_ancestors(cg->dirs[0].dir, need, k, false, err) < 0)
		return -1;
	enable_in_ancestors(cg->dirs[0].dir, stats, ARRAY_SIZE(stats), true, NULL);
	return 0;
}

static int v2_apply(const struct husk_cgroup *cg, json_t *resources, husk_error **err)
{
	return husk_cgroupfs_apply(cg, resources, enable_controllers, err);
}

/* ---- devices: an eBPF program ---- */

static int v2_apply_devices(const struct husk_cgroup *cg, json_t *rules, bool default_deny,
			    husk_error **err)
{
	if (cg->n == 0)
		return 0;
	return husk_cgroup_devices_bpf_attach(cg->dirs[0].dir, rules, default_deny, err);
}

static bool v2_devices_restricted(const struct husk_cgroup *cg)
{
	const char *dir = v2_dir_for(cg, "devices");

	return dir == NULL || husk_cgroup_devices_bpf_attached(dir);
}

/* ---- the freezer ---- */

static int v2_freeze(const struct husk_cgroup *cg, bool frozen, husk_error **err)
{
	return husk_cgroupfs_freeze(v2_dir_for(cg, NULL), &husk_cgroupfs_v2_freezer, frozen, err);
}

static bool v2_is_frozen(const struct husk_cgroup *cg)
{
	return husk_cgroupfs_is_frozen(v2_dir_for(cg, NULL), &husk_cgroupfs_v2_freezer);
}

/* ---- stats ---- */

static json_t *stats_cpu(const char *dir)
{
	cleanup_json json_t *stat = husk_cgstat_keyed(dir, "cpu.stat");
	json_t *usage = json_object(), *throttling = json_object();

	/* v2 counts microseconds; runc reports nanoseconds. */
	if (usage && throttling) {
		husk_cgstat_set_opt(usage, "total", husk_cgstat_key(stat, "usage_usec") * 1000);
		husk_cgstat_set_int(usage, "kernel", husk_cgstat_key(stat, "system_usec") * 1000);
		husk_cgstat_set_int(usage, "user", husk_cgstat_key(stat, "user_usec") * 1000);
		husk_cgstat_set_opt(throttling, "periods", husk_cgstat_key(stat, "nr_periods"));
		husk_cgstat_set_opt(throttling, "throttledPeriods",
				    husk_cgstat_key(stat, "nr_throttled"));
		husk_cgstat_set_opt(throttling, "throttledTime",
				    husk_cgstat_key(stat, "throttled_usec") * 1000);
	}
	return json_pack("{s:o*, s:o*}", "usage", usage, "throttling", throttling);
}

static json_t *memory_entry(int64_t limit, int64_t usage, int64_t max, int64_t failcnt)
{
	json_t *e =
	    json_pack("{s:I, s:I}", "limit", (json_int_t)limit, "failcnt", (json_int_t)failcnt);

	if (e) {
		husk_cgstat_set_opt(e, "usage", usage);
		husk_cgstat_set_opt(e, "max", max);
	}
	return e;
}

static json_t *stats_memory(const char *dir)
{
	cleanup_json json_t *raw = husk_cgstat_keyed(dir, "memory.stat");
	cleanup_json json_t *events = husk_cgstat_keyed(dir, "memory.events");
	cleanup_json json_t *swap_events = husk_cgstat_keyed(dir, "memory.swap.events");
	json_t *m;
	int64_t cur = 0, max = 0, peak = 0, swap = 0, swap_max = 0;

	husk_cgstat_value(dir, "memory.current", &cur);
	husk_cgstat_value(dir, "memory.max", &max);
	husk_cgstat_value(dir, "memory.peak", &peak);
	/* v1 reported memory+swap, and so does runc on v2. */
	if (husk_cgstat_value(dir, "memory.swap.current", &swap) == 0 &&
	    husk_cgstat_value(dir, "memory.swap.max", &swap_max) == 0) {
		swap += cur;
		swap_max = swap_max == INT64_MAX || max == INT64_MAX ? INT64_MAX : swap_max + max;
	}
	m = json_pack("{s:o*, s:o*, s:{s:I, s:I}, s:{s:I, s:I}}", "usage",
		      memory_entry(max, cur, peak, husk_cgstat_key(events, "max")), "swap",
		      memory_entry(swap_max, swap, 0, husk_cgstat_key(swap_events, "max")),
		      "kernel", "limit", (json_int_t)0, "failcnt", (json_int_t)0, "kernelTCP",
		      "limit", (json_int_t)0, "failcnt", (json_int_t)0);
	if (m)
		husk_cgstat_set_opt(m, "cache", husk_cgstat_key(raw, "file"));
	if (m && json_object_size(raw) > 0)
		json_object_set(m, "raw", raw);
	return m;
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N". */
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
		if (eq == NULL || husk_cgstat_parse(eq + 1, &v) < 0)
			continue;
		*eq = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (strcmp(kv, keys[i].key) == 0)
				json_array_append_new(
				    keys[i].is_bytes ? bytes : ios,
				    husk_cgstat_blkio_entry(major, minor, keys[i].op, v));
	}
}

static json_t *stats_blkio(const char *dir)
{
	cleanup_free char *text = husk_cgstat_read(dir, "io.stat");
	json_t *b = json_object();
	cleanup_json json_t *bytes = json_array();
	cleanup_json json_t *ios = json_array();
	char *save = NULL;

	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l && bytes && ios;
	     l = strtok_r(NULL, "\n", &save))
		io_stat_line(l, bytes, ios);
	if (b) {
		husk_cgstat_set_list(b, "ioServiceBytesRecursive", steal_pointer(&bytes));
		husk_cgstat_set_list(b, "ioServicedRecursive", steal_pointer(&ios));
	}
	return b;
}

static json_t *hugetlb_entry(const char *dir, const char *size)
{
	cleanup_json json_t *events = NULL;
	char file[96];
	int64_t usage = 0;
	json_t *e;

	snprintf(file, sizeof(file), "hugetlb.%s.current", size);
	if (husk_cgstat_value(dir, file, &usage) < 0)
		return NULL;
	snprintf(file, sizeof(file), "hugetlb.%s.events", size);
	events = husk_cgstat_keyed(dir, file);
	e = json_pack("{s:I}", "failcnt", (json_int_t)husk_cgstat_key(events, "max"));
	if (e)
		husk_cgstat_set_opt(e, "usage", usage);
	return e;
}

static int v2_stats(const struct husk_cgroup *cg, json_t **ret, husk_error **err)
{
	const char *dir = v2_dir_for(cg, NULL);

	if (dir == NULL)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "the container has no cgroup");
	return husk_cgstat_assemble(stats_cpu(dir), stats_memory(dir), husk_cgstat_pids(dir),
				    stats_blkio(dir), husk_cgstat_hugetlb(dir, hugetlb_entry), ret,
				    err);
}

static int v2_oom_count(const struct husk_cgroup *cg, uint64_t *ret)
{
	return husk_cgstat_oom_kills(v2_dir_for(cg, "memory"), "memory.events", ret);
}

/* ---- linux.resources as v2 files ---- */

#define MEM   HUSK_RES_MEMORY
#define CPU   HUSK_RES_CPU
#define BLKIO HUSK_RES_BLKIO

uint64_t husk_cgroup_cpu_shares_to_weight(uint64_t shares)
{
	/* [2, 262144] onto [1, 10000], linearly, as runc and crun do. */
	if (shares == 0)
		return 0;
	if (shares <= 2)
		return 1;
	if (shares >= 262144)
		return 10000;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t husk_cgroup_blkio_weight_to_io_weight(uint64_t weight)
{
	/* [10, 1000] onto [1, 10000]. */
	if (weight == 0)
		return 0;
	if (weight <= 10)
		return 1;
	if (weight >= 1000)
		return 10000;
	return 1 + ((weight - 10) * 9999) / 990;
}

int husk_cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, husk_error **err)
{
	/* An unlimited memory with swap left unset means both unlimited, as on v1. */
	if (limit == -1 && swap == 0) {
		*ret = -1;
		return 0;
	}
	if (swap == -1 || swap == 0) {
		*ret = swap;
		return 0;
	}
	if (limit == 0 || limit == -1)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       HUSK_RES_MEMORY ".swap: a swap limit needs a memory limit "
						       "(it limits memory+swap)");
	if (swap < limit)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       HUSK_RES_MEMORY ".swap: must be at least memory.limit "
						       "(it limits memory+swap)");
	*ret = swap - limit;
	return 0;
}

/* v2 has no kmem/tcp limit, swappiness, OOM-killer switch or hierarchy
 * switch: like runc, those are ignored. */
static int plan_memory(struct husk_cgroup_plan *p, const struct husk_res_memory *m)
{
	unsigned check = m->check == 1 ? HUSK_CGW_CHECK_USAGE : 0;
	int64_t swap = 0;
	char buf[32];

	if (husk_cgroup_swap_to_v2(m->swap, m->limit, &swap, p->err) < 0)
		return -1;
	if (m->limit != 0 && husk_plan_add(husk_plan_at(p, MEM, "limit"), "memory", "memory.max",
					   check, "%s", husk_plan_limit(buf, m->limit, "max")) < 0)
		return -1;
	/* swap == limit gives memory.swap.max 0: no swap at all. */
	if ((m->swap != 0 || m->limit == -1) &&
	    husk_plan_add(husk_plan_at(p, MEM, m->swap ? "swap" : "limit"), "memory",
			  "memory.swap.max", m->swap ? 0 : HUSK_CGW_OPTIONAL, "%s",
			  husk_plan_limit(buf, swap, "max")) < 0)
		return -1;
	if (m->reservation != 0 &&
	    husk_plan_add(husk_plan_at(p, MEM, "reservation"), "memory", "memory.low", 0, "%s",
			  husk_plan_limit(buf, m->reservation, "max")) < 0)
		return -1;
	return 0;
}

static int plan_cpu(struct husk_cgroup_plan *p, const struct husk_res_cpu *c)
{
	char buf[32];

	if (c->rt_runtime != 0 || c->rt_period != 0)
		return husk_plan_unsupported(p, CPU,
					     c->rt_runtime ? "realtimeRuntime" : "realtimePeriod");
	if ((c->quota != 0 || c->period != 0) &&
	    husk_plan_add(husk_plan_at(p, CPU, c->quota ? "quota" : "period"), "cpu", "cpu.max", 0,
			  "%s %" PRId64, husk_plan_limit(buf, c->quota > 0 ? c->quota : -1, "max"),
			  c->period ? c->period : 100000) < 0)
		return -1;
	if (c->has_burst && husk_plan_add(husk_plan_at(p, CPU, "burst"), "cpu", "cpu.max.burst", 0,
					  "%" PRId64, c->burst) < 0)
		return -1;
	return husk_plan_cpu_weight_idle(p, c, "cpu.weight",
					 husk_cgroup_cpu_shares_to_weight((uint64_t)c->shares));
}

static int plan_blkio_weight(struct husk_cgroup_plan *p, int64_t weight, int64_t leaf)
{
	if (leaf != 0)
		return husk_plan_unsupported(p, BLKIO, "leafWeight");
	if (weight != 0 &&
	    husk_plan_add(husk_plan_at(p, BLKIO, "weight"), "io", "io.weight", 0, "%" PRIu64,
			  husk_cgroup_blkio_weight_to_io_weight((uint64_t)weight)) < 0)
		return -1;
	return 0;
}

static int plan_blkio_weight_device(struct husk_cgroup_plan *p, const char *prefix,
				    const struct husk_res_weight_device *d)
{
	if (d->has_leaf)
		return husk_plan_unsupported(p, prefix, "leafWeight");
	if (!d->has_weight)
		return 0;
	if (d->weight == 0)
		return husk_plan_add(husk_plan_at(p, prefix, "weight"), "io", "io.weight", 0,
				     "%" PRId64 ":%" PRId64 " default", d->major, d->minor);
	return husk_plan_add(husk_plan_at(p, prefix, "weight"), "io", "io.weight", 0,
			     "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
			     husk_cgroup_blkio_weight_to_io_weight((uint64_t)d->weight));
}

static int plan_blkio_throttle(struct husk_cgroup_plan *p, enum husk_res_throttle t, int64_t major,
			       int64_t minor, int64_t rate)
{
	static const char *const keys[] = {
	    [HUSK_THROTTLE_READ_BPS] = "rbps",
	    [HUSK_THROTTLE_WRITE_BPS] = "wbps",
	    [HUSK_THROTTLE_READ_IOPS] = "riops",
	    [HUSK_THROTTLE_WRITE_IOPS] = "wiops",
	};

	if (rate == 0)
		return husk_plan_add(p, "io", "io.max", 0, "%" PRId64 ":%" PRId64 " %s=max", major,
				     minor, keys[t]);
	return husk_plan_add(p, "io", "io.max", 0, "%" PRId64 ":%" PRId64 " %s=%" PRId64, major,
			     minor, keys[t], rate);
}

static int plan_hugepage(struct husk_cgroup_plan *p, const char *size, int64_t limit)
{
	char file[96], rsvd[96];

	snprintf(file, sizeof(file), "hugetlb.%s.max", size);
	snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.max", size);
	/* Reservations are limited alike where the kernel has them (5.7+). */
	if (husk_plan_add(p, "hugetlb", file, 0, "%" PRId64, limit) < 0 ||
	    husk_plan_add(p, "hugetlb", rsvd, HUSK_CGW_OPTIONAL, "%" PRId64, limit) < 0)
		return -1;
	return 0;
}

static bool valid_unified_key(const char *k)
{
	const char *dot = strchr(k, '.');

	return dot != NULL && dot != k && dot[1] != '\0' && strchr(k, '/') == NULL &&
	       strstr(k, "..") == NULL;
}

/* File names as given, in the order given: they override the rest. */
static int plan_unified(struct husk_cgroup_plan *p, json_t *unified)
{
	const char *key;
	json_t *v;

	json_object_foreach (unified, key, v) {
		char controller[64];
		size_t len = strcspn(key, ".");
		if (!valid_unified_key(key) || len >= sizeof(controller))
			return husk_error_fail(p->err, HUSK_ERR_INVALID,
					       HUSK_RES_UNIFIED ".%s: not a cgroup file name", key);
		if (!json_is_string(v))
			return husk_error_fail(p->err, HUSK_ERR_INVALID,
					       HUSK_RES_UNIFIED ".%s: must be a string", key);
		memcpy(controller, key, len);
		controller[len] = '\0';
		/* Core files (cgroup.*) need no controller. */
		if (husk_plan_add(husk_plan_at(p, HUSK_RES_UNIFIED, key),
				  strcmp(controller, "cgroup") == 0 ? NULL : controller, key, 0,
				  "%s", json_string_value(v)) < 0)
			return -1;
	}
	return 0;
}

static const struct husk_cgroup_planner v2_planner = {
    .name = "cgroup v2",
    .memory_usage = "memory.current",
    .memory = plan_memory,
    .cpu = plan_cpu,
    .blkio_weight = plan_blkio_weight,
    .blkio_weight_device = plan_blkio_weight_device,
    .blkio_throttle = plan_blkio_throttle,
    .hugepage = plan_hugepage,
    /* No net_cls or net_prio: like runc, a spec setting them is refused. */
    .net_classid = NULL,
    .net_priority = NULL,
    .unified = plan_unified,
};

const struct husk_cgroup_ops husk_cgroup_v2_ops = {
    .name = "cgroupfs-v2",
    .state_version = 2,
    /* The runtime moves the init, unless it was cloned into the cgroup. */
    .init_joins_itself = false,
    .planner = &v2_planner,
    .create = v2_create,
    .destroy = husk_cgroupfs_destroy,
    .save = husk_cgroupfs_save,
    .load = husk_cgroupfs_load,
    .enter = v2_enter,
    .enter_self = v2_enter_self,
    .apply = v2_apply,
    .apply_devices = v2_apply_devices,
    .devices_restricted = v2_devices_restricted,
    .dir_for = v2_dir_for,
    .unified_dir = v2_unified_dir,
    .kill = husk_cgroupfs_kill,
    .pids = husk_cgroupfs_pids,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
    .stats = v2_stats,
    .oom_count = v2_oom_count,
};
