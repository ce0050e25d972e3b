/* SPDX-License-Identifier: MIT */
/* Starting a container under its monitor. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork_report.h"
#include "health.h"
#include "launch.h"
#include "net.h"
#include "rootfs.h"
#include "util.h"

/* The container's end and the monitor's end of each stdio stream. */
struct stdio_plan {
	int child[3];	/* 0, 1, 2 for the init (-1: /dev/null) */
	int monitor[3]; /* in (write end), out, err (read ends) */
};

static void stdio_close(struct stdio_plan *p)
{
	for (int i = 0; i < 3; i++) {
		closep(&p->child[i]);
		closep(&p->monitor[i]);
	}
}

static int stdio_pipes(const struct ctr *c, struct stdio_plan *p, husk_error **err)
{
	int fds[2];

	for (int i = 0; i < 3; i++)
		p->child[i] = p->monitor[i] = -1;
	if (c->tty)
		return 0; /* the core makes a pty; the monitor holds its master */
	for (int i = 0; i < 3; i++) {
		if (i == 0 && !c->open_stdin)
			continue;
		if (pipe2(fds, O_CLOEXEC) < 0) {
			stdio_close(p);
			return husk_error_set(err, errno, "pipe");
		}
		p->child[i] = i == 0 ? fds[0] : fds[1];
		p->monitor[i] = i == 0 ? fds[1] : fds[0];
	}
	return 0;
}

/* The init inherits our 0, 1 and 2 (the core passes them on). */
static int stdio_install(struct stdio_plan *p, husk_error **err)
{
	cleanup_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return husk_error_set(err, errno, "open /dev/null");
	for (int i = 0; i < 3; i++)
		if (dup2(p->child[i] >= 0 ? p->child[i] : null, i) < 0)
			return husk_error_set(err, errno, "dup2");
	for (int i = 0; i < 3; i++)
		closep(&p->child[i]);
	return 0;
}

static int stdio_release(void)
{
	cleanup_close int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (dup2(null, i) < 0)
			return -1;
	return 0;
}

int ctr_mount_rootfs(struct engine *e, struct ctr *c, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image *img = NULL;
	cleanup_free char *rootfs = NULL;
	struct stat st, parent;
	int r;

	if (asprintf(&rootfs, "%s/rootfs", c->dir) < 0)
		return husk_error_set(err, ENOMEM, "rootfs");
	/* A mount point is on another device than its parent. */
	if (stat(rootfs, &st) == 0 && stat(c->dir, &parent) == 0 && st.st_dev != parent.st_dev)
		return 0;
	/* just made (run): its image is at hand */
	if (c->img)
		return rootfs_mount(e->paths.storage_root, c->dir, c->img, c->auto_remove, err);
	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = husk_store_image_get(s, c->image_digest, &img, err);
	husk_store_close(s);
	if (r == 0)
		r = rootfs_mount(e->paths.storage_root, c->dir, img, c->auto_remove, err);
	husk_image_free(img);
	return r;
}

static bool has_namespace(json_t *ns, const char *type)
{
	json_t *n;
	size_t i;

	json_array_foreach (ns, i, n)
		if (strcmp(json_string_value(json_object_get(n, "type")) ?: "", type) == 0)
			return true;
	return false;
}

/* The netns joined by path. Rootless with a user namespace of the
 * container's own (--userns auto, keep-id): the netns husk made is the
 * user namespace's above it, whose sysctls the container's root cannot
 * write: the default's ping_group_range goes (its pings need the raw
 * sockets it has not either, as with podman's keep-id). */
static void set_netns_path(json_t *config, const char *path, bool rootless)
{
	json_t *lx = json_object_get(config, "linux");
	json_t *ns = json_object_get(lx, "namespaces"), *n;
	json_t *sysctl = json_object_get(lx, "sysctl");
	size_t i;

	json_array_foreach (ns, i, n)
		if (strcmp(json_string_value(json_object_get(n, "type")) ?: "", "network") == 0)
			json_object_set_new(n, "path", json_string(path));
	if (rootless && has_namespace(ns, "user")) {
		json_object_del(sysctl, "net.ipv4.ping_group_range");
		if (sysctl && json_object_size(sysctl) == 0)
			json_object_del(lx, "sysctl");
	}
}

/* --network container:NAME: the netns of that container's init, as it
 * runs now (its pid changes with each of its starts). Rootless, with a
 * network: one made beforehand (net_netns_make), the init's own being out
 * of reach for its set-up. */
static int join_netns(struct engine *e, struct ctr *c, json_t *config, husk_error **err)
{
	const char *mode = json_string_value(
	    json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"));
	cleanup_ctr struct ctr *other = NULL;
	cleanup_free char *made = NULL;
	char path[64];

	if (e->rt.rootless && json_object_size(net_ctr_networks(c)) > 0) {
		if (net_netns_make(e, c->id, &made, err) < 0)
			return -1;
		set_netns_path(config, made, true);
		return 0;
	}
	if (mode == NULL || strncmp(mode, "container:", 10) != 0)
		return 0;
	if (ctr_lookup(e, mode + 10, &other, err) < 0)
		return husk_error_wrap(err, "--network %s", mode);
	if (ctr_status_now(other, NULL) != CTR_RUNNING || other->st.pid <= 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "--network %s: it is not running",
				       mode);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", other->st.pid);
	set_netns_path(config, path, e->rt.rootless);
	return 0;
}

static int create_in_core(struct engine *e, struct ctr *c, struct husk_handle **ret,
			  husk_error **err)
{
	cleanup_spec struct husk_spec *spec = NULL;
	cleanup_json json_t *config = NULL;
	cleanup_free char *path = NULL;
	struct husk_create_opts opts = {.id = c->id};
	json_error_t jerr;

	if (asprintf(&path, "%s/config.json", c->dir) < 0)
		return husk_error_set(err, ENOMEM, "config");
	/* just made (run): at hand, as written */
	config = c->config ? json_incref(c->config) : json_load_file(path, 0, &jerr);
	if (config == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: %s", path, jerr.text);
	if (join_netns(e, c, config, err) < 0 ||
	    husk_spec_from_json(config, c->dir, &spec, err) < 0)
		return -1;
	/* Whatever an earlier run left in the core (a killed monitor). */
	husk_container_delete(&e->rt, c->id, true, NULL);
	return husk_container_create(&e->rt, spec, &opts, ret, err);
}

static int record_running(struct ctr *c, const struct husk_handle *h, husk_error **err)
{
	char now[64];

	rfc3339_now(now);
	c->st.status = CTR_RUNNING;
	c->st.pid = husk_handle_pid(h);
	if (proc_start_time(c->st.pid, &c->st.pid_start) < 0)
		c->st.pid_start = 0;
	c->st.monitor_pid = getpid();
	if (proc_start_time(getpid(), &c->st.monitor_start) < 0)
		c->st.monitor_start = 0;
	c->st.exit_code = 0;
	c->st.oom_killed = false;
	free(c->st.started_at);
	c->st.started_at = strdup(now);
	free(c->st.error);
	c->st.error = NULL;
	health_reset(c);
	return ctr_save_state(c, err);
}

/* "key=N" for the monitor's argv, the fd made inheritable. */
static void mark_inherited_cloexec(void)
{
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	for (int fd = 3; fd < 1024; fd++) {
		int flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	}
}

static char *fd_arg(const char *key, int fd)
{
	char *s = NULL;
	int flags = fcntl(fd, F_GETFD);

	if (flags >= 0)
		fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
	return asprintf(&s, "%s=%d", key, fd) < 0 ? NULL : s;
}

static int health_interval_ns(const struct ctr *c, int64_t *ret)
{
	json_t *hc = json_object_get(json_object_get(c->doc, "Config"), "Healthcheck");
	json_int_t v = json_integer_value(json_object_get(hc, "Interval"));

	*ret = hc ? (v > 0 ? v : 30000000000LL) : 0;
	return 0;
}

/* execs husk-monitor; returns only on failure. "+" on report_fd (when
 * not -1) first: the report pipe's EOF alone cannot tell the exec from
 * this process's death. */
static int exec_monitor(struct engine *e, struct ctr *c, int pidfd, int pty, struct stdio_plan *p,
			int *clients, size_t n_clients, bool first_owns_exit, int report_fd,
			husk_error **err)
{
	char *argv[16 + 16] = {0};
	size_t n = 0;
	int64_t health;

	health_interval_ns(c, &health);
	argv[n++] = e->monitor_exe;
	if (asprintf(&argv[n++], "id=%s", c->id) < 0 ||
	    asprintf(&argv[n++], "dir=%s", c->dir) < 0 ||
	    asprintf(&argv[n++], "husk=%s", e->husk_exe) < 0 ||
	    asprintf(&argv[n++], "log-max=%lld", (long long)c->log_max_size) < 0 ||
	    asprintf(&argv[n++], "health-interval=%lld", (long long)health) < 0)
		return husk_error_set(err, ENOMEM, "monitor");
	argv[n++] = fd_arg("pidfd", pidfd);
	if (pty >= 0)
		argv[n++] = fd_arg("pty", pty);
	if (p->monitor[0] >= 0)
		argv[n++] = fd_arg("in", p->monitor[0]);
	if (p->monitor[1] >= 0)
		argv[n++] = fd_arg("out", p->monitor[1]);
	if (p->monitor[2] >= 0)
		argv[n++] = fd_arg("err", p->monitor[2]);
	for (size_t i = 0; i < n_clients && i < 16; i++)
		argv[n++] = fd_arg(i == 0 && first_owns_exit ? "owner" : "client", clients[i]);
	/* Our 0, 1 and 2 are the container's ends: the monitor must not hold
	 * them, or it would never see EOF on its own. */
	if (stdio_release() < 0)
		return husk_error_set(err, errno, "/dev/null");
	if (report_fd >= 0)
		(void)write_all(report_fd, "+", 1);
	execv(e->monitor_exe, argv);
	return husk_error_set(err, errno, "exec `%s`", e->monitor_exe);
}

/* This process, recorded as the container's monitor before anything is
 * made: a start killed half-way is told from one under way (ctr_heal). */
static int record_starter(struct ctr *c, husk_error **err)
{
	c->st.monitor_pid = getpid();
	if (proc_start_time(getpid(), &c->st.monitor_start) < 0)
		c->st.monitor_start = 0;
	return ctr_save_state(c, err);
}

static int become_monitor(struct engine *e, struct ctr *c, int *client_fds, size_t n_clients,
			  bool first_owns_exit, int report_fd, husk_error **err)
{
	struct stdio_plan p;
	cleanup_handle struct husk_handle *h = NULL;
	cleanup_close int pidfd = -1, pty = -1;
	int status;

	/* Whatever fd the caller of husk left open (a test harness's, a
	 * shell's) must not live on in the monitor: someone may wait for its
	 * EOF. The monitor's own fds are passed on by fd_arg(). */
	mark_inherited_cloexec();
	if (record_starter(c, err) < 0)
		return -1;
	if (ctr_mount_rootfs(e, c, err) < 0 || stdio_pipes(c, &p, err) < 0)
		return -1;
	if (stdio_install(&p, err) < 0 || create_in_core(e, c, &h, err) < 0)
		goto fail;
	/* the init waits in its netns for the start: its network first */
	if (net_container_up(e, c, husk_handle_pid(h), err) < 0 || husk_handle_start(h, err) < 0)
		goto fail_started;
	pidfd = fcntl(husk_handle_pidfd(h), F_DUPFD_CLOEXEC, 3);
	if (husk_handle_pty(h) >= 0)
		pty = fcntl(husk_handle_pty(h), F_DUPFD_CLOEXEC, 3);
	if (pidfd < 0 || record_running(c, h, err) < 0)
		goto fail_started;
	exec_monitor(e, c, pidfd, pty, &p, client_fds, n_clients, first_owns_exit, report_fd, err);
fail_started:
	husk_handle_kill(h, SIGKILL, NULL);
	husk_handle_wait(h, &status, NULL);
fail:
	husk_handle_free(steal_pointer(&h));
	husk_container_delete(&e->rt, c->id, true, NULL);
	net_container_down(e, c->id);
	stdio_close(&p);
	return -1;
}

int ctr_become_monitor(struct engine *e, struct ctr *c, int *client_fds, size_t n_clients,
		       husk_error **err)
{
	return become_monitor(e, c, client_fds, n_clients, false, -1, err);
}

/* The child's report, once it failed: "KIND message". */
static int report(int fd, const husk_error *err)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf), "%d %s", err ? (int)err->kind : 0,
			 err && err->msg ? err->msg : "failed");

	return write_all(fd, buf, (size_t)n);
}

/* 0: the monitor was exec'd ("+"); 1: nothing, the child died before. */
static int read_report(int fd, husk_error **err)
{
	char buf[1024];
	ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
	int kind = 0, off = 0;

	if (n < 0)
		return husk_error_set(err, errno, "read the monitor's report");
	if (n == 0)
		return 1;
	buf[n] = '\0';
	if (strcmp(buf, "+") == 0)
		return 0;
	if (sscanf(buf + (buf[0] == '+'), "%d %n", &kind, &off) < 1)
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "the monitor failed");
	return husk_error_fail(err, (enum husk_error_kind)kind, "%s", buf + (buf[0] == '+') + off);
}

/* The monitor runs, or has already done its whole job (a container that
 * exits at once) and exited 0; or it failed, or died before its exec. */
static int wait_report(int fd, pid_t pid, husk_error **err)
{
	int r = read_report(fd, err), status = 0;

	close(fd);
	if (r < 0) {
		waitpid(pid, NULL, 0);
		return r;
	}
	/* died before the exec: it is gone by now, or nearly */
	if ((r == 1 && waitpid(pid, &status, 0) == pid) ||
	    (waitpid(pid, &status, WNOHANG) == pid && status != 0))
		return husk_error_fail(
		    err, HUSK_ERR_SYSTEM, "the container's monitor failed (%s %d)",
		    WIFSIGNALED(status) ? "signal" : "status",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return 0;
}

struct monitor_child {
	struct engine *e;
	struct ctr *c;
	int client_fd, report_fd;
	bool owns_exit;
};

/* "+" then the monitor's exec (EOF): running. */
static int monitor_child(void *arg)
{
	struct monitor_child *m = arg;
	husk_error *err = NULL;

	setsid();
	become_monitor(m->e, m->c, &m->client_fd, m->client_fd >= 0 ? 1 : 0, m->owns_exit,
		       m->report_fd, &err);
	report(m->report_fd, err);
	_exit(125);
}

/* The child shares our memory (spawn_with_report_pipe): c->st is what it
 * recorded. A start that failed leaves the container created. */
static void forget_failed_start(struct ctr *c)
{
	c->st.status = CTR_CREATED;
	c->st.pid = 0;
	c->st.pid_start = 0;
	c->st.monitor_pid = 0;
	c->st.monitor_start = 0;
}

int ctr_launch(struct engine *e, struct ctr *c, int client_fd, bool owns_exit, husk_error **err)
{
	struct monitor_child m = {.e = e, .c = c, .client_fd = client_fd, .owns_exit = owns_exit};
	int fd;
	pid_t pid = spawn_with_report_pipe(monitor_child, &m, &m.report_fd, &fd, err);

	if (pid < 0)
		return -1;
	if (wait_report(fd, pid, err) < 0) {
		forget_failed_start(c);
		return -1;
	}
	return 0;
}
