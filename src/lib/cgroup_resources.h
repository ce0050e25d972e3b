/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * linux.resources as data: husk_cgroup_plan() turns the OCI object into an
 * ordered list of cgroupfs writes for one backend's hierarchy without
 * touching the filesystem (the checking of the object is shared, the files
 * are each backend's: its planner, cgroup_backend.h), and
 * husk_cgroup_writes_exec() carries a list out. Devices have their own
 * translation (v1 devices.allow/deny lines, a v2 eBPF program).
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "error.h"

struct bpf_insn;
struct husk_cgroup_ops;

enum {
	/* Skip the write when the file does not exist (swap accounting off,
	 * no hugetlb reservations in this kernel). */
	HUSK_CGW_OPTIONAL = 1u << 0,
	/* Interdependent pair: when the kernel refuses this value with EINVAL,
	 * write the next entry first and then retry this one. Used for
	 * memory.limit_in_bytes/memsw (memsw must stay >= limit), cfs and rt
	 * period/quota and cpu.shares/cpu.idle, whose valid order depends on
	 * the values already in place. */
	HUSK_CGW_RETRY_AFTER_NEXT = 1u << 1,
	/* memory.checkBeforeUpdate: refuse a limit below the current usage. */
	HUSK_CGW_CHECK_USAGE = 1u << 2,
};

struct husk_cgroup_write {
	/* v1: the controller whose hierarchy holds the file ("memory", "cpu");
	 * v2: the controller that must be enabled in the parents'
	 * cgroup.subtree_control, NULL for core (cgroup.*) files. */
	char *controller;
	char *file;	/* e.g. "memory.limit_in_bytes", "memory.max" */
	char *alt_file; /* tried when `file` does not exist, or NULL */
	char *value;
	char *field; /* the config field, for errors: "linux.resources.memory.limit" */
	unsigned flags;
};

void husk_cgroup_writes_free(struct husk_cgroup_write *w, size_t n);

/* Appends one write (copies every string). Returns 0 or -ENOMEM. */
int husk_cgroup_write_append(struct husk_cgroup_write **w, size_t *n, const char *controller,
			     const char *file, const char *field, unsigned flags,
			     const char *value);

/*
 * Translates linux.resources (may be NULL) for the files of `backend`
 * (&husk_cgroup_v1_ops, &husk_cgroup_v2_ops) into the ordered writes that
 * apply it; a backend without files (none) refuses. Values of 0 for limits that the runtime
 * spec types as unsigned or that runc treats as "unset" (memory.limit,
 * memory.swap, memory.reservation, cpu.shares, cpu.quota, cpu.period,
 * blockIO.weight) leave the setting alone. Devices are not part of the plan
 * (see husk_cgroup_devices_v1_plan and husk_cgroup_devices_bpf). Errors name
 * the field. On success *ret (NULL when empty) and *ret_n are set.
 */
int husk_cgroup_plan(const struct husk_cgroup_ops *backend, json_t *resources,
		     struct husk_cgroup_write **ret, size_t *ret_n, husk_error **err);

/* Whether linux.resources (may be NULL) sets any limit a cgroup would
 * enforce: devices rules and values that mean "unset" do not count. */
bool husk_cgroup_resources_limit_anything(json_t *resources);

/* Carries out the writes in order, each into the directory the backend has
 * for its controller (v1: that hierarchy's; v2: the one directory). Does not
 * enable v2 controllers: husk_cgroup_apply() does that first. */
int husk_cgroup_writes_exec(const struct husk_cgroup *cg, const struct husk_cgroup_write *w,
			    size_t n, husk_error **err);

/* v1 → v2 conversions, as runc and crun do them. */
uint64_t husk_cgroup_cpu_shares_to_weight(uint64_t shares);
uint64_t husk_cgroup_blkio_weight_to_io_weight(uint64_t weight);
/* OCI memory.swap is memory+swap; v2 memory.swap.max is swap alone. 0 =
 * leave unset, -1 = "max". Returns -1 (and sets *err) for invalid pairs. */
int husk_cgroup_swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, husk_error **err);

/*
 * Device rules (linux.resources.devices: {allow, type, major, minor, access}).
 * default_deny: whether everything starts denied (v1: "a" written to
 * devices.deny first unless the first rule is that already; v2: the verdict
 * when no rule matches). Later rules win over earlier ones.
 */
int husk_cgroup_devices_v1_plan(json_t *rules, bool default_deny, struct husk_cgroup_write **ret,
				size_t *ret_n, husk_error **err);
/*
 * The rules husk_cgroup_apply() applies (deny by default) for
 * linux.resources.devices: the spec's rules, then the default allow list, so
 * that a spec denying everything still gets /dev/null and its like; then,
 * when the rules after the spec's last deny-all deny anything, those rules
 * again, so that they can still deny a default device. The verdicts are those
 * of the defaults right after that deny-all; the order puts the spec's own
 * rules first in v1 devices.list, as the runtime-spec's "apply entries in the
 * listed order" is checked. Validates the rules; NULL on error.
 */
json_t *husk_cgroup_device_rules_with_defaults(json_t *rules, husk_error **err);
/* Whether device access is restricted already: v1 devices.list is not "a *:*
 * rwm", v2 a device program is attached. True also when it cannot be told or
 * changed (no devices hierarchy, no right to query eBPF). */
bool husk_cgroup_devices_restricted(const struct husk_cgroup *cg);
/* The BPF_PROG_TYPE_CGROUP_DEVICE program for the rules (malloc'ed). */
int husk_cgroup_devices_bpf(json_t *rules, bool default_deny, struct bpf_insn **ret, size_t *ret_n,
			    husk_error **err);
