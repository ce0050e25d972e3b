/* SPDX-License-Identifier: MIT */
/* start, state, kill, delete and list of an existing container. */
#define _GNU_SOURCE
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "cgroup.h"
#include "container_internal.h"
#include "hooks.h"
#include "state.h"
#include "util.h"

void opened_close(struct opened *c)
{
	if (c->dirfd >= 0)
		close(c->dirfd);
	husk_state_clear(&c->st);
}
int open_container(const struct husk_runtime *rt, const char *id, bool exclusive, struct opened *c,
		   husk_error **err)
{
	c->dirfd = -1;
	memset(&c->st, 0, sizeof(c->st));
	if (husk_state_dir_open(rt->root, id, exclusive, &c->dirfd, err) < 0)
		return -1;
	if (husk_state_read(c->dirfd, &c->st, err) < 0)
		return husk_error_wrap(err, "container `%s`", id);
	c->status = husk_state_status(c->dirfd, &c->st);
	return 0;
}

/* Hooks saved at create time, run with the state on stdin. */
static int run_saved_hooks(struct opened *c, enum husk_hook_kind kind, enum husk_status status,
			   husk_error **err)
{
	json_t *hooks = json_object_get(c->st.config, "hooks");
	struct husk_spec *s;
	cleanup_free char *text = NULL;
	cleanup_json json_t *state = NULL;
	int r;

	if (hooks == NULL)
		return 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return husk_error_set(err, ENOMEM, "hooks");
	r = husk_spec_parse_hooks(s, hooks, err);
	if (r == 0 && s->n_hooks[kind] > 0) {
		state = husk_state_to_json(&c->st, status);
		text = state ? json_dumps(state, JSON_COMPACT) : NULL;
		r = text ? husk_hooks_run(s, kind, text, err)
			 : husk_error_set(err, ENOMEM, "hooks");
	}
	husk_spec_free(s);
	return r;
}

/* The init's "KIND CODE message" line (container_init.c fail()). */
static int init_error(const char *line, husk_error **err)
{
	int kind = HUSK_ERR_SYSTEM, code = 0, used = 0;

	if (sscanf(line, "%d %d %n", &kind, &code, &used) != 2 || used == 0)
		return husk_error_restore(err, HUSK_ERR_SYSTEM, 0, line);
	return husk_error_restore(err, (enum husk_error_kind)kind, code, line + used);
}

/* Connects to the waiting init, and waits until it has exec'd (the
 * connection closes) or failed (it writes why). */
static int release_init(struct opened *c, husk_error **err)
{
	cleanup_close int fd = -1;
	char msg[2048];
	size_t len = 0;

	if (unix_connect_at(c->dirfd, "exec.sock", &fd) < 0)
		return husk_error_set(err, errno, "container `%s`: reach its init", c->st.id);
	unlinkat(c->dirfd, "exec.sock", 0);
	if (write(fd, "0", 1) != 1)
		return husk_error_set(err, errno, "container `%s`: release its init", c->st.id);
	for (;;) {
		ssize_t n = read(fd, msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == sizeof(msg) - 1)
			break;
	}
	if (len == 0)
		return 0;
	msg[len] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	return init_error(msg, err);
}

int husk_container_start(const struct husk_runtime *rt, const char *id, husk_error **err)
{
	cleanup_opened struct opened c;
	husk_error *warn = NULL;

	if (open_container(rt, id, true, &c, err) < 0)
		return -1;
	if (c.status != HUSK_STATUS_CREATED)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "container `%s` is %s, not created: cannot start it", id,
				       husk_status_name(c.status));
	if (release_init(&c, err) < 0)
		return -1;
	if (run_saved_hooks(&c, HUSK_HOOK_POSTSTART, HUSK_STATUS_RUNNING, &warn) < 0 && rt->warn)
		runtime_warn(rt, warn->msg);
	husk_error_free(&warn);
	return 0;
}

/* The poststart hooks of a container started by handle, from its state. */
static void run_poststart(const struct husk_handle *h)
{
	cleanup_opened struct opened c;
	husk_error *warn = NULL;

	if (open_container(h->rt, h->id, false, &c, &warn) < 0 ||
	    run_saved_hooks(&c, HUSK_HOOK_POSTSTART, HUSK_STATUS_RUNNING, &warn) < 0)
		runtime_warn(h->rt, warn->msg);
	husk_error_free(&warn);
}

int husk_handle_start(struct husk_handle *h, husk_error **err)
{
	struct sync_msg m;
	int r = 0;

	if (h->sync < 0)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "container `%s`: not waiting for a start by this handle",
				       h->id);
	/* The socket closes when the init execs, or carries why it could not. */
	if (sync_send(h->sync, SYNC_GO, h->pid, NULL) < 0)
		r = husk_error_fail(err, HUSK_ERR_SYSTEM,
				    "container `%s`: init exited before start", h->id);
	else if (sync_recv(h->sync, &m, NULL) == 0 && m.type == SYNC_ERROR)
		r = sync_msg_error(&m, err);
	close(h->sync);
	h->sync = -1;
	if (r == 0 && h->poststart_hooks)
		run_poststart(h);
	return r;
}

int husk_container_state(const struct husk_runtime *rt, const char *id, json_t **ret,
			 husk_error **err)
{
	cleanup_opened struct opened c;

	if (open_container(rt, id, false, &c, err) < 0)
		return -1;
	*ret = husk_state_to_json(&c.st, c.status);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "state");
}

/* Shims match runc's words: containerd's runc shim takes an error holding
 * "container not running" (or "no such process") from kill as "already
 * gone", and any other text fails the stop, which is then retried for ever. */
#define NOT_RUNNING_FMT "container `%s`: container not running"

/* Signals the init through a pidfd checked against the saved start time, so
 * a recycled pid is never signalled. */
static int signal_init(const struct husk_state *st, int sig, husk_error **err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	unsigned long long start;
	int r;

	if (proc_start_time(st->pid, &start) < 0 || start != st->pid_start_time) {
		if (pidfd >= 0)
			close(pidfd);
		return husk_error_fail(err, HUSK_ERR_BUSY, NOT_RUNNING_FMT, st->id);
	}
	if (pidfd >= 0) {
		r = (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
		close(pidfd);
	} else {
		r = kill(st->pid, sig);
	}
	if (r < 0)
		return husk_error_set(err, errno, "signal container `%s`", st->id);
	return 0;
}

int load_cgroup(const struct husk_state *st, struct husk_cgroup *cg, husk_error **err)
{
	memset(cg, 0, sizeof(*cg));
	if (st->cgroup == NULL)
		return 0;
	return husk_cgroup_from_json(st->cgroup, cg, err);
}

/* Every process of the container's cgroup (the init alone without one). A
 * stopped container whose cgroup is gone or empty has nothing to signal. */
static int signal_all(const struct husk_state *st, bool stopped, int sig, husk_error **err)
{
	struct husk_cgroup cg;
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;
	int r;

	if (load_cgroup(st, &cg, err) < 0)
		return -1;
	if (husk_cgroup_is_none(&cg)) {
		husk_cgroup_clear(&cg);
		return stopped ? 0 : signal_init(st, sig, err);
	}
	/* SIGKILL through cgroup.kill also gets what forks meanwhile. */
	if (sig == SIGKILL && husk_cgroup_kill(&cg) == 0) {
		husk_cgroup_clear(&cg);
		return 0;
	}
	r = husk_cgroup_pids(&cg, &pids, &n, err);
	husk_cgroup_clear(&cg);
	if (r < 0 && stopped && err && husk_error_is(*err, HUSK_ERR_NOT_FOUND)) {
		husk_error_free(err);
		return 0;
	}
	if (r < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		kill(pids[i], sig);
	return 0;
}

int husk_container_kill(const struct husk_runtime *rt, const char *id, int sig, bool all,
			husk_error **err)
{
	cleanup_opened struct opened c;

	if (open_container(rt, id, false, &c, err) < 0)
		return -1;
	/* --all reaches what is left in the cgroup of a stopped container (a
	 * host-PID pod's children outlive its init; containerd's shim kills
	 * them so), as runc does; nothing left is no error. */
	if (all)
		return signal_all(&c.st, c.status == HUSK_STATUS_STOPPED, sig, err);
	if (c.status == HUSK_STATUS_STOPPED)
		return husk_error_fail(err, HUSK_ERR_BUSY, NOT_RUNNING_FMT, id);
	return signal_init(&c.st, sig, err);
}

/* Waits (bounded) until the init is gone; zombies count as gone. */
static void wait_stopped(struct opened *c)
{
	int pidfd = (int)syscall(SYS_pidfd_open, c->st.pid, 0);

	for (int i = 0; i < 1000; i++) {
		struct timespec ts = {0, 1000 * 1000};
		if (husk_state_status(c->dirfd, &c->st) == HUSK_STATUS_STOPPED)
			break;
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};
			poll(&p, 1, 10);
		} else {
			nanosleep(&ts, NULL);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
}

static int stop_for_delete(struct opened *c, bool force, husk_error **err)
{
	struct husk_cgroup cg;

	if (c->status == HUSK_STATUS_STOPPED)
		return 0;
	if (c->status != HUSK_STATUS_CREATED && !force)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "container `%s` is %s: stop it first, or use delete --force",
				       c->st.id, husk_status_name(c->status));
	if (load_cgroup(&c->st, &cg, NULL) == 0 && !husk_cgroup_is_none(&cg)) {
		signal_all(&c->st, false, SIGKILL, NULL);
		if (c->status == HUSK_STATUS_PAUSED)
			husk_cgroup_freeze(&cg, false, NULL);
	}
	husk_cgroup_clear(&cg);
	signal_init(&c->st, SIGKILL, NULL);
	wait_stopped(c);
	return 0;
}

/* create writes cgroup.json as soon as the cgroup exists, so that what a
 * runtime killed mid-create made can still be found and removed. */
static void remove_half_created(int dirfd)
{
	cleanup_free char *text = NULL;
	struct husk_cgroup cg;
	cleanup_json json_t *o = NULL;

	if (dirfd < 0 || read_file_at(dirfd, "cgroup.json", &text, NULL, NULL) < 0)
		return;
	o = json_loads(text, 0, NULL);
	if (o && husk_cgroup_from_json(o, &cg, NULL) == 0) {
		husk_cgroup_destroy(&cg, NULL);
		husk_cgroup_clear(&cg);
	}
}

int husk_container_delete(const struct husk_runtime *rt, const char *id, bool force,
			  husk_error **err)
{
	cleanup_opened struct opened c;
	struct husk_cgroup cg;
	husk_error *warn = NULL;
	int r = 0;

	if (open_container(rt, id, true, &c, err) < 0) {
		/* A state dir without a readable state: left by a runtime
		 * killed mid-create. Remove what it made. */
		if (force && c.dirfd >= 0) {
			husk_error_free(err);
			remove_half_created(c.dirfd);
			husk_state_dir_remove(rt->root, id);
			return 0;
		}
		return -1;
	}
	if (stop_for_delete(&c, force, err) < 0)
		return -1;
	if (run_saved_hooks(&c, HUSK_HOOK_POSTSTOP, HUSK_STATUS_STOPPED, &warn) < 0 && rt->warn)
		runtime_warn(rt, warn->msg);
	husk_error_free(&warn);
	if (load_cgroup(&c.st, &cg, err) < 0)
		return -1;
	r = husk_cgroup_destroy(&cg, err);
	husk_cgroup_clear(&cg);
	husk_state_dir_remove(rt->root, id);
	return r;
}

int husk_container_list(const struct husk_runtime *rt, json_t **ret, husk_error **err)
{
	cleanup_strv char **ids = NULL;
	cleanup_json json_t *arr = json_array();

	if (arr == NULL || husk_state_list(rt->root, &ids, err) < 0)
		return arr ? -1 : husk_error_set(err, ENOMEM, "list");
	for (size_t i = 0; ids[i]; i++) {
		struct opened c;
		json_t *o;
		if (open_container(rt, ids[i], false, &c, NULL) < 0) {
			opened_close(&c);
			continue;
		}
		o = husk_state_to_json(&c.st, c.status);
		if (o) {
			json_object_set_new(o, "created",
					    json_string(c.st.created ? c.st.created : ""));
			json_object_set_new(o, "owner", json_string(c.st.owner ? c.st.owner : ""));
			json_array_append_new(arr, o);
		}
		opened_close(&c);
	}
	*ret = steal_pointer(&arr);
	return 0;
}

int husk_container_pids(const struct husk_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
			husk_error **err)
{
	cleanup_opened struct opened c;
	struct husk_cgroup cg;
	int r;

	if (open_container(rt, id, false, &c, err) < 0 || load_cgroup(&c.st, &cg, err) < 0)
		return -1;
	if (husk_cgroup_is_none(&cg)) {
		*ret_n = 0;
		*ret = calloc(1, sizeof(pid_t));
		if (*ret && c.status != HUSK_STATUS_STOPPED)
			(*ret)[(*ret_n)++] = c.st.pid;
		return *ret ? 0 : husk_error_set(err, ENOMEM, "ps");
	}
	r = husk_cgroup_pids(&cg, ret, ret_n, err);
	husk_cgroup_clear(&cg);
	return r;
}

static int set_frozen(const struct husk_runtime *rt, const char *id, bool frozen, husk_error **err)
{
	cleanup_opened struct opened c;
	struct husk_cgroup cg;
	enum husk_status want = frozen ? HUSK_STATUS_RUNNING : HUSK_STATUS_PAUSED;
	int r;

	if (open_container(rt, id, true, &c, err) < 0)
		return -1;
	if (c.status != want && !(frozen && c.status == HUSK_STATUS_CREATED))
		return husk_error_fail(err, HUSK_ERR_BUSY, "container `%s` is %s: cannot %s it", id,
				       husk_status_name(c.status), frozen ? "pause" : "resume");
	if (load_cgroup(&c.st, &cg, err) < 0)
		return -1;
	if (husk_cgroup_is_none(&cg)) {
		husk_cgroup_clear(&cg);
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "container `%s` has no cgroup: cannot %s it", id,
				       frozen ? "pause" : "resume");
	}
	r = husk_cgroup_freeze(&cg, frozen, err);
	husk_cgroup_clear(&cg);
	return r;
}

int husk_container_pause(const struct husk_runtime *rt, const char *id, husk_error **err)
{
	return set_frozen(rt, id, true, err);
}

int husk_container_resume(const struct husk_runtime *rt, const char *id, husk_error **err)
{
	return set_frozen(rt, id, false, err);
}

/* Loads the cgroup of a container that still exists and is not stopped. */
/* The container's cgroup, as recorded, whether or not its init runs. */
static int recorded_cgroup(struct opened *c, const char *id, struct husk_cgroup *cg,
			   husk_error **err)
{
	if (load_cgroup(&c->st, cg, err) < 0)
		return -1;
	if (husk_cgroup_is_none(cg))
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "container `%s` has no cgroup",
				       id);
	return 0;
}

static int live_cgroup(const struct husk_runtime *rt, const char *id, bool exclusive,
		       struct opened *c, struct husk_cgroup *cg, husk_error **err)
{
	if (open_container(rt, id, exclusive, c, err) < 0)
		return -1;
	if (c->status == HUSK_STATUS_STOPPED)
		return husk_error_fail(err, HUSK_ERR_BUSY, "container `%s` is stopped", id);
	return recorded_cgroup(c, id, cg, err);
}

int husk_container_update(const struct husk_runtime *rt, const char *id, json_t *resources,
			  husk_error **err)
{
	cleanup_opened struct opened c;
	struct husk_cgroup cg = {0};
	int r = live_cgroup(rt, id, true, &c, &cg, err);

	if (r == 0)
		r = husk_cgroup_apply(&cg, resources, err);
	husk_cgroup_clear(&cg);
	return r;
}

int husk_container_stats(const struct husk_runtime *rt, const char *id, json_t **ret,
			 husk_error **err)
{
	cleanup_opened struct opened c;
	struct husk_cgroup cg = {0};
	json_t *data = NULL;
	int r = live_cgroup(rt, id, false, &c, &cg, err);

	if (r == 0)
		r = husk_cgroup_stats(&cg, &data, err);
	husk_cgroup_clear(&cg);
	if (r < 0)
		return -1;
	*ret = json_pack("{s:s, s:s, s:o}", "type", "stats", "id", id, "data", data);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "stats");
}

int husk_container_oom_count(const struct husk_runtime *rt, const char *id, uint64_t *ret,
			     husk_error **err)
{
	cleanup_opened struct opened c;
	struct husk_cgroup cg = {0};
	/* asked for once the init has exited, too: the cgroup stays until
	 * the delete */
	int r = open_container(rt, id, false, &c, err) < 0 ? -1 : recorded_cgroup(&c, id, &cg, err);

	if (r == 0 && husk_cgroup_oom_count(&cg, ret) < 0)
		r = husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "container `%s`: no OOM counter",
				    id);
	husk_cgroup_clear(&cg);
	return r;
}
