/* SPDX-License-Identifier: MIT */
/* exec: a new process inside a running container. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "container_internal.h"
#include "process.h"
#include "seccomp_filter.h"
#include "selfexe.h"
#include "terminal.h"
#include "util.h"

/* /proc/PID/ns names, in the order they are joined: user first, as it
 * decides what the others may do; mount last, as it hides /proc/PID. */
static const struct {
	const char *name;
	int flag;
} ns_order[] = {
    {"user", CLONE_NEWUSER},
    {"ipc", CLONE_NEWIPC},
    {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},
    {"cgroup", CLONE_NEWCGROUP},
    {"time", 0x80 /* CLONE_NEWTIME */},
    {"mnt", CLONE_NEWNS},
};
#define N_NS (sizeof(ns_order) / sizeof(ns_order[0]))

struct exec_ctx {
	const struct husk_runtime *rt;
	const struct husk_exec_opts *o;
	struct opened c;
	struct husk_process proc;
	struct husk_seccomp *seccomp;
	struct husk_cgroup cg;
	bool cg_born_in; /* cloned into the v2 cgroup */
	int nsfd[N_NS];
	int rootfd;
	int sync_parent, sync_child;
	bool setgroups_denied;
	pid_t intermediate, pid;
	int master;
	int console;		 /* connected --console-socket, checked before anything runs */
	bool keep_pty;		 /* the pty goes in the caller's handle */
	struct adopted *adopted; /* in a launch helper: clone for our parent */
};

static void exec_ctx_clear(struct exec_ctx *x)
{
	for (size_t i = 0; i < N_NS; i++)
		if (x->nsfd[i] >= 0)
			close(x->nsfd[i]);
	if (x->rootfd >= 0)
		close(x->rootfd);
	if (x->sync_parent >= 0)
		close(x->sync_parent);
	if (x->sync_child >= 0)
		close(x->sync_child);
	if (x->master >= 0)
		close(x->master);
	if (x->console >= 0)
		close(x->console);
	husk_process_clear(&x->proc);
	husk_seccomp_free(x->seccomp);
	husk_cgroup_clear(&x->cg);
	opened_close(&x->c);
}

/* The init's namespaces that differ from ours, opened before anything can
 * recycle its pid; then the start time proves it was the init. */
static int open_namespaces(struct exec_ctx *x, husk_error **err)
{
	pid_t pid = x->c.st.pid;
	unsigned long long start;
	char path[64];

	for (size_t i = 0; i < N_NS; i++) {
		struct stat theirs, ours;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_order[i].name);
		x->nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (x->nsfd[i] < 0) {
			if (errno == ENOENT && i != N_NS - 1)
				continue; /* a namespace type this kernel lacks */
			return husk_error_set(err, errno, "open `%s`", path);
		}
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_order[i].name);
		if (fstat(x->nsfd[i], &theirs) == 0 && stat(path, &ours) == 0 &&
		    theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
			close(x->nsfd[i]);
			x->nsfd[i] = -1;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	x->rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x->rootfd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	if (proc_start_time(pid, &start) < 0 || start != x->c.st.pid_start_time)
		return husk_error_fail(err, HUSK_ERR_BUSY, "container `%s` stopped", x->c.st.id);
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	{
		cleanup_free char *sg = NULL;
		if (x->nsfd[0] >= 0 && read_file_at(AT_FDCWD, path, &sg, NULL, NULL) == 0)
			x->setgroups_denied = strncmp(sg, "deny", 4) == 0;
	}
	return 0;
}

static __attribute__((noreturn)) void child_fail(struct exec_ctx *x, husk_error *e)
{
	if (sync_send_error(x->sync_child, e) < 0 && e)
		dprintf(2, "husk: %s\n", e->msg);
	_exit(127);
}

/* The netns first when a user namespace is joined too: one made for the
 * container before its user namespace (a rootless engine's, joined by
 * path) is owned by the user namespace above it, out of reach from inside
 * the container's. One owned by the container's is joined after it, as
 * nsenter does. Returns the index of the one joined, N_NS if none. */
static size_t join_net_early(struct exec_ctx *x)
{
	for (size_t i = 1; i < N_NS; i++)
		if (ns_order[i].flag == CLONE_NEWNET && x->nsfd[0] >= 0 && x->nsfd[i] >= 0 &&
		    setns(x->nsfd[i], CLONE_NEWNET) == 0)
			return i;
	return N_NS;
}

static int join(struct exec_ctx *x, husk_error **err)
{
	size_t early;

	if (husk_cgroup_enter_self(&x->cg, x->cg_born_in, err) < 0)
		return -1;
	early = join_net_early(x);
	for (size_t i = 0; i < N_NS; i++) {
		if (x->nsfd[i] < 0 || i == early)
			continue;
		if (setns(x->nsfd[i], ns_order[i].flag) < 0)
			return husk_error_set(err, errno, "join the container's %s namespace",
					      ns_order[i].name);
	}
	if (fchdir(x->rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return husk_error_set(err, errno, "enter the container's root");
	return 0;
}

static int setup_terminal(struct exec_ctx *x, husk_error **err)
{
	int master, slave, r;

	if (!x->proc.terminal) {
		if (setsid() < 0 && errno != EPERM)
			return husk_error_set(err, errno, "setsid");
		return 0;
	}
	if (husk_terminal_open(-1, x->proc.console_rows, x->proc.console_cols, &master, &slave,
			       err) < 0)
		return -1;
	r = send_fd(x->sync_child, master, &(struct sync_msg){.type = SYNC_PTY},
		    sizeof(struct sync_msg));
	close(master);
	if (r < 0)
		return husk_error_set(err, errno, "send terminal");
	r = husk_terminal_become_controlling(slave, err);
	close(slave);
	return r;
}

/* In the container: from the joined namespaces to execve. */
static __attribute__((noreturn)) void exec_process(struct exec_ctx *x)
{
	const struct husk_process *p = &x->proc;
	cleanup_free char *exe = NULL;
	husk_error *e = NULL;
	const struct lock_down d = {.preserve_fds = x->o->preserve_fds,
				    .setgroups_allowed = !x->setgroups_denied,
				    .seccomp = x->seccomp,
				    .sync_fd = x->sync_child};

	if (setup_terminal(x, &e) < 0 || container_process_prepare(&x->proc, &exe, &e) < 0 ||
	    container_process_lock_down(p, &d, &e) < 0)
		child_fail(x, e);
	husk_process_exec(p, exe, &e);
	child_fail(x, e);
}

/* setns() into a PID namespace only applies to children: the intermediate
 * joins, forks the process, reports its pid and exits. */
static __attribute__((noreturn)) void intermediate(struct exec_ctx *x)
{
	husk_error *e = NULL;
	pid_t pid;

	close(x->sync_parent);
	x->sync_parent = -1;
	launch_helper_close_answer();
	husk_process_reset_signals();
	/* CVE-2016-9962: the container's processes must not ptrace us or open
	 * our fds through /proc before execve (which restores dumpability). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (join(x, &e) < 0)
		child_fail(x, e);
	if (husk_exe_guard_apply(x->rt->exe_guard, &e) < 0)
		child_fail(x, e);
	/* CLONE_PARENT: the process is the caller's child, to wait on. */
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		husk_error_set(&e, errno, "clone");
		child_fail(x, e);
	}
	if (pid == 0)
		exec_process(x);
	sync_send(x->sync_child, SYNC_PID, pid, NULL);
	_exit(0);
}

static int handle_messages(struct exec_ctx *x, husk_error **err)
{
	struct sync_msg m;

	for (;;) {
		int fd = -1;
		if (sync_recv(x->sync_parent, &m, &fd) < 0)
			return 0; /* closed on exec: the process runs */
		switch (m.type) {
		case SYNC_PID:
			x->pid = m.pid;
			if (x->adopted)
				adopted_add(x->adopted, m.pid);
			else
				waitpid(x->intermediate, NULL, 0);
			x->intermediate = 0;
			break;
		case SYNC_ERROR:
			return sync_msg_error(&m, err);
		case SYNC_PTY:
			if (x->console >= 0) {
				static const char name[] = "/dev/ptmx";
				int r = send_fd(x->console, fd, name, sizeof(name) - 1);
				close(fd);
				if (r < 0)
					return husk_error_set(err, errno,
							      "--console-socket: send terminal");
			} else if (x->keep_pty) {
				x->master = fd;
			} else {
				close(fd);
				return husk_error_fail(
				    err, HUSK_ERR_INVALID,
				    "--tty needs --console-socket with --detach");
			}
			break;
		case SYNC_SECCOMP: {
			cleanup_json json_t *st = husk_state_to_json(&x->c.st, x->c.status);
			int r = husk_seccomp_send_listener(x->seccomp, fd, x->pid, st, err);
			close(fd);
			if (r < 0)
				return -1;
			break;
		}
		default:
			if (fd >= 0)
				close(fd);
			break;
		}
	}
}

static int prepare(struct exec_ctx *x, const char *id, json_t *process, husk_error **err)
{
	json_t *seccomp;

	if (x->rt->exe_guard == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "the CVE-2019-5736 guard is not prepared "
				       "(husk_exe_guard_setup)");
	if (open_container(x->rt, id, false, &x->c, err) < 0)
		return -1;
	if (x->c.status == HUSK_STATUS_STOPPED)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "container `%s` is stopped: cannot exec in it", id);
	if (x->c.status == HUSK_STATUS_PAUSED && !x->o->ignore_paused)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "container `%s` is paused: resume it first", id);
	if (husk_process_parse(process, "process", &x->proc, err) < 0)
		return -1;
	for (size_t i = 0; x->rt->warn && x->proc.warnings && x->proc.warnings[i]; i++)
		runtime_warn(x->rt, x->proc.warnings[i]);
	if (x->proc.terminal && !x->keep_pty && !x->o->console_socket)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "exec: --tty with --detach needs --console-socket");
	if (!x->proc.terminal && x->o->console_socket)
		return husk_error_fail(err, HUSK_ERR_INVALID, "exec: --console-socket needs --tty");
	if (x->o->console_socket &&
	    husk_terminal_connect(x->o->console_socket, &x->console, err) < 0)
		return -1;
	seccomp = json_object_get(x->c.st.config, "seccomp");
	if (json_is_object(seccomp) &&
	    husk_seccomp_prepare(seccomp, x->rt->seccomp_cache, &x->seccomp, err) < 0)
		return -1;
	if (load_cgroup(&x->c.st, &x->cg, err) < 0 || open_namespaces(x, err) < 0)
		return -1;
	/* The lock is only needed to read a consistent state. */
	close(x->c.dirfd);
	x->c.dirfd = -1;
	return 0;
}

int container_exec_core(const struct husk_runtime *rt, const char *id, json_t *process,
			const struct husk_exec_opts *o, bool keep, struct adopted *adopted,
			struct launched *ret, husk_error **err)
{
	struct exec_ctx x = {.rt = rt,
			     .o = o,
			     .rootfd = -1,
			     .sync_parent = -1,
			     .sync_child = -1,
			     .master = -1,
			     .console = -1,
			     .keep_pty = keep,
			     .adopted = adopted};
	int sv[2], r = -1;

	for (size_t i = 0; i < N_NS; i++)
		x.nsfd[i] = -1;
	x.c.dirfd = -1;
	if (prepare(&x, id, process, err) < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		husk_error_set(err, errno, "socketpair");
		goto out;
	}
	x.sync_parent = sv[0];
	x.sync_child = sv[1];
	x.intermediate = husk_cgroup_clone(&x.cg, adopted ? CLONE_PARENT : 0, &x.cg_born_in);
	if (x.intermediate < 0) {
		husk_error_set(err, errno, "fork");
		goto out;
	}
	if (x.intermediate == 0)
		intermediate(&x);
	if (adopted)
		adopted_add(adopted, x.intermediate);
	close(x.sync_child);
	x.sync_child = -1;
	if (handle_messages(&x, err) < 0 || x.pid <= 0) {
		if (err && *err == NULL)
			husk_error_fail(err, HUSK_ERR_SYSTEM, "exec: the process did not start");
		goto out;
	}
	if (write_pid_file(o->pid_file, x.pid, err) < 0)
		goto out;
	/* The pid always: in a launch helper, our parent must not wait for it. */
	*ret = (struct launched){.pid = x.pid, .pty = keep ? x.master : -1, .sync = -1};
	if (keep)
		x.master = -1;
	r = 0;
out:
	/* Processes started but not handed over are killed, and reaped when
	 * ours (else our parent reaps them: adopted). A detached one stays
	 * the caller's child (CLONE_PARENT): its to reap. */
	if (r < 0 && x.intermediate > 0) {
		kill(x.intermediate, SIGKILL);
		if (!adopted)
			waitpid(x.intermediate, NULL, 0);
	}
	if (r < 0 && x.pid > 0) {
		kill(x.pid, SIGKILL);
		while (!adopted && waitpid(x.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	exec_ctx_clear(&x);
	return r;
}

int husk_container_exec(const struct husk_runtime *rt, const char *id, json_t *process,
			const struct husk_exec_opts *o, struct husk_handle **ret_handle,
			husk_error **err)
{
	struct launched got;

	if (launch_needs_helper())
		return helper_exec(rt, id, process, o, ret_handle, err);
	if (container_exec_core(rt, id, process, o, ret_handle != NULL, NULL, &got, err) < 0)
		return -1;
	if (ret_handle && handle_new(rt, id, got.pid, got.pty, -1, ret_handle, err) < 0) {
		kill(got.pid, SIGKILL);
		waitpid(got.pid, NULL, 0);
		return -1;
	}
	return 0;
}

int husk_container_exec_wait(const struct husk_runtime *rt, const char *id, json_t *process,
			     const struct husk_exec_opts *o, int *ret_status, husk_error **err)
{
	cleanup_handle struct husk_handle *h = NULL;

	*ret_status = 0;
	if (o->detach)
		return husk_container_exec(rt, id, process, o, NULL, err);
	if (husk_container_exec(rt, id, process, o, &h, err) < 0)
		return -1;
	if (husk_foreground(h, ret_status, err) < 0) {
		int status;
		husk_handle_kill(h, SIGKILL, NULL);
		husk_handle_wait(h, &status, NULL);
		return -1;
	}
	return 0;
}

int husk_container_saved_process(const struct husk_runtime *rt, const char *id, json_t **ret,
				 husk_error **err)
{
	cleanup_opened struct opened c;
	json_t *p;

	if (open_container(rt, id, false, &c, err) < 0)
		return -1;
	p = json_object_get(c.st.config, "process");
	if (!json_is_object(p))
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
				       "container `%s`: no process saved in its state", id);
	*ret = json_deep_copy(p);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "exec");
}
