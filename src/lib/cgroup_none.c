/* SPDX-License-Identifier: MIT */
/* The none backend: the container runs without a cgroup (a rootless user
 * without a delegated subtree, a host without cgroups). Nothing to make,
 * join, limit or remove; what needs a cgroup says there is none. */
#include <errno.h>

#include "cgroup_backend.h"

static int none_create(struct husk_cgroup *cg, const struct husk_cgroup_config *cfg,
		       husk_error **err)
{
	return 0;
}

static int none_destroy(const struct husk_cgroup *cg, husk_error **err)
{
	return 0;
}

static int none_save(const struct husk_cgroup *cg, json_t *o)
{
	return 0;
}

static int none_load(json_t *o, struct husk_cgroup *cg, husk_error **err)
{
	return 0;
}

static int none_enter(const struct husk_cgroup *cg, pid_t pid, bool born_in, husk_error **err)
{
	return 0;
}

static int none_enter_self(const struct husk_cgroup *cg, bool born_in, husk_error **err)
{
	return 0;
}

static int none_apply(const struct husk_cgroup *cg, json_t *resources, husk_error **err)
{
	return 0;
}

static int none_apply_devices(const struct husk_cgroup *cg, json_t *rules, bool default_deny,
			      husk_error **err)
{
	return 0;
}

/* Nothing can be changed: as restricted as it will get. */
static bool none_devices_restricted(const struct husk_cgroup *cg)
{
	return true;
}

static const char *none_dir(const struct husk_cgroup *cg)
{
	return NULL;
}

static const char *none_dir_for(const struct husk_cgroup *cg, const char *controller)
{
	return NULL;
}

static int none_kill(const struct husk_cgroup *cg)
{
	return -ENOTSUP;
}

static int none_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err)
{
	*ret = NULL;
	*ret_n = 0;
	return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "the container has no cgroup");
}

static int none_freeze(const struct husk_cgroup *cg, bool frozen, husk_error **err)
{
	return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "the container has no freezer cgroup");
}

static bool none_is_frozen(const struct husk_cgroup *cg)
{
	return false;
}

static int none_stats(const struct husk_cgroup *cg, json_t **ret, husk_error **err)
{
	return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "the container has no cgroup");
}

static int none_oom_count(const struct husk_cgroup *cg, uint64_t *ret)
{
	return -ENOENT;
}

const struct husk_cgroup_ops husk_cgroup_none_ops = {
    .name = "none",
    .state_version = 0,
    .init_joins_itself = false,
    .planner = NULL,
    .create = none_create,
    .destroy = none_destroy,
    .save = none_save,
    .load = none_load,
    .enter = none_enter,
    .enter_self = none_enter_self,
    .apply = none_apply,
    .apply_devices = none_apply_devices,
    .devices_restricted = none_devices_restricted,
    .dir_for = none_dir_for,
    .unified_dir = none_dir,
    .kill = none_kill,
    .pids = none_pids,
    .freeze = none_freeze,
    .is_frozen = none_is_frozen,
    .stats = none_stats,
    .oom_count = none_oom_count,
};
