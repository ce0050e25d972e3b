/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A container's cgroup, behind one interface. Each way of managing it is a
 * backend, in its own file, with a const table of operations
 * (struct husk_cgroup_ops, cgroup_backend.h):
 *
 *   cgroup_v1.c    cgroupfs, legacy layout: a hierarchy per controller under
 *                  a tmpfs at /sys/fs/cgroup; on a "hybrid" host (cgroup2 at
 *                  /sys/fs/cgroup/unified) a directory there too
 *   cgroup_v2.c    cgroupfs, unified layout: cgroup2 at /sys/fs/cgroup
 *   cgroup_none.c  no cgroup: a rootless container without a delegated
 *                  subtree, or a host without cgroups
 *
 * Callers hold a struct husk_cgroup and call the husk_cgroup_* functions
 * below, which dispatch through cg->ops (cgroup.c); no caller asks which
 * backend or cgroup version it has. A zeroed struct husk_cgroup is "none".
 * husk_cgroup_create() picks the backend for the host (from the filesystem
 * types mounted at /sys/fs/cgroup, never guessed from paths) and falls back
 * to none when a rootless user may not create one; the state records the
 * backend's name and husk_cgroup_from_json() finds it again (state written
 * before there were backends has only "version": 0, 1 or 2).
 *
 * Adding a backend (systemd, say: a scope unit in a slice):
 *  - cgroup_systemd.c defines `const struct husk_cgroup_ops
 *    husk_cgroup_systemd_ops` with every operation set (none may be NULL)
 *    and a name of its own, which is what its state is found by;
 *  - cgroup.c lists it in `backends` (for from_json) and chooses it in
 *    husk_cgroup_create() (the runtime's --systemd-cgroup would be passed
 *    there in struct husk_cgroup_config, with linux.cgroupsPath as
 *    "slice:prefix:name" for the backend to parse);
 *  - what is the same as cgroupfs on the directories it ends up with (stats,
 *    pids, the freezer, kill) it reuses by calling the cgroupfs backend's
 *    operations or the husk_cgroupfs_* helpers; its own are create and
 *    destroy (start and stop the unit), enter (the unit's PIDs) and apply
 *    (unit properties, then the cgroupfs writes of husk_cgroupfs_apply()).
 *    Extra state (the unit name) goes in struct husk_cgroup, saved by its
 *    save/load operations and freed by husk_cgroup_clear().
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* What /sys/fs/cgroup holds on this host. */
enum husk_cgroup_layout {
	HUSK_CGROUP_NONE = 0,
	HUSK_CGROUP_V1 = 1,	 /* tmpfs at /sys/fs/cgroup with v1 hierarchies (maybe hybrid) */
	HUSK_CGROUP_UNIFIED = 2, /* cgroup2 at /sys/fs/cgroup */
};

int husk_cgroup_layout(void);

struct husk_cgroup_ops;

struct husk_cgroup_dir {
	char *name;  /* v1: the hierarchy's controllers ("cpu,cpuacct"); cgroup2: "unified" */
	char *dir;   /* absolute directory, e.g. /sys/fs/cgroup/memory/husk-ID */
	int created; /* how many trailing path components we created (and remove) */
};

struct husk_cgroup {
	const struct husk_cgroup_ops *ops; /* the backend; NULL is none */
	size_t n;
	struct husk_cgroup_dir *dirs;
};

/*
 * Resolves linux.cgroupsPath: absolute paths are taken from the hierarchy
 * root, relative ones below the runtime's own cgroup, and an empty one is
 * "husk-ID" below the runtime's own cgroup. Creates the directories, with
 * the backend this host has; rootless, when that is not permitted, the
 * container gets none (the caller warns).
 */
int husk_cgroup_create(const char *cgroups_path, const char *id, bool rootless,
		       struct husk_cgroup *ret, husk_error **err);
/* The same, calling save(ret, arg, err) once before any directory is made,
 * with all of them already in ret (counted as made), and again after only
 * if a count changed: what save records lets a delete after a kill at any
 * point of the create find and remove them. */
typedef int husk_cgroup_save_fn(const struct husk_cgroup *cg, void *arg, husk_error **err);
int husk_cgroup_create_saving(const char *cgroups_path, const char *id, bool rootless,
			      husk_cgroup_save_fn *save, void *arg, struct husk_cgroup *ret,
			      husk_error **err);
/* Whether the container runs without a cgroup (the none backend). */
bool husk_cgroup_is_none(const struct husk_cgroup *cg);

/* The cgroup as recorded in the state, and back. */
json_t *husk_cgroup_to_json(const struct husk_cgroup *cg);
int husk_cgroup_from_json(json_t *o, struct husk_cgroup *ret, husk_error **err);
void husk_cgroup_clear(struct husk_cgroup *cg);

/* The directory of one controller ("memory", "freezer"), NULL when the
 * container has none. */
const char *husk_cgroup_dir_for(const struct husk_cgroup *cg, const char *controller);
/* The container's directory in a cgroup2 hierarchy: the only one on v2, the
 * one under /sys/fs/cgroup/unified on a hybrid host; NULL otherwise. A
 * process cloned with CLONE_INTO_CGROUP into it starts there. */
const char *husk_cgroup_v2_dir(const struct husk_cgroup *cg);
/* The directory that is the container's whole cgroup, when that is one
 * cgroup2 directory (v2): the container's /sys/fs/cgroup shows it alone.
 * NULL when the cgroup is a set of hierarchies (v1, hybrid) or none: its
 * /sys/fs/cgroup is then a tmpfs with a directory per entry of dirs. */
const char *husk_cgroup_unified_dir(const struct husk_cgroup *cg);

/*
 * Joining. Moving another process into a cgroup takes the global threadgroup
 * lock for writing, whose RCU grace period costs several ms: where the
 * backend can, the new init moves itself (on v1, "0" to each hierarchy's
 * "tasks" moves only the caller, sparing that lock), or is cloned into its
 * cgroup2 directory. born_in: the process was cloned into
 * husk_cgroup_v2_dir() (husk_cgroup_clone()).
 */
/* Moves pid into every directory (cgroup.procs). */
int husk_cgroup_enter(const struct husk_cgroup *cg, pid_t pid, husk_error **err);
/* The runtime's part of moving a new container init in, after the clone:
 * nothing where the init moves itself (husk_cgroup_enter_as_init). */
int husk_cgroup_enter_child(const struct husk_cgroup *cg, pid_t pid, bool born_in,
			    husk_error **err);
/* The init's part, before it forks and while its kuid is still the
 * runtime's: nothing where the runtime moved it. */
int husk_cgroup_enter_as_init(const struct husk_cgroup *cg, bool born_in, husk_error **err);
/* Moves the calling (single-threaded) process in wholly (exec). */
int husk_cgroup_enter_self(const struct husk_cgroup *cg, bool born_in, husk_error **err);
/* fork(), or clone(2) with namespace FLAGS, with the child starting in the
 * container's cgroup2 directory where it can (clone3 with CLONE_INTO_CGROUP,
 * 5.7): then nobody has to move it there. *born_in says which it was (in
 * both parent and child). Returns as fork() does. */
pid_t husk_cgroup_clone(const struct husk_cgroup *cg, int flags, bool *born_in);

/*
 * Applies linux.resources (may be NULL), before the container process joins
 * or on a running container (update). Each backend turns it into its own
 * files (cgroup_resources.h). On v2 first enables the controllers the
 * settings need in cgroup.subtree_control of every ancestor below the
 * hierarchy root (adding only, never removing; cpu, io, memory and pids are
 * also enabled where available, best effort, for stats). Devices, deny by
 * default: resources.devices with the default allow list merged in after its
 * last deny-all rule; without resources.devices, a cgroup not restricted yet
 * (a new container) gets the default list and one already restricted (an
 * update) is left alone. Nodes of linux.devices are not allowed by this: see
 * husk_cgroup_device_rules_for_nodes(). Nothing to do without a cgroup.
 */
int husk_cgroup_apply(const struct husk_cgroup *cg, json_t *resources, husk_error **err);
/* Device rules (linux.resources.devices), later rules winning: v1
 * devices.deny/devices.allow, v2 an eBPF program attached to the directory
 * (replacing the one attached before, for update). default_deny: deny what no
 * rule matches. Not being allowed to load eBPF as non-root is not an error
 * (a rootless container cannot reach more devices than its user). */
int husk_cgroup_apply_devices(const struct husk_cgroup *cg, json_t *rules, bool default_deny,
			      husk_error **err);
/* The runtime's default device rules, as runc and Docker have them: deny all,
 * then mknod of any char/block device and rwm of null, zero, full, random,
 * urandom, tty, console (5:1), ptmx (5:2) and pts (136:*). */
json_t *husk_cgroup_default_device_rules(void);
/* Allow rules (rwm) for the nodes of linux.devices, which runc lets the
 * container use: a caller appends them to linux.resources.devices before
 * husk_cgroup_apply() at create. Entries without a b/c/u type are skipped
 * (fifos need no rule); NULL only when out of memory. */
json_t *husk_cgroup_device_rules_for_nodes(json_t *linux_devices);

/* Usage in the shape of runc's `events --stats` data: {"cpu", "memory",
 * "pids", "blkio", "hugetlb"}, with what the files of this cgroup provide.
 * "max" (unlimited) reads as INT64_MAX. */
int husk_cgroup_stats(const struct husk_cgroup *cg, json_t **ret, husk_error **err);
/* How many times the OOM killer fired in the container (oom_kill of
 * memory.oom_control on v1, memory.events on v2). 0 or -errno. */
int husk_cgroup_oom_count(const struct husk_cgroup *cg, uint64_t *ret);
/* All pids in the container's cgroup. */
int husk_cgroup_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err);
/* Kills every process in the container at once through cgroup.kill (5.14).
 * 0, or -ENOTSUP without a cgroup2 directory or that file, or -errno. */
int husk_cgroup_kill(const struct husk_cgroup *cg);
int husk_cgroup_freeze(const struct husk_cgroup *cg, bool frozen, husk_error **err);
bool husk_cgroup_is_frozen(const struct husk_cgroup *cg);
/* Kills what is left inside and removes what was created, never more (a
 * directory that existed before stays). */
int husk_cgroup_destroy(const struct husk_cgroup *cg, husk_error **err);
