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

struct launch {
	const struct husk_runtime *rt;
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

/* Reaps children (we may be a subreaper) until pid exits; its status as a
 * shell would give it (128 + signal when killed). */
int wait_reaped(pid_t pid);
/* --pid-file, written atomically (NULL: nothing to do). */
int write_pid_file(const char *path, pid_t pid, husk_error **err);

/* The container side; never returns. */
__attribute__((noreturn)) void container_init_main(struct launch *l);
