/* SPDX-License-Identifier: MIT */
/*
 * The last steps of a container's process, from its namespaces to execve,
 * written once for the init (container_init.c) and for exec
 * (container_exec.c): a change to the order reaches both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "container_internal.h"
#include "process.h"
#include "seccomp_filter.h"
#include "util.h"

int container_process_prepare(struct husk_process *p, char **ret_exe, husk_error **err)
{
	if (husk_process_prepare_env(p, err) < 0 || husk_process_apply_rlimits(p, err) < 0 ||
	    husk_process_apply_oom_score_adj(p, err) < 0 ||
	    husk_process_apply_cwd_and_umask(p, err) < 0)
		return -1;
	return husk_process_find_executable(p, ret_exe, err);
}

/* A notify filter's fd goes to the runtime, which hands it on. */
static int load_seccomp(const struct lock_down *d, husk_error **err)
{
	int fd = -1, r;

	if (d->seccomp == NULL)
		return 0;
	if (husk_seccomp_load(d->seccomp, &fd, err) < 0)
		return -1;
	if (fd < 0)
		return 0;
	r = send_fd(d->sync_fd, fd, &(struct sync_msg){.type = SYNC_SECCOMP},
		    sizeof(struct sync_msg));
	close(fd);
	return r < 0 ? husk_error_set(err, errno, "send seccomp notify fd") : 0;
}

int container_process_lock_down(const struct husk_process *p, const struct lock_down *d,
				husk_error **err)
{
	/* Fds first: a profile may not allow close_range (and the fallback
	 * lists /proc/self/fd, which a chroot may not have). */
	if (husk_close_fds_on_exec(d->preserve_fds, err) < 0)
		return -1;
	/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before
	 * the user and capabilities change. With it, as late as possible. */
	if (!p->no_new_privileges && load_seccomp(d, err) < 0)
		return -1;
	if (husk_process_apply_user_and_caps(p, d->setgroups_allowed, err) < 0 ||
	    husk_process_apply_no_new_privs(p, err) < 0)
		return -1;
	return p->no_new_privileges ? load_seccomp(d, err) : 0;
}
