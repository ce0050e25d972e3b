/* SPDX-License-Identifier: MIT */
/* The cgroup interface: choosing a backend, and dispatching to it. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* What husk_cgroup_from_json() can find by name. */
static const struct husk_cgroup_ops *const backends[] = {
    &husk_cgroup_v1_ops,
    &husk_cgroup_v2_ops,
    &husk_cgroup_none_ops,
};

static const struct husk_cgroup_ops *ops_of(const struct husk_cgroup *cg)
{
	return cg->ops ? cg->ops : &husk_cgroup_none_ops;
}

int husk_cgroup_layout(void)
{
	struct statfs fs;

	if (statfs(HUSK_CGROUP_ROOT, &fs) < 0)
		return HUSK_CGROUP_NONE;
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return HUSK_CGROUP_UNIFIED;
	if (fs.f_type == TMPFS_MAGIC)
		return HUSK_CGROUP_V1;
	return HUSK_CGROUP_NONE;
}

static const struct husk_cgroup_ops *host_backend(void)
{
	switch (husk_cgroup_layout()) {
	case HUSK_CGROUP_UNIFIED:
		return &husk_cgroup_v2_ops;
	case HUSK_CGROUP_V1:
		return &husk_cgroup_v1_ops;
	default:
		return &husk_cgroup_none_ops;
	}
}

int husk_cgroup_create(const char *cgroups_path, const char *id, bool rootless,
		       struct husk_cgroup *cg, husk_error **err)
{
	return husk_cgroup_create_saving(cgroups_path, id, rootless, NULL, NULL, cg, err);
}

int husk_cgroup_create_saving(const char *cgroups_path, const char *id, bool rootless,
			      husk_cgroup_save_fn *save, void *arg, struct husk_cgroup *cg,
			      husk_error **err)
{
	const struct husk_cgroup_config cfg = {
	    .path = cgroups_path, .id = id, .rootless = rootless, .save = save, .save_arg = arg};
	const struct husk_cgroup_ops *ops = host_backend();

	memset(cg, 0, sizeof(*cg));
	cg->ops = ops;
	if (ops->create(cg, &cfg, err) == 0)
		return 0;
	ops->destroy(cg, NULL);
	husk_cgroup_clear(cg);
	if (rootless && err && husk_error_is(*err, HUSK_ERR_PERMISSION)) {
		/* No delegated subtree: run without limits (the caller warns). */
		husk_error_free(err);
		cg->ops = &husk_cgroup_none_ops;
		return 0;
	}
	return -1;
}

bool husk_cgroup_is_none(const struct husk_cgroup *cg)
{
	return ops_of(cg) == &husk_cgroup_none_ops;
}

void husk_cgroup_clear(struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i].name);
		free(cg->dirs[i].dir);
	}
	free(cg->dirs);
	memset(cg, 0, sizeof(*cg));
}

/* ---- the state ---- */

json_t *husk_cgroup_to_json(const struct husk_cgroup *cg)
{
	const struct husk_cgroup_ops *ops = ops_of(cg);
	cleanup_json json_t *o =
	    json_pack("{s:s, s:i}", "backend", ops->name, "version", ops->state_version);

	if (o == NULL || ops->save(cg, o) < 0)
		return NULL;
	return steal_pointer(&o);
}

/* State written before there were backends has no "backend": its "version" says. */
static const struct husk_cgroup_ops *backend_of_version(json_t *version)
{
	if (version == NULL || json_integer_value(version) == 0)
		return &husk_cgroup_none_ops;
	if (json_integer_value(version) == 1)
		return &husk_cgroup_v1_ops;
	if (json_integer_value(version) == 2)
		return &husk_cgroup_v2_ops;
	return NULL;
}

int husk_cgroup_from_json(json_t *o, struct husk_cgroup *cg, husk_error **err)
{
	json_t *name = json_object_get(o, "backend");
	const struct husk_cgroup_ops *ops = NULL;

	memset(cg, 0, sizeof(*cg));
	if (name == NULL) {
		ops = backend_of_version(json_object_get(o, "version"));
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(backends) && ops == NULL; i++)
			if (json_is_string(name) &&
			    strcmp(json_string_value(name), backends[i]->name) == 0)
				ops = backends[i];
	}
	if (ops == NULL)
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "state.json: corrupt cgroup entry");
	cg->ops = ops;
	return ops->load(o, cg, err);
}

/* ---- directories ---- */

const char *husk_cgroup_dir_for(const struct husk_cgroup *cg, const char *controller)
{
	return ops_of(cg)->dir_for(cg, controller);
}

const char *husk_cgroup_v2_dir(const struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (strcmp(cg->dirs[i].name, "unified") == 0)
			return cg->dirs[i].dir;
	return NULL;
}

const char *husk_cgroup_unified_dir(const struct husk_cgroup *cg)
{
	return ops_of(cg)->unified_dir(cg);
}

/* ---- joining ---- */

int husk_cgroup_enter(const struct husk_cgroup *cg, pid_t pid, husk_error **err)
{
	return ops_of(cg)->enter(cg, pid, false, err);
}

int husk_cgroup_enter_child(const struct husk_cgroup *cg, pid_t pid, bool born_in, husk_error **err)
{
	const struct husk_cgroup_ops *ops = ops_of(cg);

	return ops->init_joins_itself ? 0 : ops->enter(cg, pid, born_in, err);
}

int husk_cgroup_enter_as_init(const struct husk_cgroup *cg, bool born_in, husk_error **err)
{
	const struct husk_cgroup_ops *ops = ops_of(cg);

	return ops->init_joins_itself ? ops->enter_self(cg, born_in, err) : 0;
}

int husk_cgroup_enter_self(const struct husk_cgroup *cg, bool born_in, husk_error **err)
{
	return ops_of(cg)->enter_self(cg, born_in, err);
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of linux/sched.h up to its 5.7 size (CLONE_ARGS_SIZE_VER2),
 * spelled out: that header clashes with glibc's sched.h. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	    set_tid_size, cgroup;
};

/* clone3 with CLONE_INTO_CGROUP: -1 when that cannot be done here (no v2
 * directory, an old kernel, a seccomp filter hiding clone3, no right to the
 * cgroup). */
static pid_t clone_into_v2(const struct husk_cgroup *cg, int flags)
{
	const char *dir = husk_cgroup_v2_dir(cg);
	cleanup_close int cgfd = -1;
	/* With CLONE_PARENT the exit signal is the caller's own (clone3
	 * refuses one). */
	struct clone3_args args = {.flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP,
				   .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD};

	if (dir == NULL || (cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	args.cgroup = (uint64_t)cgfd;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

pid_t husk_cgroup_clone(const struct husk_cgroup *cg, int flags, bool *born_in)
{
	pid_t pid = clone_into_v2(cg, flags);

	*born_in = pid >= 0;
	if (pid < 0)
		pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	return pid;
}

/* ---- limits ---- */

int husk_cgroup_apply(const struct husk_cgroup *cg, json_t *resources, husk_error **err)
{
	return ops_of(cg)->apply(cg, resources, err);
}

int husk_cgroup_apply_devices(const struct husk_cgroup *cg, json_t *rules, bool default_deny,
			      husk_error **err)
{
	return ops_of(cg)->apply_devices(cg, rules, default_deny, err);
}

bool husk_cgroup_devices_restricted(const struct husk_cgroup *cg)
{
	return ops_of(cg)->devices_restricted(cg);
}

/* ---- the processes inside ---- */

int husk_cgroup_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err)
{
	return ops_of(cg)->pids(cg, ret, ret_n, err);
}

int husk_cgroup_kill(const struct husk_cgroup *cg)
{
	return ops_of(cg)->kill(cg);
}

int husk_cgroup_freeze(const struct husk_cgroup *cg, bool frozen, husk_error **err)
{
	return ops_of(cg)->freeze(cg, frozen, err);
}

bool husk_cgroup_is_frozen(const struct husk_cgroup *cg)
{
	return ops_of(cg)->is_frozen(cg);
}

int husk_cgroup_stats(const struct husk_cgroup *cg, json_t **ret, husk_error **err)
{
	return ops_of(cg)->stats(cg, ret, err);
}

int husk_cgroup_oom_count(const struct husk_cgroup *cg, uint64_t *ret)
{
	return ops_of(cg)->oom_count(cg, ret);
}

int husk_cgroup_destroy(const struct husk_cgroup *cg, husk_error **err)
{
	return ops_of(cg)->destroy(cg, err);
}
