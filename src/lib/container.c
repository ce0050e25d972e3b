/* SPDX-License-Identifier: MIT */
/* The runtime side of create and run: from config to a waiting container. */
#define _GNU_SOURCE
#include "container.h"

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
#include <time.h>

#include "cgroup_resources.h"
#include "container_internal.h"
#include "hooks.h"
#include "idmap_write.h"
#include "rootfs.h"
#include "seccomp_filter.h"
#include "state.h"
#include "sysctl.h"
#include "terminal.h"
#include "util.h"

/* What a launch owns until it succeeds: undone in reverse on failure. */
struct parent {
	struct launch l;
	int dirfd;
	pid_t pid;	    /* container init, host view */
	pid_t intermediate; /* slow path helper, reaped once it reports */
	int master;	    /* terminal master when run proxies it */
	bool state_dir_made;
};

static int check_spec(const struct husk_runtime *rt, struct husk_spec *spec,
		      const struct husk_create_opts *o, husk_error **err)
{
	if (o->console_socket && spec->has_process && !spec->process.terminal)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--console-socket given, but process.terminal is false in "
				       "config.json");
	if (!spec->has_process)
		return husk_error_fail(err, HUSK_ERR_INVALID, "config.json: process: is required");
	if (rt->exe_guard == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "the CVE-2019-5736 guard is not prepared "
				       "(husk_exe_guard_setup)");
	if (!spec->ns[HUSK_NS_MOUNT].enabled && spec->process.terminal)
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "config.json: process.terminal: needs a mount namespace (the "
		    "console is mounted on /dev/console)");
	if (rt->rootless && !spec->ns[HUSK_NS_USER].enabled && !in_user_namespace())
		return husk_error_fail(
		    err, HUSK_ERR_PERMISSION,
		    "config.json: linux.namespaces: running without root needs a "
		    "user namespace (husk-runtime spec --rootless makes one)");
	if (husk_sysctl_check_joined(spec, err) < 0)
		return husk_error_wrap(err, "config.json");
	for (size_t i = 0; rt->warn && spec->process.warnings && spec->process.warnings[i]; i++)
		runtime_warn(rt, spec->process.warnings[i]);
	/* Last, once nothing here can fail (a refusal stays one line): no
	 * mount namespace is allowed, as runc and crun allow it, but nothing
	 * is mounted on the host for the container, it is only chrooted. */
	if (!spec->ns[HUSK_NS_MOUNT].enabled && rt->warn &&
	    (spec->n_mounts || (spec->masked_paths && spec->masked_paths[0]) ||
	     (spec->readonly_paths && spec->readonly_paths[0]) || spec->root_readonly))
		runtime_warn(
		    rt, "config.json: linux.namespaces: no mount namespace: mounts, maskedPaths, "
			"readonlyPaths and root.readonly are not applied (they would change the "
			"host's mounts); the process is only chrooted into root.path");
	return 0;
}

static void plan_namespaces(struct launch *l)
{
	const struct husk_spec *s = l->spec;

	l->clone_flags = 0;
	l->intermediate = false;
	for (int t = 0; t < HUSK_NS_COUNT; t++) {
		if (!s->ns[t].enabled)
			continue;
		if (s->ns[t].path) {
			l->intermediate = true;
			continue;
		}
		/* Time needs unshare (clone(2) has no room for its flag); cgroup
		 * is unshared by the init once it sits in its own cgroup. */
		if (t == HUSK_NS_TIME)
			l->intermediate = true;
		else if (t != HUSK_NS_CGROUP)
			l->clone_flags |= husk_ns_clone_flag(t);
	}
	l->userns_new = s->ns[HUSK_NS_USER].enabled && !s->ns[HUSK_NS_USER].path;
}

static char *state_json_string(struct parent *p, enum husk_status status)
{
	struct husk_state st = {.id = (char *)p->l.o->id,
				.bundle = p->l.spec->bundle,
				.oci_version = p->l.spec->oci_version,
				.pid = p->pid,
				.annotations = json_object_get(p->l.spec->json, "annotations")};
	cleanup_json json_t *o = husk_state_to_json(&st, status);

	return o ? json_dumps(o, JSON_COMPACT) : NULL;
}

static int run_parent_hooks(struct parent *p, enum husk_hook_kind kind, enum husk_status status,
			    husk_error **err)
{
	cleanup_free char *s = NULL;

	if (p->l.spec->n_hooks[kind] == 0)
		return 0;
	s = state_json_string(p, status);
	if (s == NULL)
		return husk_error_set(err, ENOMEM, "hooks");
	return husk_hooks_run(p->l.spec, kind, s, err);
}

/* The hooks and cgroup a later `start` or `delete` needs, kept in state. */
static json_t *saved_config(const struct husk_spec *spec)
{
	json_t *c = json_object();
	json_t *hooks = json_object_get(spec->json, "hooks");
	json_t *process = json_object_get(spec->json, "process");
	json_t *lx = json_object_get(spec->json, "linux");

	/* exec starts from the container's own process and seccomp profile. */
	if (c && hooks)
		json_object_set(c, "hooks", hooks);
	if (c && process)
		json_object_set(c, "process", process);
	if (c && spec->seccomp)
		json_object_set(c, "seccomp", spec->seccomp);
	if (c && json_is_object(lx) && json_object_get(lx, "namespaces"))
		json_object_set(c, "namespaces", json_object_get(lx, "namespaces"));
	return c;
}

static int write_state(struct parent *p, husk_error **err)
{
	char now[64];
	time_t t = time(NULL);
	struct tm tm;
	struct husk_state st = {.id = (char *)p->l.o->id,
				.bundle = p->l.spec->bundle,
				.oci_version = p->l.spec->oci_version,
				.pid = p->pid,
				.created = now,
				.rootless = p->l.rt->rootless,
				.annotations = json_object_get(p->l.spec->json, "annotations")};
	cleanup_json json_t *config = NULL;
	cleanup_json json_t *cgroup = NULL;
	char owner[16];

	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(owner, sizeof(owner), "%u", (unsigned)geteuid());
	st.owner = owner;
	if (proc_start_time(p->pid, &st.pid_start_time) < 0)
		return husk_error_set(err, errno, "read start time of pid %d", (int)p->pid);
	st.config = config = saved_config(p->l.spec);
	st.cgroup = cgroup = husk_cgroup_is_none(&p->l.cg) ? NULL : husk_cgroup_to_json(&p->l.cg);
	return husk_state_write(p->dirfd, &st, err);
}

static int launch_clone(struct parent *p, husk_error **err)
{
	struct launch *l = &p->l;
	int flags = (l->intermediate ? 0 : l->clone_flags) | (l->adopted ? CLONE_PARENT : 0);
	pid_t pid = husk_cgroup_clone(&l->cg, flags, &l->cg_born_in);

	if (pid < 0)
		return husk_error_set(err, errno, "clone container process");
	if (l->adopted)
		adopted_add(l->adopted, pid);
	if (pid == 0)
		container_init_main(l);
	close(l->sync_child);
	l->sync_child = -1;
	if (l->intermediate)
		p->intermediate = pid;
	else
		p->pid = pid;
	return 0;
}

/* Slow path: serve the intermediate (id maps) until it reports the init. */
static int await_intermediate(struct parent *p, husk_error **err)
{
	struct sync_msg m;

	for (;;) {
		if (sync_recv(p->l.sync_parent, &m, NULL) < 0)
			return husk_error_fail(err, HUSK_ERR_SYSTEM,
					       "container setup exited before reporting");
		if (m.type == SYNC_ERROR)
			return sync_msg_error(&m, err);
		if (m.type == SYNC_IDMAP) {
			if (husk_idmap_write(p->l.spec, m.pid, p->l.rt->rootless, err) < 0)
				return -1;
			if (sync_send(p->l.sync_parent, SYNC_GO, 0, NULL) < 0)
				return husk_error_set(err, errno, "container setup exited");
			continue;
		}
		if (m.type == SYNC_PID) {
			p->pid = m.pid;
			/* adopted: both are our parent's to reap */
			if (p->l.adopted)
				adopted_add(p->l.adopted, m.pid);
			else
				waitpid(p->intermediate, NULL, 0);
			p->intermediate = 0;
			return 0;
		}
	}
}

static int handle_pty(struct parent *p, int fd, husk_error **err)
{
	if (p->l.o->console_socket) {
		int r = husk_terminal_send_to_socket(p->l.o->console_socket, fd, err);
		close(fd);
		return r;
	}
	if (!p->l.foreground || p->l.o->detach) {
		close(fd);
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "process.terminal is true: --console-socket is required "
				       "unless run stays in the foreground");
	}
	p->master = fd;
	return 0;
}

static int send_seccomp_listener(struct parent *p, int fd, husk_error **err)
{
	struct husk_state st = {.id = (char *)p->l.o->id,
				.bundle = p->l.spec->bundle,
				.oci_version = p->l.spec->oci_version,
				.pid = p->pid,
				.annotations = json_object_get(p->l.spec->json, "annotations")};
	cleanup_json json_t *state = husk_state_to_json(&st, HUSK_STATUS_CREATING);
	int r;

	if (fd < 0 || state == NULL) {
		if (fd >= 0)
			close(fd);
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "seccomp notify fd missing");
	}
	r = husk_seccomp_send_listener(p->l.seccomp, fd, p->pid, state, err);
	close(fd);
	return r;
}

/* Serves the container until it is set up and waiting for start. */
static int await_ready(struct parent *p, husk_error **err)
{
	struct sync_msg m;

	for (;;) {
		int fd = -1;
		if (sync_recv(p->l.sync_parent, &m, &fd) < 0)
			return husk_error_fail(err, HUSK_ERR_SYSTEM,
					       "container init exited during setup");
		switch (m.type) {
		case SYNC_ERROR:
			return sync_msg_error(&m, err);
		case SYNC_PTY:
			if (handle_pty(p, fd, err) < 0)
				return -1;
			break;
		case SYNC_HOOKS:
			/* prestart: "created", as crun and the conformance suite
			 * have it (in runtime-spec 1.0 it ran at start) */
			if (run_parent_hooks(p, HUSK_HOOK_PRESTART, HUSK_STATUS_CREATED, err) < 0 ||
			    run_parent_hooks(p, HUSK_HOOK_CREATE_RUNTIME, HUSK_STATUS_CREATING,
					     err) < 0)
				return -1;
			if (sync_send(p->l.sync_parent, SYNC_GO, p->pid, NULL) < 0)
				return husk_error_set(err, errno, "container init exited");
			break;
		case SYNC_SECCOMP:
			if (send_seccomp_listener(p, fd, err) < 0)
				return -1;
			break;
		case SYNC_READY:
			return 0;
		default:
			if (fd >= 0)
				close(fd);
			return husk_error_fail(err, HUSK_ERR_SYSTEM, "sync: unexpected message %d",
					       m.type);
		}
	}
}

/* Recorded before anything can go wrong: delete --force finds it even if
 * this runtime is killed before state.json exists. */
static int save_cgroup(struct parent *p, husk_error **err)
{
	cleanup_json json_t *o = husk_cgroup_to_json(&p->l.cg);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int r;

	if (text == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	r = write_file_atomic_at(p->dirfd, "cgroup.json", text, strlen(text), 0600, err);
	free(text);
	return r;
}

/* linux.resources, with the nodes of linux.devices allowed as runc does. */
static int apply_resources(struct launch *l, husk_error **err)
{
	json_t *nodes = json_object_get(json_object_get(l->spec->json, "linux"), "devices");
	cleanup_json json_t *res = NULL;
	cleanup_json json_t *allow = NULL;
	json_t *rules;

	if (json_array_size(nodes) == 0)
		return husk_cgroup_apply(&l->cg, l->spec->resources, err);
	res = l->spec->resources ? json_deep_copy(l->spec->resources) : json_object();
	allow = husk_cgroup_device_rules_for_nodes(nodes);
	if (res == NULL || allow == NULL)
		return husk_error_set(err, ENOMEM, "linux.resources.devices");
	rules = json_object_get(res, "devices");
	if (!json_is_array(rules))
		json_object_set_new(res, "devices", rules = json_array());
	json_array_extend(rules, allow);
	return husk_cgroup_apply(&l->cg, res, err);
}

static int save_cgroup_as_made(const struct husk_cgroup *cg, void *arg, husk_error **err)
{
	(void)cg; /* it is ((struct parent *)arg)->l.cg */
	return save_cgroup(arg, err);
}

static int setup_cgroup(struct parent *p, husk_error **err)
{
	struct launch *l = &p->l;

	if (husk_cgroup_create_saving(l->spec->cgroups_path, l->o->id, l->rt->rootless,
				      save_cgroup_as_made, p, &l->cg, err) < 0)
		return -1;
	/* none after all (rootless, not permitted): nothing was left made */
	if (husk_cgroup_is_none(&l->cg))
		unlinkat(p->dirfd, "cgroup.json", 0);
	/* Only when a limit is lost: under conmon our stderr is the
	 * container's output, and a line there on every run is noise. */
	if (husk_cgroup_is_none(&l->cg) && l->rt->rootless && l->rt->warn &&
	    husk_cgroup_resources_limit_anything(l->spec->resources))
		runtime_warn(l->rt,
			     "no cgroup can be created by this user: the container runs without "
			     "resource limits");
	if (apply_resources(l, err) < 0)
		return -1;
	return 0;
}

/* The created init waits in accept() on ROOT/ID/exec.sock: `start`
 * connects, and the connection closes when the init execs (it is
 * close-on-exec), or carries the error if it cannot. */
static int make_exec_socket(struct parent *p, husk_error **err)
{
	if (unix_listen_at(p->dirfd, "exec.sock", &p->l.fifo_fd) < 0)
		return husk_error_set(err, errno, "create the start socket");
	return 0;
}

static int launch(struct parent *p, husk_error **err)
{
	struct launch *l = &p->l;
	int sv[2];

	if (husk_rootfs_open_bind_sources(l->spec, &l->bind_fds, err) < 0)
		return husk_error_wrap(err, "config.json");
	if (l->spec->seccomp &&
	    husk_seccomp_prepare(l->spec->seccomp, l->rt->seccomp_cache, &l->seccomp, err) < 0)
		return husk_error_wrap(err, "config.json");
	if (husk_state_dir_create(l->rt->root, l->o->id, &p->dirfd, err) < 0)
		return -1;
	p->state_dir_made = true;
	l->state_dirfd = p->dirfd;
	if (setup_cgroup(p, err) < 0)
		return -1;
	if (!l->foreground && make_exec_socket(p, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_error_set(err, errno, "socketpair");
	l->sync_parent = sv[0];
	l->sync_child = sv[1];
	l->setgroups_denied =
	    l->userns_new && husk_idmap_needs_setgroups_deny(l->spec, l->rt->rootless);
	if (launch_clone(p, err) < 0)
		return -1;
	if (l->intermediate && await_intermediate(p, err) < 0)
		return -1;
	if (!l->intermediate && l->userns_new &&
	    husk_idmap_write(l->spec, p->pid, l->rt->rootless, err) < 0)
		return -1;
	/* Unless the init joins its cgroup itself (container_init.c). */
	if (husk_cgroup_enter_child(&l->cg, p->pid, l->cg_born_in, err) < 0)
		return -1;
	if (sync_send(l->sync_parent, SYNC_GO, p->pid, NULL) < 0)
		return husk_error_set(err, errno, "container init exited");
	if (await_ready(p, err) < 0)
		return -1;
	/* Attached by now; a detached clone would pin the host's mounts. */
	husk_rootfs_close_bind_sources(l->bind_fds, l->spec->n_mounts);
	l->bind_fds = NULL;
	if (write_state(p, err) < 0 || write_pid_file(l->o->pid_file, p->pid, err) < 0)
		return -1;
	return 0;
}

static void kill_and_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Undoes a launch: the process, the cgroup, the state. */
static void parent_cleanup(struct parent *p, bool failed)
{
	if (failed) {
		kill_and_reap(p->intermediate);
		kill_and_reap(p->pid);
		/* The container is stopped and destroyed: its poststop hooks run. */
		if (p->pid > 0)
			run_parent_hooks(p, HUSK_HOOK_POSTSTOP, HUSK_STATUS_STOPPED, NULL);
		husk_cgroup_destroy(&p->l.cg, NULL);
		if (p->state_dir_made)
			husk_state_dir_remove(p->l.rt->root, p->l.o->id);
		if (p->l.o->pid_file && p->pid > 0)
			unlink(p->l.o->pid_file);
	}
	husk_cgroup_clear(&p->l.cg);
	husk_seccomp_free(p->l.seccomp);
	p->l.seccomp = NULL;
	husk_rootfs_close_bind_sources(p->l.bind_fds, p->l.spec->n_mounts);
	p->l.bind_fds = NULL;
	if (p->l.sync_parent >= 0)
		close(p->l.sync_parent);
	if (p->l.sync_child >= 0)
		close(p->l.sync_child);
	if (p->l.fifo_fd >= 0)
		close(p->l.fifo_fd);
	if (p->dirfd >= 0)
		close(p->dirfd);
	if (p->master >= 0)
		close(p->master);
}

static void parent_init(struct parent *p, const struct husk_runtime *rt, struct husk_spec *spec,
			const struct husk_create_opts *o, bool foreground)
{
	memset(p, 0, sizeof(*p));
	p->l = (struct launch){.rt = rt,
			       .o = o,
			       .spec = spec,
			       .foreground = foreground,
			       .sync_parent = -1,
			       .sync_child = -1,
			       .fifo_fd = -1,
			       .state_dirfd = -1};
	p->dirfd = -1;
	p->master = -1;
	plan_namespaces(&p->l);
}

int container_create_core(const struct husk_runtime *rt, struct husk_spec *spec,
			  const struct husk_create_opts *o, bool keep, struct adopted *adopted,
			  struct launched *ret, husk_error **err)
{
	struct parent p;
	int r;

	if (check_spec(rt, spec, o, err) < 0)
		return -1;
	/* Kept (a handle), start comes through the sync socket. */
	parent_init(&p, rt, spec, o, keep);
	p.l.adopted = adopted;
	r = launch(&p, err);
	/* The pid always: in a launch helper, our parent must not wait for it. */
	if (r == 0)
		*ret = (struct launched){.pid = p.pid, .pty = -1, .sync = -1};
	if (r == 0 && keep) {
		*ret = (struct launched){.pid = p.pid,
					 .pty = p.master,
					 .sync = p.l.sync_parent,
					 .poststart_hooks = spec->n_hooks[HUSK_HOOK_POSTSTART] > 0};
		p.master = -1;
		p.l.sync_parent = -1;
	}
	parent_cleanup(&p, r < 0);
	return r;
}

int husk_container_create(const struct husk_runtime *rt, struct husk_spec *spec,
			  const struct husk_create_opts *o, struct husk_handle **ret_handle,
			  husk_error **err)
{
	struct launched got;

	if (launch_needs_helper())
		return helper_create(rt, spec, o, ret_handle, err);
	if (container_create_core(rt, spec, o, ret_handle != NULL, NULL, &got, err) < 0)
		return -1;
	if (ret_handle == NULL)
		return 0;
	if (handle_new(rt, o->id, got.pid, got.pty, got.sync, ret_handle, err) < 0) {
		kill(got.pid, SIGKILL);
		waitpid(got.pid, NULL, 0);
		husk_container_delete(rt, o->id, true, NULL);
		return -1;
	}
	(*ret_handle)->poststart_hooks = got.poststart_hooks;
	return 0;
}

/* A started container whose foreground failed: stopped and removed. */
static void abandon(const struct husk_runtime *rt, struct husk_handle *h)
{
	int status;

	husk_handle_kill(h, SIGKILL, NULL);
	husk_handle_wait(h, &status, NULL);
	husk_container_delete(rt, husk_handle_id(h), true, NULL);
}

int husk_container_run(const struct husk_runtime *rt, struct husk_spec *spec,
		       const struct husk_create_opts *o, int *ret_status, husk_error **err)
{
	cleanup_handle struct husk_handle *h = NULL;
	husk_error *e = NULL;

	*ret_status = 0;
	if (husk_container_create(rt, spec, o, &h, err) < 0)
		return -1;
	if (husk_handle_start(h, err) < 0) {
		abandon(rt, h);
		return -1;
	}
	if (o->detach)
		return 0;
	if (husk_foreground(h, ret_status, err) < 0) {
		abandon(rt, h);
		return -1;
	}
	/* Gone: its poststop hooks, cgroup and state go too. */
	if (husk_container_delete(rt, o->id, true, &e) < 0)
		runtime_warn(rt, e->msg);
	husk_error_free(&e);
	return 0;
}
