/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The interface a cgroup backend implements (see cgroup.h for the list and
 * for how one is added), and what the cgroupfs backends share: the helpers
 * of cgroup_fs.c and the reading of linux.resources (cgroup_resources.c),
 * which hands each setting, parsed and checked, to the backend's planner.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "cgroup_resources.h"
#include "error.h"

#define HUSK_CGROUP_ROOT "/sys/fs/cgroup"

/* What creating a container's cgroup starts from. */
struct husk_cgroup_config {
	const char *path; /* linux.cgroupsPath; NULL or "" for the default */
	const char *id;	  /* the container's id */
	bool rootless;
	husk_cgroup_save_fn *save; /* before each mkdir (husk_cgroup_create_saving), or NULL */
	void *save_arg;
};

struct husk_cgroup_planner;

/*
 * A backend. Every member is set. Another backend may reuse an operation by
 * calling it on its own cg (a systemd backend: husk_cgroup_v2_ops.stats(cg,
 * ...)): the shared cgroupfs code asks cg->ops only what each backend
 * answers for itself (its planner, dir_for, devices_restricted,
 * apply_devices).
 */
struct husk_cgroup_ops {
	/* Recorded in the state as "backend": how husk_cgroup_from_json()
	 * finds these operations again. */
	const char *name;
	/* Recorded as "version" (0 none, 1, 2), which state written before
	 * backends existed has alone, and older husk reads. */
	int state_version;
	/* Whether a new container's init moves itself in (enter_self, from
	 * inside, before it forks) instead of the runtime moving it (enter). */
	bool init_joins_itself;
	/* How linux.resources becomes this hierarchy's files (NULL: none). */
	const struct husk_cgroup_planner *planner;

	/* Makes the cgroup of cfg in cg (zeroed, ops set). On failure cg holds
	 * what was made so far: destroy removes it. */
	int (*create)(struct husk_cgroup *cg, const struct husk_cgroup_config *cfg,
		      husk_error **err);
	/* Kills what is left inside and removes what create made. */
	int (*destroy)(const struct husk_cgroup *cg, husk_error **err);
	/* Adds the backend's own members to the state object o, and reads
	 * them back into cg (zeroed, ops set; cleared on failure). */
	int (*save)(const struct husk_cgroup *cg, json_t *o);
	int (*load)(json_t *o, struct husk_cgroup *cg, husk_error **err);

	/* Moves pid in from outside; born_in: it was cloned into
	 * husk_cgroup_v2_dir(). */
	int (*enter)(const struct husk_cgroup *cg, pid_t pid, bool born_in, husk_error **err);
	/* Moves the calling single-threaded process in. */
	int (*enter_self)(const struct husk_cgroup *cg, bool born_in, husk_error **err);

	/* linux.resources: husk_cgroupfs_apply() for cgroupfs. */
	int (*apply)(const struct husk_cgroup *cg, json_t *resources, husk_error **err);
	int (*apply_devices)(const struct husk_cgroup *cg, json_t *rules, bool default_deny,
			     husk_error **err);
	/* Whether device access is restricted already (see cgroup_resources.h). */
	bool (*devices_restricted)(const struct husk_cgroup *cg);

	/* The directory of a controller; controller NULL: of cgroup.* files. */
	const char *(*dir_for)(const struct husk_cgroup *cg, const char *controller);
	const char *(*unified_dir)(const struct husk_cgroup *cg);
	int (*kill)(const struct husk_cgroup *cg);
	int (*pids)(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err);
	int (*freeze)(const struct husk_cgroup *cg, bool frozen, husk_error **err);
	bool (*is_frozen)(const struct husk_cgroup *cg);
	int (*stats)(const struct husk_cgroup *cg, json_t **ret, husk_error **err);
	int (*oom_count)(const struct husk_cgroup *cg, uint64_t *ret);
};

extern const struct husk_cgroup_ops husk_cgroup_v1_ops;
extern const struct husk_cgroup_ops husk_cgroup_v2_ops;
extern const struct husk_cgroup_ops husk_cgroup_none_ops;

/* ---- linux.resources, parsed (cgroup_resources.c) ---- */

#define HUSK_RES	 "linux.resources"
#define HUSK_RES_MEMORY	 HUSK_RES ".memory"
#define HUSK_RES_CPU	 HUSK_RES ".cpu"
#define HUSK_RES_BLKIO	 HUSK_RES ".blockIO"
#define HUSK_RES_NETWORK HUSK_RES ".network"
#define HUSK_RES_UNIFIED HUSK_RES ".unified"

/* Values of 0 leave a setting alone (see husk_cgroup_plan); -1 flags are
 * absent. */
struct husk_res_memory {
	int64_t limit, reservation, swap, kernel_tcp, swappiness;
	int disable_oom, use_hierarchy, check;
};

struct husk_res_cpu {
	int64_t shares, quota, period, burst, rt_runtime, rt_period, idle;
	bool has_burst, has_idle;
	const char *cpus, *mems;
};

struct husk_res_weight_device {
	int64_t major, minor, weight, leaf;
	bool has_weight, has_leaf;
};

enum husk_res_throttle {
	HUSK_THROTTLE_READ_BPS,
	HUSK_THROTTLE_WRITE_BPS,
	HUSK_THROTTLE_READ_IOPS,
	HUSK_THROTTLE_WRITE_IOPS,
};

/* A plan being built: the writes so far and the field they come from. */
struct husk_cgroup_plan {
	const struct husk_cgroup_planner *planner;
	struct husk_cgroup_write *w;
	size_t n;
	char field[256];
	husk_error **err;
};

/*
 * How a hierarchy's files express linux.resources. Settings whose files are
 * the same everywhere (pids.max, cpuset.*, rdma.max) are planned by
 * cgroup_resources.c itself. Errors name the field.
 */
struct husk_cgroup_planner {
	const char *name;	  /* for "...: not supported on cgroup v2" */
	const char *memory_usage; /* what memory.checkBeforeUpdate compares with */
	int (*memory)(struct husk_cgroup_plan *p, const struct husk_res_memory *m);
	/* Everything of linux.resources.cpu but cpus and mems. */
	int (*cpu)(struct husk_cgroup_plan *p, const struct husk_res_cpu *c);
	int (*blkio_weight)(struct husk_cgroup_plan *p, int64_t weight, int64_t leaf);
	/* prefix: the entry's field, "linux.resources.blockIO.weightDevice[0]" */
	int (*blkio_weight_device)(struct husk_cgroup_plan *p, const char *prefix,
				   const struct husk_res_weight_device *d);
	int (*blkio_throttle)(struct husk_cgroup_plan *p, enum husk_res_throttle t, int64_t major,
			      int64_t minor, int64_t rate);
	int (*hugepage)(struct husk_cgroup_plan *p, const char *size, int64_t limit);
	/* NULL where the hierarchy has no such controller: a spec setting it is
	 * refused. */
	int (*net_classid)(struct husk_cgroup_plan *p, int64_t classid);
	int (*net_priority)(struct husk_cgroup_plan *p, const char *ifname, int64_t priority);
	/* linux.resources.unified, an object (maybe empty). */
	int (*unified)(struct husk_cgroup_plan *p, json_t *unified);
};

/* Sets the field the next writes come from ("prefix.key", or prefix). */
struct husk_cgroup_plan *husk_plan_at(struct husk_cgroup_plan *p, const char *prefix,
				      const char *key);
/* Appends a write of the formatted value. */
int husk_plan_add(struct husk_cgroup_plan *p, const char *controller, const char *file,
		  unsigned flags, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The last write gets a file to fall back on when its own is missing. */
int husk_plan_add_alt(struct husk_cgroup_plan *p, const char *alt_file);
/* "prefix.key: not supported on <planner name>" (kind unsupported). */
int husk_plan_unsupported(struct husk_cgroup_plan *p, const char *prefix, const char *key);
/* v as a number, or `unlimited` when it is negative. */
const char *husk_plan_limit(char buf[32], int64_t v, const char *unlimited);
/* cpu.shares or cpu.weight (retried after cpu.idle), then cpu.idle. */
int husk_plan_cpu_weight_idle(struct husk_cgroup_plan *p, const struct husk_res_cpu *c,
			      const char *weight_file, uint64_t weight);

/*
 * apply for cgroupfs: the backend's plan, the default device rules where
 * needed, prepare (may be NULL: v2 enables controllers there), the writes,
 * then the device rules. Nothing without directories.
 */
int husk_cgroupfs_apply(const struct husk_cgroup *cg, json_t *resources,
			int (*prepare)(const struct husk_cgroup *cg,
				       const struct husk_cgroup_write *w, size_t n,
				       husk_error **err),
			husk_error **err);

/* ---- the eBPF device filter (cgroup_devices.c) ---- */

/* Loads the program for the rules and attaches it to dir, replacing what was
 * attached; a rootless user not allowed to load it gets no filter. */
int husk_cgroup_devices_bpf_attach(const char *dir, json_t *rules, bool default_deny,
				   husk_error **err);
/* Whether a device program is attached to dir (true when it cannot be told). */
bool husk_cgroup_devices_bpf_attached(const char *dir);

/* ---- cgroupfs directories (cgroup_fs.c) ---- */

/* The runtime's own cgroup in the hierarchy whose /proc/self/cgroup entry
 * names these controllers ("" for cgroup2), or NULL. */
char *husk_cgroupfs_own_cgroup(const char *proc_cgroup, const char *names);
/* Adds the directory of cfg in the hierarchy mounted at mountpoint (as
 * `name`) to cg, not made yet. own: the runtime's own cgroup there. */
int husk_cgroupfs_plan_dir(struct husk_cgroup *cg, const char *name, const char *mountpoint,
			   const char *own, const struct husk_cgroup_config *cfg, husk_error **err);
/* cfg->save once, then makes every directory planned, counting the
 * components each made (v1 cpuset ones get their parent's cpus and mems). */
int husk_cgroupfs_make_planned(struct husk_cgroup *cg, const struct husk_cgroup_config *cfg,
			       husk_error **err);
/* Writes `what` (a pid, "0" for the caller) to DIR/FILE: cgroup.procs, tasks. */
int husk_cgroupfs_join(const char *dir, const char *file, const char *what, husk_error **err);
/* The first of the directories dir_for gives for pids, freezer, memory,
 * cpu; else the first one. */
int husk_cgroupfs_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err);
/* cgroup.kill of husk_cgroup_v2_dir(). */
int husk_cgroupfs_kill(const struct husk_cgroup *cg);
/* Empties the cgroup (cgroup.kill, then SIGKILL to what is listed) and
 * removes the components each directory's `created` counts. */
int husk_cgroupfs_destroy(const struct husk_cgroup *cg, husk_error **err);
/* "dirs": [{name, dir, created}] */
int husk_cgroupfs_save(const struct husk_cgroup *cg, json_t *o);
int husk_cgroupfs_load(json_t *o, struct husk_cgroup *cg, husk_error **err);

/* A freezer's files: v1 freezer.state, cgroup2 cgroup.freeze. */
struct husk_cgroupfs_freezer {
	const char *control;	     /* written with `frozen` or `thawed` */
	const char *frozen, *thawed; /* the values; the control file reads `frozen` when set */
	const char *report;	     /* read until it shows the state reached */
	bool (*reached)(const char *report, bool frozen);
	bool thaw_to_retry; /* a stalled freeze is thawed before trying again */
};
extern const struct husk_cgroupfs_freezer husk_cgroupfs_v2_freezer;
int husk_cgroupfs_freeze(const char *dir, const struct husk_cgroupfs_freezer *f, bool frozen,
			 husk_error **err);
bool husk_cgroupfs_is_frozen(const char *dir, const struct husk_cgroupfs_freezer *f);

/* ---- reading cgroup files for stats (cgroup_stats.c) ---- */

/* DIR/FILE's text, or NULL (also when dir is NULL). */
char *husk_cgstat_read(const char *dir, const char *file);
/* A number, or "max" as INT64_MAX (JSON integers are int64 here). */
int husk_cgstat_parse(const char *s, int64_t *ret);
/* A file holding one number: 0, or -1 when missing or not a number. */
int husk_cgstat_value(const char *dir, const char *file, int64_t *ret);
/* A flat-keyed file ("key value" lines: memory.stat, cpu.stat) as an object. */
json_t *husk_cgstat_keyed(const char *dir, const char *file);
int64_t husk_cgstat_key(json_t *o, const char *key);
/* Go's `omitempty`: zero values are left out. */
void husk_cgstat_set_opt(json_t *o, const char *key, int64_t v);
void husk_cgstat_set_int(json_t *o, const char *key, int64_t v);
/* Sets o.key to list unless it is empty; takes list. */
void husk_cgstat_set_list(json_t *o, const char *key, json_t *list);
json_t *husk_cgstat_blkio_entry(unsigned major, unsigned minor, const char *op, int64_t value);
json_t *husk_cgstat_pids(const char *dir);
/* {"2MB": entry(dir, "2MB"), ...} for the huge page sizes of this machine. */
json_t *husk_cgstat_hugetlb(const char *dir, json_t *(*entry)(const char *dir, const char *size));
/* The whole, from its parts (each taken; a NULL part is left out). */
int husk_cgstat_assemble(json_t *cpu, json_t *memory, json_t *pids, json_t *blkio, json_t *hugetlb,
			 json_t **ret, husk_error **err);
/* oom_kill of a flat-keyed file of dir: 0 or -ENOENT. */
int husk_cgstat_oom_kills(const char *dir, const char *file, uint64_t *ret);
