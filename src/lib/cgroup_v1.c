/* SPDX-License-Identifier: MIT */
/*
 * The cgroupfs v1 backend: a directory in every mounted v1 hierarchy (one per
 * controller or group of controllers, under a tmpfs at /sys/fs/cgroup), and
 * on a "hybrid" host, which also mounts cgroup2 at /sys/fs/cgroup/unified, a
 * directory there too (named "unified"): its core files give cgroup.kill,
 * cgroup.freeze where there is no v1 freezer, and CLONE_INTO_CGROUP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static bool is_unified(const struct husk_cgroup_dir *d)
{
	return strcmp(d->name, "unified") == 0;
}

/* ---- creating ---- */

/* systemd's "hybrid" layout: cgroup2 at /sys/fs/cgroup/unified. */
static bool hybrid_unified(void)
{
	struct statfs fs;

	return statfs(HUSK_CGROUP_ROOT "/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

static int create_in(struct husk_cgroup *cg, const char *names, const char *own_names,
		     const char *mountpoint, const char *proc_cgroup,
		     const struct husk_cgroup_config *cfg, husk_error **err)
{
	cleanup_free char *own = husk_cgroupfs_own_cgroup(proc_cgroup, own_names);

	return husk_cgroupfs_plan_dir(cg, names, mountpoint, own ? own : "/", cfg, err);
}

/* Every mounted v1 hierarchy with controllers: "cgroup" lines of mountinfo. */
static int create_hierarchies(struct husk_cgroup *cg, const char *proc_cgroup,
			      const struct husk_cgroup_config *cfg, husk_error **err)
{
	cleanup_free char *mountinfo = NULL;
	char *save = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL, err) < 0)
		return -1;
	for (char *line = strtok_r(mountinfo, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char mnt[512], fstype[64], super[512];
		char *dash = strstr(line, " - "), *names;
		cleanup_free char *list = NULL;

		if (dash == NULL || sscanf(dash, " - %63s %*s %511s", fstype, super) != 2 ||
		    strcmp(fstype, "cgroup") != 0 ||
		    sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    strncmp(mnt, HUSK_CGROUP_ROOT "/", strlen(HUSK_CGROUP_ROOT) + 1) != 0)
			continue;
		/* super options: "rw,cpu,cpuacct" -> controllers "cpu,cpuacct" */
		names = strchr(super, ',');
		if (names == NULL || strstr(names, "name=") != NULL)
			continue;
		list = strdup(names + 1);
		if (list == NULL)
			return husk_error_set(err, ENOMEM, "cgroup");
		if (create_in(cg, list, list, mnt, proc_cgroup, cfg, err) < 0)
			return -1;
	}
	return 0;
}

static int v1_create(struct husk_cgroup *cg, const struct husk_cgroup_config *cfg, husk_error **err)
{
	cleanup_free char *proc_cgroup = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &proc_cgroup, NULL, err) < 0 ||
	    create_hierarchies(cg, proc_cgroup, cfg, err) < 0)
		return -1;
	if (hybrid_unified() &&
	    create_in(cg, "unified", "", HUSK_CGROUP_ROOT "/unified", proc_cgroup, cfg, err) < 0)
		return -1;
	return husk_cgroupfs_make_planned(cg, cfg, err);
}

/* ---- directories ---- */

static bool name_has_controller(const char *names, const char *controller)
{
	size_t len = strlen(controller);

	for (const char *p = names; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == len && strncmp(p, controller, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* Core (cgroup.*) files have no hierarchy of their own on v1. */
static const char *v1_dir_for(const struct husk_cgroup *cg, const char *controller)
{
	for (size_t i = 0; controller && i < cg->n; i++)
		if (name_has_controller(cg->dirs[i].name, controller))
			return cg->dirs[i].dir;
	return NULL;
}

/* A set of hierarchies: /sys/fs/cgroup inside is a tmpfs of them. */
static const char *v1_unified_dir(const struct husk_cgroup *cg)
{
	return NULL;
}

/* ---- joining ---- */

static int v1_enter(const struct husk_cgroup *cg, pid_t pid, bool born_in, husk_error **err)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n; i++) {
		if (born_in && is_unified(&cg->dirs[i]))
			continue;
		if (husk_cgroupfs_join(cg->dirs[i].dir, "cgroup.procs", buf, err) < 0)
			return -1;
	}
	return 0;
}

/* "0" to each hierarchy's "tasks" moves only the caller: no global
 * threadgroup lock. The unified directory has no "tasks": cgroup.procs,
 * where "0" is the caller too. */
static int v1_enter_self(const struct husk_cgroup *cg, bool born_in, husk_error **err)
{
	for (size_t i = 0; i < cg->n; i++) {
		bool v2 = is_unified(&cg->dirs[i]);
		if (v2 && born_in)
			continue;
		if (husk_cgroupfs_join(cg->dirs[i].dir, v2 ? "cgroup.procs" : "tasks", "0", err) <
		    0)
			return -1;
	}
	return 0;
}

/* ---- devices: devices.deny / devices.allow ---- */

static int v1_apply_devices(const struct husk_cgroup *cg, json_t *rules, bool default_deny,
			    husk_error **err)
{
	struct husk_cgroup_write *w = NULL;
	size_t n = 0;
	int r;

	if (cg->n == 0)
		return 0;
	if (husk_cgroup_devices_v1_plan(rules, default_deny, &w, &n, err) < 0)
		return -1;
	r = husk_cgroup_writes_exec(cg, w, n, err);
	husk_cgroup_writes_free(w, n);
	return r;
}

static bool v1_devices_restricted(const struct husk_cgroup *cg)
{
	const char *dir = v1_dir_for(cg, "devices");
	cleanup_free char *path = NULL, *list = NULL;

	return dir == NULL || asprintf(&path, "%s/devices.list", dir) < 0 ||
	       read_file_at(AT_FDCWD, path, &list, NULL, NULL) < 0 ||
	       strncmp(list, "a *:* rwm", 9) != 0;
}

/* ---- the freezer ---- */

static bool v1_freezer_reached(const char *state, bool frozen)
{
	return strncmp(state, frozen ? "FROZEN" : "THAWED", 6) == 0;
}

static const struct husk_cgroupfs_freezer v1_freezer = {
    .control = "freezer.state",
    .frozen = "FROZEN",
    .thawed = "THAWED",
    .report = "freezer.state",
    .reached = v1_freezer_reached,
    .thaw_to_retry = true,
};

/* The v1 freezer where there is one (a hybrid host freezes as runc does
 * there, and as tools reading freezer.state expect), else cgroup.freeze of
 * the unified directory. */
static const char *freezer_dir(const struct husk_cgroup *cg,
			       const struct husk_cgroupfs_freezer **ret)
{
	const char *dir = v1_dir_for(cg, "freezer");

	*ret = dir ? &v1_freezer : &husk_cgroupfs_v2_freezer;
	return dir ? dir : husk_cgroup_v2_dir(cg);
}

static int v1_freeze(const struct husk_cgroup *cg, bool frozen, husk_error **err)
{
	const struct husk_cgroupfs_freezer *f;
	const char *dir = freezer_dir(cg, &f);

	return husk_cgroupfs_freeze(dir, f, frozen, err);
}

static bool v1_is_frozen(const struct husk_cgroup *cg)
{
	const struct husk_cgroupfs_freezer *f;
	const char *dir = freezer_dir(cg, &f);

	return husk_cgroupfs_is_frozen(dir, f);
}

/* ---- stats ---- */

static void cpu_usage(const struct husk_cgroup *cg, json_t *usage, json_t *throttling)
{
	const char *acct = v1_dir_for(cg, "cpuacct");
	cleanup_free char *percpu = husk_cgstat_read(acct, "cpuacct.usage_percpu");
	cleanup_json json_t *stat = husk_cgstat_keyed(v1_dir_for(cg, "cpu"), "cpu.stat");
	cleanup_json json_t *list = NULL;
	int64_t v = 0, user = 0, sys = 0;
	char *save = NULL;

	if (husk_cgstat_value(acct, "cpuacct.usage", &v) == 0)
		husk_cgstat_set_opt(usage, "total", v);
	if (percpu && (list = json_array()) != NULL) {
		for (char *t = strtok_r(percpu, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
			if (husk_cgstat_parse(t, &v) == 0)
				json_array_append_new(list, json_integer(v));
		if (json_array_size(list) > 0)
			json_object_set(usage, "percpu", list);
	}
	/* Nanoseconds where the kernel has them (4.7+), else clock ticks. */
	if (husk_cgstat_value(acct, "cpuacct.usage_user", &user) < 0 ||
	    husk_cgstat_value(acct, "cpuacct.usage_sys", &sys) < 0) {
		cleanup_json json_t *ticks = husk_cgstat_keyed(acct, "cpuacct.stat");
		long hz = sysconf(_SC_CLK_TCK);
		int64_t ns = 1000000000 / (hz > 0 ? hz : 100);
		user = husk_cgstat_key(ticks, "user") * ns;
		sys = husk_cgstat_key(ticks, "system") * ns;
	}
	husk_cgstat_set_int(usage, "kernel", sys);
	husk_cgstat_set_int(usage, "user", user);
	husk_cgstat_set_opt(throttling, "periods", husk_cgstat_key(stat, "nr_periods"));
	husk_cgstat_set_opt(throttling, "throttledPeriods", husk_cgstat_key(stat, "nr_throttled"));
	husk_cgstat_set_opt(throttling, "throttledTime", husk_cgstat_key(stat, "throttled_time"));
}

static json_t *stats_cpu(const struct husk_cgroup *cg)
{
	json_t *usage = json_object(), *throttling = json_object();

	if (usage && throttling)
		cpu_usage(cg, usage, throttling);
	return json_pack("{s:o*, s:o*}", "usage", usage, "throttling", throttling);
}

/* {limit, usage, max, failcnt} from PREFIX.{usage_in_bytes,...}. */
static json_t *memory_entry(const char *dir, const char *prefix)
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
		husk_cgstat_value(dir, file, &v);
		if (files[i].always)
			husk_cgstat_set_int(e, files[i].key, v);
		else
			husk_cgstat_set_opt(e, files[i].key, v);
	}
	return e;
}

static json_t *stats_memory(const char *dir)
{
	cleanup_json json_t *raw = NULL;
	json_t *m;

	if (dir == NULL)
		return json_object();
	raw = husk_cgstat_keyed(dir, "memory.stat");
	m = json_pack("{s:o*, s:o*, s:o*, s:o*}", "usage", memory_entry(dir, "memory"), "swap",
		      memory_entry(dir, "memory.memsw"), "kernel", memory_entry(dir, "memory.kmem"),
		      "kernelTCP", memory_entry(dir, "memory.kmem.tcp"));
	if (m)
		husk_cgstat_set_opt(m, "cache", husk_cgstat_key(raw, "cache"));
	if (m && json_object_size(raw) > 0)
		json_object_set(m, "raw", raw);
	return m;
}

/* "MAJ:MIN Op value" lines (the closing "Total N" has no device), from the
 * first of the files there is. */
static json_t *blkio_list(const char *dir, const char *const *files, size_t n)
{
	cleanup_free char *text = NULL;
	json_t *list;
	char *save = NULL;

	for (size_t i = 0; text == NULL && i < n; i++)
		text = husk_cgstat_read(dir, files[i]);
	if (text == NULL || (list = json_array()) == NULL)
		return NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned major, minor;
		char op[32];
		unsigned long long v;
		if (sscanf(l, "%u:%u %31s %llu", &major, &minor, op, &v) == 4)
			json_array_append_new(
			    list,
			    husk_cgstat_blkio_entry(major, minor, op, (int64_t)(v & INT64_MAX)));
	}
	return list;
}

static json_t *stats_blkio(const char *dir)
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
		husk_cgstat_set_list(b, "ioServiceBytesRecursive", blkio_list(dir, bytes, 3));
		husk_cgstat_set_list(b, "ioServicedRecursive", blkio_list(dir, ios, 3));
	}
	return b;
}

static json_t *hugetlb_entry(const char *dir, const char *size)
{
	char file[96];
	int64_t usage = 0, max = 0, failcnt = 0;
	json_t *e;

	snprintf(file, sizeof(file), "hugetlb.%s.usage_in_bytes", size);
	if (husk_cgstat_value(dir, file, &usage) < 0)
		return NULL;
	snprintf(file, sizeof(file), "hugetlb.%s.max_usage_in_bytes", size);
	husk_cgstat_value(dir, file, &max);
	snprintf(file, sizeof(file), "hugetlb.%s.failcnt", size);
	husk_cgstat_value(dir, file, &failcnt);
	e = json_pack("{s:I}", "failcnt", (json_int_t)failcnt);
	if (e) {
		husk_cgstat_set_opt(e, "usage", usage);
		husk_cgstat_set_opt(e, "max", max);
	}
	return e;
}

static int v1_stats(const struct husk_cgroup *cg, json_t **ret, husk_error **err)
{
	if (cg->n == 0)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "the container has no cgroup");
	return husk_cgstat_assemble(
	    stats_cpu(cg), stats_memory(v1_dir_for(cg, "memory")),
	    husk_cgstat_pids(v1_dir_for(cg, "pids")), stats_blkio(v1_dir_for(cg, "blkio")),
	    husk_cgstat_hugetlb(v1_dir_for(cg, "hugetlb"), hugetlb_entry), ret, err);
}

static int v1_oom_count(const struct husk_cgroup *cg, uint64_t *ret)
{
	return husk_cgstat_oom_kills(v1_dir_for(cg, "memory"), "memory.oom_control", ret);
}

/* ---- linux.resources as v1 files ---- */

#define MEM   HUSK_RES_MEMORY
#define CPU   HUSK_RES_CPU
#define BLKIO HUSK_RES_BLKIO

static int plan_memory(struct husk_cgroup_plan *p, const struct husk_res_memory *m)
{
	unsigned check = m->check == 1 ? HUSK_CGW_CHECK_USAGE : 0;
	bool memsw = m->swap != 0 || m->limit == -1;

	/* memsw must stay >= the limit: the plan writes the limit first and,
	 * when that raises it above the old memsw, memsw before it. */
	if (m->limit != 0 &&
	    husk_plan_add(husk_plan_at(p, MEM, "limit"), "memory", "memory.limit_in_bytes",
			  check | (memsw ? HUSK_CGW_RETRY_AFTER_NEXT : 0), "%" PRId64,
			  m->limit) < 0)
		return -1;
	if (m->swap != 0 &&
	    husk_plan_add(husk_plan_at(p, MEM, "swap"), "memory", "memory.memsw.limit_in_bytes", 0,
			  "%" PRId64, m->swap) < 0)
		return -1;
	/* Unlimited memory with swap unset: memory+swap unlimited too, where
	 * swap accounting exists. */
	if (m->swap == 0 && m->limit == -1 &&
	    husk_plan_add(husk_plan_at(p, MEM, "limit"), "memory", "memory.memsw.limit_in_bytes",
			  HUSK_CGW_OPTIONAL, "-1") < 0)
		return -1;
	if (m->reservation != 0 &&
	    husk_plan_add(husk_plan_at(p, MEM, "reservation"), "memory",
			  "memory.soft_limit_in_bytes", 0, "%" PRId64, m->reservation) < 0)
		return -1;
	if (m->kernel_tcp != 0 &&
	    husk_plan_add(husk_plan_at(p, MEM, "kernelTCP"), "memory",
			  "memory.kmem.tcp.limit_in_bytes", 0, "%" PRId64, m->kernel_tcp) < 0)
		return -1;
	if (m->swappiness >= 0 &&
	    husk_plan_add(husk_plan_at(p, MEM, "swappiness"), "memory", "memory.swappiness", 0,
			  "%" PRId64, m->swappiness) < 0)
		return -1;
	if (m->disable_oom >= 0 && husk_plan_add(husk_plan_at(p, MEM, "disableOOMKiller"), "memory",
						 "memory.oom_control", 0, "%d", m->disable_oom) < 0)
		return -1;
	if (m->use_hierarchy >= 0 &&
	    husk_plan_add(husk_plan_at(p, MEM, "useHierarchy"), "memory", "memory.use_hierarchy", 0,
			  "%d", m->use_hierarchy) < 0)
		return -1;
	return 0;
}

static int plan_cpu(struct husk_cgroup_plan *p, const struct husk_res_cpu *c)
{
	/* Period before quota (and rt period before rt runtime) like runc; a
	 * period the kernel refuses with the old quota is retried after it. */
	if (c->period != 0 &&
	    husk_plan_add(husk_plan_at(p, CPU, "period"), "cpu", "cpu.cfs_period_us",
			  c->quota ? HUSK_CGW_RETRY_AFTER_NEXT : 0, "%" PRId64, c->period) < 0)
		return -1;
	if (c->quota != 0 && husk_plan_add(husk_plan_at(p, CPU, "quota"), "cpu", "cpu.cfs_quota_us",
					   0, "%" PRId64, c->quota) < 0)
		return -1;
	if (c->has_burst && husk_plan_add(husk_plan_at(p, CPU, "burst"), "cpu", "cpu.cfs_burst_us",
					  0, "%" PRId64, c->burst) < 0)
		return -1;
	if (c->rt_period != 0 &&
	    husk_plan_add(husk_plan_at(p, CPU, "realtimePeriod"), "cpu", "cpu.rt_period_us",
			  c->rt_runtime ? HUSK_CGW_RETRY_AFTER_NEXT : 0, "%" PRId64,
			  c->rt_period) < 0)
		return -1;
	if (c->rt_runtime != 0 &&
	    husk_plan_add(husk_plan_at(p, CPU, "realtimeRuntime"), "cpu", "cpu.rt_runtime_us", 0,
			  "%" PRId64, c->rt_runtime) < 0)
		return -1;
	return husk_plan_cpu_weight_idle(p, c, "cpu.shares", (uint64_t)c->shares);
}

/* Without CFQ (kernels >= 5.0) only BFQ's weight files are there. */
static int plan_blkio_weight(struct husk_cgroup_plan *p, int64_t weight, int64_t leaf)
{
	if (weight != 0 && (husk_plan_add(husk_plan_at(p, BLKIO, "weight"), "blkio", "blkio.weight",
					  0, "%" PRId64, weight) < 0 ||
			    husk_plan_add_alt(p, "blkio.bfq.weight") < 0))
		return -1;
	if (leaf != 0 && husk_plan_add(husk_plan_at(p, BLKIO, "leafWeight"), "blkio",
				       "blkio.leaf_weight", 0, "%" PRId64, leaf) < 0)
		return -1;
	return 0;
}

static int plan_blkio_weight_device(struct husk_cgroup_plan *p, const char *prefix,
				    const struct husk_res_weight_device *d)
{
	if (d->has_weight &&
	    (husk_plan_add(husk_plan_at(p, prefix, "weight"), "blkio", "blkio.weight_device", 0,
			   "%" PRId64 ":%" PRId64 " %" PRId64, d->major, d->minor, d->weight) < 0 ||
	     husk_plan_add_alt(p, "blkio.bfq.weight_device") < 0))
		return -1;
	if (d->has_leaf &&
	    husk_plan_add(husk_plan_at(p, prefix, "leafWeight"), "blkio",
			  "blkio.leaf_weight_device", 0, "%" PRId64 ":%" PRId64 " %" PRId64,
			  d->major, d->minor, d->leaf) < 0)
		return -1;
	return 0;
}

static int plan_blkio_throttle(struct husk_cgroup_plan *p, enum husk_res_throttle t, int64_t major,
			       int64_t minor, int64_t rate)
{
	static const char *const files[] = {
	    [HUSK_THROTTLE_READ_BPS] = "blkio.throttle.read_bps_device",
	    [HUSK_THROTTLE_WRITE_BPS] = "blkio.throttle.write_bps_device",
	    [HUSK_THROTTLE_READ_IOPS] = "blkio.throttle.read_iops_device",
	    [HUSK_THROTTLE_WRITE_IOPS] = "blkio.throttle.write_iops_device",
	};

	return husk_plan_add(p, "blkio", files[t], 0, "%" PRId64 ":%" PRId64 " %" PRId64, major,
			     minor, rate);
}

static int plan_hugepage(struct husk_cgroup_plan *p, const char *size, int64_t limit)
{
	char file[96], rsvd[96];

	snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", size);
	snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.limit_in_bytes", size);
	/* Reservations are limited alike where the kernel has them (5.7+). */
	if (husk_plan_add(p, "hugetlb", file, 0, "%" PRId64, limit) < 0 ||
	    husk_plan_add(p, "hugetlb", rsvd, HUSK_CGW_OPTIONAL, "%" PRId64, limit) < 0)
		return -1;
	return 0;
}

static int plan_net_classid(struct husk_cgroup_plan *p, int64_t classid)
{
	return husk_plan_add(p, "net_cls", "net_cls.classid", 0, "%" PRId64, classid);
}

static int plan_net_priority(struct husk_cgroup_plan *p, const char *ifname, int64_t priority)
{
	return husk_plan_add(p, "net_prio", "net_prio.ifpriomap", 0, "%s %" PRId64, ifname,
			     priority);
}

static int plan_unified(struct husk_cgroup_plan *p, json_t *unified)
{
	if (json_object_size(unified) > 0)
		return husk_error_fail(p->err, HUSK_ERR_UNSUPPORTED,
				       HUSK_RES_UNIFIED ": needs cgroup v2 (this host has v1)");
	return 0;
}

static const struct husk_cgroup_planner v1_planner = {
    .name = "cgroup v1",
    .memory_usage = "memory.usage_in_bytes",
    .memory = plan_memory,
    .cpu = plan_cpu,
    .blkio_weight = plan_blkio_weight,
    .blkio_weight_device = plan_blkio_weight_device,
    .blkio_throttle = plan_blkio_throttle,
    .hugepage = plan_hugepage,
    .net_classid = plan_net_classid,
    .net_priority = plan_net_priority,
    .unified = plan_unified,
};

static int v1_apply(const struct husk_cgroup *cg, json_t *resources, husk_error **err)
{
	return husk_cgroupfs_apply(cg, resources, NULL, err);
}

const struct husk_cgroup_ops husk_cgroup_v1_ops = {
    .name = "cgroupfs-v1",
    .state_version = 1,
    /* The init moves itself: "tasks" spares the global threadgroup lock. */
    .init_joins_itself = true,
    .planner = &v1_planner,
    .create = v1_create,
    .destroy = husk_cgroupfs_destroy,
    .save = husk_cgroupfs_save,
    .load = husk_cgroupfs_load,
    .enter = v1_enter,
    .enter_self = v1_enter_self,
    .apply = v1_apply,
    .apply_devices = v1_apply_devices,
    .devices_restricted = v1_devices_restricted,
    .dir_for = v1_dir_for,
    .unified_dir = v1_unified_dir,
    .kill = husk_cgroupfs_kill,
    .pids = husk_cgroupfs_pids,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
    .stats = v1_stats,
    .oom_count = v1_oom_count,
};
