/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The container lifecycle, as the OCI runtime spec defines it, for a runtime
 * CLI (one process per verb, containers named by id) and for a long-lived
 * supervisor (an engine, a monitor) that holds many containers at once.
 *
 * Handles: husk_container_create() and husk_container_exec() can hand back a
 * husk_handle holding the process's pid, a pidfd (readable when it exits),
 * the pty master when it has a terminal, and the id. The caller decides when
 * to start, wait, signal and delete. The process is always the caller's own
 * child. Nothing global changes in the caller: no signal handler, no
 * subreaper flag, no atexit, no waitpid(-1). The foreground behaviour of
 * `run` (wait, forward signals, proxy the terminal) is husk_foreground().
 *
 * Threads: the library may be called from a process that has threads. A
 * launch from such a process goes through a single-threaded helper: a copy
 * of the program (/proc/self/exe) that must call husk_helper_main() first
 * thing in main().
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <husk/error.h>
#include <husk/spec.h>

struct husk_exe_guard;

struct husk_runtime {
	const char *root; /* state directory root */
	/* Where compiled seccomp filters are kept; NULL: nowhere. */
	const char *seccomp_cache;
	bool rootless; /* not root: user namespace, no cgroup unless delegated */
	bool systemd_cgroup;
	/* Called with one-line warnings (e.g. "running without cgroup limits"). */
	void (*warn)(void *userdata, const char *msg);
	void *userdata;
	/* CVE-2019-5736, prepared once (husk_exe_guard_setup): without it no
	 * container can be created or exec'd into. */
	const struct husk_exe_guard *exe_guard;
};

struct husk_create_opts {
	const char *id;
	const char *pid_file;
	/* Send the pty master there (runc's clients: conmon, containerd-shim)
	 * instead of keeping it in the handle. */
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	bool detach; /* husk_container_run: return once the process is started */
};

/* A process of a container (its init, or one exec'd into it) held by the
 * caller. Freeing it closes its fds; it neither signals nor waits. */
struct husk_handle;

/* Creates the container: its init waits for start. With ret_handle NULL (a
 * runtime `create`), `husk_container_start(id)` from any process starts it;
 * with a handle, husk_handle_start() does (freeing the handle before start
 * ends the init). Either way the init is the caller's child: a long-lived
 * caller takes a handle, or reaps the pid (o->pid_file) itself. The handle
 * borrows rt, which must outlive it. */
int husk_container_create(const struct husk_runtime *rt, struct husk_spec *spec,
			  const struct husk_create_opts *o, struct husk_handle **ret_handle,
			  husk_error **err);
/* create + start, then (unless detached) husk_foreground(), delete, and the
 * exit status in *ret_status (128 + signal when killed): runtime `run`. */
int husk_container_run(const struct husk_runtime *rt, struct husk_spec *spec,
		       const struct husk_create_opts *o, int *ret_status, husk_error **err);
int husk_container_start(const struct husk_runtime *rt, const char *id, husk_error **err);
int husk_container_state(const struct husk_runtime *rt, const char *id, json_t **ret,
			 husk_error **err);
int husk_container_kill(const struct husk_runtime *rt, const char *id, int sig, bool all,
			husk_error **err);
/* Stops (with force) and removes it: poststop hooks, cgroup, state. */
int husk_container_delete(const struct husk_runtime *rt, const char *id, bool force,
			  husk_error **err);
/* An array of state objects (with "created" and "owner" added). */
int husk_container_list(const struct husk_runtime *rt, json_t **ret, husk_error **err);

struct husk_exec_opts {
	const char *console_socket;
	const char *pid_file;
	bool detach; /* husk_container_exec_wait: return once it is started */
	int preserve_fds;
	bool ignore_paused;
};

/* A copy of the container's own process object, to build an exec from. */
int husk_container_saved_process(const struct husk_runtime *rt, const char *id, json_t **ret,
				 husk_error **err);
/* Starts `process` (a runtime-spec process object) in the container: every
 * namespace of its init, its cgroup, and the process's user, capabilities,
 * no_new_privs, rlimits and the container's seccomp profile. The process is
 * the caller's child (already running): with a handle, to wait for through
 * it; without one, the caller reaps it (o->pid_file has its pid). */
int husk_container_exec(const struct husk_runtime *rt, const char *id, json_t *process,
			const struct husk_exec_opts *o, struct husk_handle **ret_handle,
			husk_error **err);
/* exec, then (unless detached) husk_foreground(): runtime `exec`. */
int husk_container_exec_wait(const struct husk_runtime *rt, const char *id, json_t *process,
			     const struct husk_exec_opts *o, int *ret_status, husk_error **err);

/* The pids in the container's cgroup (the init alone without a cgroup). */
int husk_container_pids(const struct husk_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
			husk_error **err);
int husk_container_pause(const struct husk_runtime *rt, const char *id, husk_error **err);
int husk_container_resume(const struct husk_runtime *rt, const char *id, husk_error **err);

/* Applies a linux.resources object to a running container's cgroup. */
int husk_container_update(const struct husk_runtime *rt, const char *id, json_t *resources,
			  husk_error **err);
/* One runc-style event: {"type": "stats", "id", "data": {...}}. */
int husk_container_stats(const struct husk_runtime *rt, const char *id, json_t **ret,
			 husk_error **err);
/* The container's OOM kill count so far. */
int husk_container_oom_count(const struct husk_runtime *rt, const char *id, uint64_t *ret,
			     husk_error **err);

/* Handles. */
const char *husk_handle_id(const struct husk_handle *h);
pid_t husk_handle_pid(const struct husk_handle *h);
/* Readable (POLLIN) once the process has exited; owned by the handle. */
int husk_handle_pidfd(const struct husk_handle *h);
/* The pty master, or -1 (no terminal, or sent to a console socket). */
int husk_handle_pty(const struct husk_handle *h);
/* Releases a created container's init to run its process (start hooks
 * included); returns once it has exec'd or with why it could not. */
int husk_handle_start(struct husk_handle *h, husk_error **err);
int husk_handle_kill(const struct husk_handle *h, int sig, husk_error **err);
/* Reaps the process (blocking until it exits): its status as a shell gives
 * it, 128 + signal when killed. Once only. The caller must not reap its
 * children otherwise (waitpid(-1), SIGCHLD ignored) while it holds handles:
 * handles go by pid for the wait. */
int husk_handle_wait(struct husk_handle *h, int *ret_status, husk_error **err);
void husk_handle_free(struct husk_handle *h);
static inline void husk_handle_freep(struct husk_handle **h)
{
	husk_handle_free(*h);
}
#define cleanup_handle __attribute__((cleanup(husk_handle_freep)))

/* The foreground of `run` and `exec`, as one explicit step: waits for the
 * process through its pidfd while forwarding SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGUSR1 and SIGUSR2 to it, and, when it has a pty, proxies fds
 * 0/1 to it (a host tty in raw mode, restored after) and follows SIGWINCH.
 * The signals are blocked and read from a signalfd meanwhile, in the calling
 * thread (a caller with threads blocks them in the others); the mask is
 * restored after. Reaps the process: *ret_status as husk_handle_wait(). */
int husk_foreground(struct husk_handle *h, int *ret_status, husk_error **err);

/* In the launch helper the library spawned of this program, does the launch
 * and exits; anywhere else returns 0 at once. Call it first in main(). */
int husk_helper_main(int argc, char **argv);

/* CVE-2019-5736: no process that enters a container may have the runtime
 * binary as its executable, or a hostile image could overwrite the binary
 * through /proc/PID/exe. The guard does it without an exec (selfexe.c): the
 * runtime prepares it once (exec: it will also serve husk_container_exec),
 * and every process entering a container applies it. Where this kernel
 * cannot, it re-executes the program from a copy that cannot be written
 * (costs an exec), with the same argv. */
int husk_exe_guard_setup(char **argv, bool exec, struct husk_exe_guard **ret, husk_error **err);
/* The two halves of setup: prepare (HUSK_ERR_UNSUPPORTED: this kernel
 * cannot) and the re-exec fallback (returns 0 when already running from an
 * unwritable copy). */
int husk_exe_guard_prepare(bool exec, struct husk_exe_guard **ret, husk_error **err);
int husk_self_ensure_sealed(char **argv, husk_error **err);
void husk_exe_guard_free(struct husk_exe_guard *g);
static inline void husk_exe_guard_freep(struct husk_exe_guard **g)
{
	husk_exe_guard_free(*g);
}
#define cleanup_exe_guard __attribute__((cleanup(husk_exe_guard_freep)))
