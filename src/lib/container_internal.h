/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the runtime side (container.c) and the container side
 * (container_init.c) of a launch. */

#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "container.h"
#include "spec.h"
#include "state.h"

/* Messages on the SOCK_SEQPACKET socketpair between runtime and container. */
enum sync_type {
	SYNC_GO = 1,  /* runtime -> container: continue (pid = host pid) */
	SYNC_ERROR,   /* container -> runtime: setup failed (text) */
	SYNC_IDMAP,   /* container -> runtime: write my id maps (pid) */
	SYNC_PID,     /* intermediate -> runtime: the container init's pid */
	SYNC_HOOKS,   /* container -> runtime: run prestart/createRuntime hooks */
	SYNC_PTY,     /* container -> runtime: the terminal master (fd) */
	SYNC_READY,   /* container -> runtime: waiting for start */
	SYNC_SECCOMP, /* container -> runtime: the seccomp notify fd (fd) */
};

struct sync_msg {
	int type;
	int code; /* SYNC_ERROR: the error's errno and kind */
	pid_t pid;
	int kind;
	char text[2048];
};

int sync_send(int fd, int type, pid_t pid, const char *text);
int sync_send_error(int fd, const husk_error *e);
/* Reads one message; a closed peer is ECONNRESET. */
int sync_recv(int fd, struct sync_msg *m, int *ret_fd);
int sync_expect(int fd, int type, struct sync_msg *m, husk_error **err);
/* The error a SYNC_ERROR message carries, as the other side had it. */
int sync_msg_error(const struct sync_msg *m, husk_error **err);

/* Processes a launch helper made that are its caller's children
 * (CLONE_PARENT): the caller reaps them (launch_helper.c). */
struct adopted {
	pid_t pids[4];
	int n;
};
void adopted_add(struct adopted *a, pid_t pid);
/* In a process cloned by a launch helper: drop the helper's answer socket,
 * so that the helper's death is seen by its parent. */
void launch_helper_close_answer(void);

/* What a create or exec hands to its caller. */
struct launched {
	pid_t pid;
	int pty;
	int sync;
	bool poststart_hooks;
};

struct launch {
	const struct husk_runtime *rt;
	struct adopted *adopted; /* in a launch helper: clone for our parent */
	const struct husk_create_opts *o;
	struct husk_spec *spec;
	bool foreground; /* run: start without the exec socket */
	bool userns_new;
	bool intermediate; /* joins or a time namespace: setns/unshare then fork */
	bool setgroups_denied;
	int clone_flags;
	int sync_parent, sync_child;
	int fifo_fd;	 /* create: the listening exec socket */
	int state_dirfd; /* locked by the runtime: the container must not hold it */
	struct husk_cgroup cg;
	bool cg_born_in; /* cloned into the v2 cgroup (CLONE_INTO_CGROUP) */
	struct husk_seccomp *seccomp;
	int *bind_fds; /* bind sources cloned before the user namespace (rootfs.h) */
};

static inline void runtime_warn(const struct husk_runtime *rt, const char *msg)
{
	if (rt->warn)
		rt->warn(rt->userdata, msg);
}

/* A process of a container held by the caller (<husk/container.h>). */
struct husk_handle {
	const struct husk_runtime *rt; /* borrowed: outlives the handle */
	char *id;
	pid_t pid;
	int pidfd;
	int pty;
	int sync; /* created by handle: the init's sync socket until start */
	bool poststart_hooks;
	bool reaped;
};
/* A handle for pid (the caller's child); takes pty and sync. */
int handle_new(const struct husk_runtime *rt, const char *id, pid_t pid, int pty, int sync,
	       struct husk_handle **ret, husk_error **err);

/* An existing container, its state read and its directory locked. */
struct opened {
	int dirfd;
	struct husk_state st;
	enum husk_status status;
};
int open_container(const struct husk_runtime *rt, const char *id, bool exclusive, struct opened *c,
		   husk_error **err);
void opened_close(struct opened *c);
#define cleanup_opened __attribute__((cleanup(opened_close)))
int load_cgroup(const struct husk_state *st, struct husk_cgroup *cg, husk_error **err);

/* --pid-file, written atomically (NULL: nothing to do). */
int write_pid_file(const char *path, pid_t pid, husk_error **err);

/* The cores of husk_container_create and husk_container_exec: with keep
 * (a handle asked for), *ret gets the pid, pty and sync socket. With
 * adopted (a launch helper), every process is cloned for our parent. */
int container_create_core(const struct husk_runtime *rt, struct husk_spec *spec,
			  const struct husk_create_opts *o, bool keep, struct adopted *adopted,
			  struct launched *ret, husk_error **err);
int container_exec_core(const struct husk_runtime *rt, const char *id, json_t *process,
			const struct husk_exec_opts *o, bool keep, struct adopted *adopted,
			struct launched *ret, husk_error **err);
/* A process with threads launches through a single-threaded helper. */
bool launch_needs_helper(void);
int helper_create(const struct husk_runtime *rt, struct husk_spec *spec,
		  const struct husk_create_opts *o, struct husk_handle **ret_handle,
		  husk_error **err);
int helper_exec(const struct husk_runtime *rt, const char *id, json_t *process,
		const struct husk_exec_opts *o, struct husk_handle **ret_handle, husk_error **err);

/* The one order of a container process's last steps (container_process.c):
 * prepare (signals, env, rlimits, oom_score_adj, cwd, umask, the executable)
 * once in its namespaces and root, then lock down (fds, seccomp, user,
 * capabilities, no_new_privs) just before execve. */
struct lock_down {
	int preserve_fds;
	bool setgroups_allowed;
	struct husk_seccomp *seccomp; /* NULL: none */
	int sync_fd;		      /* where a notify fd goes */
};
int container_process_prepare(struct husk_process *p, char **ret_exe, husk_error **err);
int container_process_lock_down(const struct husk_process *p, const struct lock_down *d,
				husk_error **err);

/* The container side; never returns. */
__attribute__((noreturn)) void container_init_main(struct launch *l);
