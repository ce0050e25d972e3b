/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Cgroups behind one interface, for the unified (v2) hierarchy and the legacy
 * (v1) one-hierarchy-per-controller layout. The layout is read from the
 * filesystem types mounted at /sys/fs/cgroup, never guessed from paths.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum husk_cgroup_layout {
	HUSK_CGROUP_NONE = 0,
	HUSK_CGROUP_V1 = 1,	 /* tmpfs at /sys/fs/cgroup with v1 hierarchies (maybe hybrid) */
	HUSK_CGROUP_UNIFIED = 2, /* cgroup2 at /sys/fs/cgroup */
};

int husk_cgroup_layout(void);

struct husk_cgroup_dir {
	char *name;  /* v1: the hierarchy's controllers ("cpu,cpuacct"); v2: "unified" */
	char *dir;   /* absolute directory, e.g. /sys/fs/cgroup/memory/husk-ID */
	int created; /* how many trailing path components we created (and remove) */
};

struct husk_cgroup {
	int version; /* 1 or 2; 0 when the container has no cgroup (rootless v1) */
	size_t n;
	struct husk_cgroup_dir *dirs;
};

json_t *husk_cgroup_to_json(const struct husk_cgroup *cg);
int husk_cgroup_from_json(json_t *o, struct husk_cgroup *ret, husk_error **err);
/* The directory of one v1 controller ("memory", "freezer"), or the unified
 * directory on v2; NULL when the container has none. */
const char *husk_cgroup_dir_for(const struct husk_cgroup *cg, const char *controller);

/*
 * Resolves linux.cgroupsPath: absolute paths are taken from the hierarchy
 * root, relative ones below the runtime's own cgroup, and an empty one is
 * "husk/ID" below the runtime's own cgroup. Creates the directories.
 */
int husk_cgroup_create(const char *cgroups_path, const char *id, bool rootless,
		       struct husk_cgroup *ret, husk_error **err);
int husk_cgroup_enter(const struct husk_cgroup *cg, pid_t pid, husk_error **err);
/* Moves the calling (single-threaded) process in, from inside: on v1,
 * writing "0" to each hierarchy's "tasks" moves only the caller, which spares
 * the global threadgroup lock (and its RCU grace period, several ms) that a
 * write of another pid to cgroup.procs takes. A hybrid host's unified
 * directory has no "tasks": cgroup.procs there, unless skip_v2 (the caller
 * was cloned into it). Returns -ENOTSUP on v2. */
int husk_cgroup_enter_self(const struct husk_cgroup *cg, bool skip_v2, husk_error **err);
/* The container's directory in a cgroup2 hierarchy: the only one on v2, the
 * one under /sys/fs/cgroup/unified on a hybrid host; NULL otherwise. A
 * process cloned with CLONE_INTO_CGROUP into it starts there. */
const char *husk_cgroup_v2_dir(const struct husk_cgroup *cg);
/* fork(), or clone(2) with namespace FLAGS, with the child starting in the
 * container's v2 cgroup where it can (clone3 with CLONE_INTO_CGROUP, 5.7):
 * then nobody has to move it there. A move takes the global threadgroup lock
 * for writing, whose RCU grace period costs several ms, often more than the
 * rest of a container's start. *born_in says which it was (in both parent
 * and child). Returns as fork() does. */
pid_t husk_cgroup_clone(const struct husk_cgroup *cg, int flags, bool *born_in);
/* Kills every process in the container at once through cgroup.kill (5.14).
 * 0, or -ENOTSUP without a v2 directory or that file, or -errno. */
int husk_cgroup_kill(const struct husk_cgroup *cg);
/*
 * Applies linux.resources (may be NULL), before the container process joins
 * or on a running container (update). On v2 first enables the controllers the
 * settings need in cgroup.subtree_control of every ancestor below the
 * hierarchy root (adding only, never removing; cpu, io, memory and pids are
 * also enabled where available, best effort, for stats). Devices, deny by
 * default: resources.devices with the default allow list merged in after its
 * last deny-all rule; without resources.devices, a cgroup not restricted yet
 * (a new container) gets the default list and one already restricted (an
 * update) is left alone. Nodes of linux.devices are not allowed by this: see
 * husk_cgroup_device_rules_for_nodes().
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
 * "pids", "blkio", "hugetlb"}, with what the files of this cgroup version
 * provide. "max" (unlimited) reads as INT64_MAX. */
int husk_cgroup_stats(const struct husk_cgroup *cg, json_t **ret, husk_error **err);
/* How many times the OOM killer fired in the container (oom_kill of
 * memory.oom_control on v1, memory.events on v2). 0 or -errno. */
int husk_cgroup_oom_count(const struct husk_cgroup *cg, uint64_t *ret);
/* Kills what is left inside and removes the directories we created. */
int husk_cgroup_destroy(const struct husk_cgroup *cg, husk_error **err);
void husk_cgroup_clear(struct husk_cgroup *cg);

/* All pids in the container's cgroup. */
int husk_cgroup_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err);
int husk_cgroup_freeze(const struct husk_cgroup *cg, bool frozen, husk_error **err);
bool husk_cgroup_is_frozen(const struct husk_cgroup *cg);
