/* SPDX-License-Identifier: MIT */
/* The container side of a launch: from clone() to execve(). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container_internal.h"
#include "hooks.h"
#include "process.h"
#include "rootfs.h"
#include "seccomp_filter.h"
#include "selfexe.h"
#include "state.h"
#include "sysctl.h"
#include "terminal.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

struct init_ctx {
	struct launch *l;
	pid_t host_pid;
	struct husk_rootfs_ctx rootfs;
	int master, slave;
	char *exe;
	int start_conn; /* create: the `start` waiting for our exec */
};

static __attribute__((noreturn)) void fail(struct init_ctx *c, husk_error *e)
{
	const char *msg = e && e->msg ? e->msg : "unknown error";

	/* `start` reads "KIND CODE message" */
	if (c->start_conn >= 0)
		dprintf(c->start_conn, "%d %d %s\n", e ? (int)e->kind : HUSK_ERR_SYSTEM,
			e ? e->code : 0, msg);
	else if (sync_send_error(c->l->sync_child, e) < 0)
		dprintf(2, "husk: %s\n", msg);
	_exit(127);
}

/* Joins the namespaces that have a path: the user namespace first, since it
 * decides what the others may do. */
static int join_namespaces(const struct husk_spec *spec, husk_error **err)
{
	static const enum husk_ns_type order[] = {HUSK_NS_USER, HUSK_NS_IPC,  HUSK_NS_UTS,
						  HUSK_NS_NET,	HUSK_NS_PID,  HUSK_NS_CGROUP,
						  HUSK_NS_TIME, HUSK_NS_MOUNT};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct husk_namespace *ns = &spec->ns[order[i]];
		cleanup_close int fd = -1;
		if (!ns->enabled || ns->path == NULL)
			continue;
		fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return husk_error_set(err, errno, "linux.namespaces: open `%s`", ns->path);
		if (setns(fd, husk_ns_clone_flag(order[i])) < 0)
			return husk_error_set(err, errno,
					      "linux.namespaces: join %s namespace `%s`",
					      husk_ns_name(order[i]), ns->path);
	}
	return 0;
}

static int write_time_offsets(const struct husk_spec *spec, husk_error **err)
{
	char buf[128];
	int n;

	if (!spec->has_time_offsets)
		return 0;
	n = snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
		     (long long)spec->time_offsets[0][0], (long long)spec->time_offsets[0][1],
		     (long long)spec->time_offsets[1][0], (long long)spec->time_offsets[1][1]);
	if (write_file_at(AT_FDCWD, "/proc/self/timens_offsets", buf, (size_t)n, err) < 0)
		return husk_error_wrap(err, "linux.timeOffsets");
	return 0;
}

/* Slow path: setns into given namespaces, unshare the new ones, then fork the
 * container init so that it lands in the new PID and time namespaces. The
 * intermediate reports the init's pid and exits. */
static void intermediate(struct init_ctx *c)
{
	struct launch *l = c->l;
	husk_error *e = NULL;
	struct sync_msg m;
	int flags =
	    l->clone_flags |
	    (l->spec->ns[HUSK_NS_TIME].enabled && !l->spec->ns[HUSK_NS_TIME].path ? CLONE_NEWTIME
										  : 0);
	pid_t pid;

	if (join_namespaces(l->spec, &e) < 0)
		fail(c, e);
	if (unshare(flags) < 0) {
		husk_error_set(&e, errno, "unshare namespaces");
		fail(c, e);
	}
	if (l->userns_new) {
		if (sync_send(l->sync_child, SYNC_IDMAP, getpid(), NULL) < 0 ||
		    sync_expect(l->sync_child, SYNC_GO, &m, &e) < 0)
			fail(c, e);
	}
	if ((flags & CLONE_NEWTIME) && write_time_offsets(l->spec, &e) < 0)
		fail(c, e);
	/* CLONE_PARENT: the init is the runtime's child, as on the direct
	 * path, for its caller to wait on (no subreaper needed). */
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		husk_error_set(&e, errno, "clone container init");
		fail(c, e);
	}
	if (pid > 0) {
		sync_send(l->sync_child, SYNC_PID, pid, NULL);
		_exit(0);
	}
	/* CVE-2016-9962: the init is in the joined pid namespace already; its
	 * id maps were the intermediate's to write, so it need not be
	 * dumpable for them. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* The caller's supplementary groups are dropped where setgroups(2) is
 * allowed: rootless, they are the user's own, and a directory of the
 * user's group that grants others search (0701, ~/.local) denies it to
 * its group, so the container's root, not the user, could not reach its
 * rootfs below it. */
static int become_root_in_userns(bool setgroups_allowed, husk_error **err)
{
	if (setresgid(0, 0, 0) < 0)
		return husk_error_set(err, errno, "become root in the user namespace");
	if (setgroups_allowed && setgroups(0, NULL) < 0 && errno != EPERM)
		return husk_error_set(err, errno, "drop the supplementary groups");
	if (setresuid(0, 0, 0) < 0)
		return husk_error_set(err, errno, "become root in the user namespace");
	return 0;
}

static int setup_uts(const struct husk_spec *spec, husk_error **err)
{
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return husk_error_set(err, errno, "hostname: sethostname `%s`", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return husk_error_set(err, errno, "domainname: setdomainname `%s`",
				      spec->domainname);
	return 0;
}

static char *state_json(struct init_ctx *c, enum husk_status status)
{
	struct husk_state st = {.id = (char *)c->l->o->id,
				.bundle = c->l->spec->bundle,
				.oci_version = c->l->spec->oci_version,
				.pid = c->host_pid,
				.annotations = json_object_get(c->l->spec->json, "annotations")};
	cleanup_json json_t *o = husk_state_to_json(&st, status);

	return o ? json_dumps(o, JSON_COMPACT) : NULL;
}

static int run_container_hooks(struct init_ctx *c, enum husk_hook_kind kind,
			       enum husk_status status, husk_error **err)
{
	cleanup_free char *s = NULL;

	if (c->l->spec->n_hooks[kind] == 0)
		return 0;
	s = state_json(c, status);
	if (s == NULL)
		return husk_error_set(err, ENOMEM, "hooks");
	return husk_hooks_run(c->l->spec, kind, s, err);
}

static int setup_terminal(struct init_ctx *c, husk_error **err)
{
	const struct husk_process *p = &c->l->spec->process;

	if (!p->terminal)
		return 0;
	if (husk_terminal_open(c->rootfs.rootfd, p->console_rows, p->console_cols, &c->master,
			       &c->slave, err) < 0)
		return -1;
	if (husk_rootfs_bind_console(c->rootfs.rootfd, c->slave, err) < 0)
		return -1;
	if (send_fd(c->l->sync_child, c->master, &(struct sync_msg){.type = SYNC_PTY},
		    sizeof(struct sync_msg)) < 0)
		return husk_error_set(err, errno, "send terminal");
	close(c->master);
	c->master = -1;
	return 0;
}

/* Without a mount namespace the host's mount table is the container's:
 * nothing is mounted (it would be mounted on the host), and the process is
 * only chrooted into root.path (check_spec has said so). */
static int enter_root_without_mount_ns(const struct husk_spec *spec, husk_error **err)
{
	if (chroot(spec->root_path) < 0 || chdir("/") < 0)
		return husk_error_set(err, errno, "root.path: chroot into `%s`", spec->root_path);
	return 0;
}

static int setup_mounts(struct init_ctx *c, husk_error **err)
{
	struct launch *l = c->l;
	bool own_mounts = l->spec->ns[HUSK_NS_MOUNT].enabled;
	struct sync_msg m;

	c->rootfs = (struct husk_rootfs_ctx){.spec = l->spec,
					     .cgroup = &l->cg,
					     .in_userns = l->spec->ns[HUSK_NS_USER].enabled,
					     .cgroupns = l->spec->ns[HUSK_NS_CGROUP].enabled,
					     .rootfd = -1,
					     .devnull = -1,
					     .bind_fds = l->bind_fds};
	if (own_mounts && (husk_rootfs_prepare(&c->rootfs, err) < 0 || setup_terminal(c, err) < 0))
		return -1;
	if (l->spec->n_hooks[HUSK_HOOK_PRESTART] || l->spec->n_hooks[HUSK_HOOK_CREATE_RUNTIME]) {
		if (sync_send(l->sync_child, SYNC_HOOKS, 0, NULL) < 0 ||
		    sync_expect(l->sync_child, SYNC_GO, &m, err) < 0)
			return -1;
	}
	if (run_container_hooks(c, HUSK_HOOK_CREATE_CONTAINER, HUSK_STATUS_CREATING, err) < 0)
		return -1;
	if (!own_mounts)
		return husk_sysctl_apply(l->spec, err) < 0
			   ? -1
			   : enter_root_without_mount_ns(l->spec, err);
	/* sysctls before finalize, which may make /proc/sys read-only. */
	if (husk_rootfs_pivot(&c->rootfs, l->o->no_pivot, err) < 0 ||
	    husk_sysctl_apply(l->spec, err) < 0)
		return -1;
	return husk_rootfs_finalize(&c->rootfs, err);
}

static int join_session_keyring(const char *id, husk_error **err)
{
	char name[128];

	snprintf(name, sizeof(name), "_ses.%.100s", id);
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0) < 0 &&
	    errno != ENOSYS && errno != EPERM && errno != EACCES)
		return husk_error_set(err, errno, "join a new session keyring");
	return 0;
}

/* Until READY the container dies with the runtime; past it, create returns. */
static int prepare_process(struct init_ctx *c, husk_error **err)
{
	const struct husk_process *p = &c->l->spec->process;

	if (!c->l->o->no_new_keyring && join_session_keyring(c->l->o->id, err) < 0)
		return -1;
	if (p->terminal) {
		if (husk_terminal_become_controlling(c->slave, err) < 0)
			return -1;
	} else if (setsid() < 0 && errno != EPERM) {
		return husk_error_set(err, errno, "setsid");
	}
	if (c->l->spec->has_personality && personality(c->l->spec->personality) < 0)
		return husk_error_set(err, errno, "linux.personality");
	return container_process_prepare(&c->l->spec->process, &c->exe, err);
}

/* The filter goes on before the wait for start, so that a notify fd can
 * still reach the runtime. */
static int drop_privileges(struct init_ctx *c, husk_error **err)
{
	const struct lock_down d = {.preserve_fds = c->l->o->preserve_fds,
				    .setgroups_allowed = !c->l->setgroups_denied,
				    .seccomp = c->l->seccomp,
				    .sync_fd = c->l->sync_child};

	return container_process_lock_down(&c->l->spec->process, &d, err);
}

static int wait_for_start(struct init_ctx *c, husk_error **err)
{
	struct sync_msg m;
	char b;

	if (c->l->foreground)
		return sync_expect(c->l->sync_child, SYNC_GO, &m, err);
	/* create: `start` connects and sends a byte; it then waits for this
	 * connection to close on exec, or for an error line. */
	for (;;) {
		int conn = accept4(c->l->fifo_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EINTR)
				continue;
			return husk_error_set(err, errno, "wait for start");
		}
		if (read(conn, &b, 1) == 1) {
			close(c->l->fifo_fd);
			c->l->fifo_fd = -1;
			c->start_conn = conn;
			return 0;
		}
		close(conn);
	}
}

static int finish_and_exec(struct init_ctx *c, husk_error **err)
{
	if (run_container_hooks(c, HUSK_HOOK_START_CONTAINER, HUSK_STATUS_CREATED, err) < 0)
		return -1;
	return husk_process_exec(&c->l->spec->process, c->exe, err);
}

void container_init_main(struct launch *l)
{
	struct init_ctx c = {.l = l, .master = -1, .slave = -1, .start_conn = -1};
	husk_error *e = NULL;
	struct sync_msg m;

	close(l->sync_parent);
	launch_helper_close_answer();
	/* Nothing of the caller's signal handling runs here (an engine's
	 * SIGCHLD handler would reap our hooks) or reaches the container. */
	husk_process_reset_signals();
	/* The state directory's flock belongs to the open file, which we
	 * share: keeping it would block every later command on this container. */
	close(l->state_dirfd);
	if (l->intermediate)
		intermediate(&c);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (husk_exe_guard_apply(l->rt->exe_guard, &e) < 0)
		fail(&c, e);
	if (sync_expect(l->sync_child, SYNC_GO, &m, &e) < 0)
		fail(&c, e);
	c.host_pid = m.pid;
	/* CVE-2016-9962: until execve, no process of the container may ptrace
	 * us or open our fds through /proc (the maps are written by now). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Before anything forks, and while our kuid is still the runtime's. */
	if (husk_cgroup_enter_as_init(&l->cg, l->cg_born_in, &e) < 0)
		fail(&c, e);
	if (l->spec->ns[HUSK_NS_USER].enabled &&
	    become_root_in_userns(!l->setgroups_denied, &e) < 0)
		fail(&c, e);
	if (l->spec->ns[HUSK_NS_CGROUP].enabled && !l->spec->ns[HUSK_NS_CGROUP].path &&
	    unshare(CLONE_NEWCGROUP) < 0) {
		husk_error_set(&e, errno, "unshare cgroup namespace");
		fail(&c, e);
	}
	if (setup_uts(l->spec, &e) < 0 || setup_mounts(&c, &e) < 0 || prepare_process(&c, &e) < 0 ||
	    drop_privileges(&c, &e) < 0)
		fail(&c, e);
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	if (sync_send(l->sync_child, SYNC_READY, 0, NULL) < 0)
		_exit(1);
	if (wait_for_start(&c, &e) < 0)
		fail(&c, e);
	finish_and_exec(&c, &e);
	fail(&c, e);
}
