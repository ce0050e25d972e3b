/* SPDX-License-Identifier: MIT */
/*
 * husk __monitor-exit ID STATUS [CLIENT-FD...]: run by the monitor, in its
 * own process, when the container's init has exited. Records the exit
 * (code, time, OOM kill), removes the container from the core (cgroup,
 * state), then applies the restart policy: either starts it again and
 * becomes its monitor once more, or unmounts its rootfs (and removes it
 * all, with --rm) and tells the attached clients the exit status.
 *
 * A run with no restart policy whose launching client is still attached
 * (its owner, launch.h) has it done there instead, in the client's own
 * process: ctr_record_final_exit(). This program is then the fallback for
 * an owner that is gone, even one killed half-way through a removal.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "launch.h"
#include "lifecycle.h"
#include "net.h"
#include "remains.h"
#include "rootfs.h"
#include "util.h"

#define BACKOFF_START_MS 100
#define BACKOFF_MAX_MS	 10000

static bool wants_restart(const struct ctr *c, int status)
{
	if (ctr_marked(c, "stop-requested"))
		return false;
	switch (c->restart) {
	case RESTART_ALWAYS:
	case RESTART_UNLESS_STOPPED:
		return true;
	case RESTART_ON_FAILURE:
		return status != 0 && (c->restart_max == 0 || c->st.restart_count < c->restart_max);
	default:
		return false;
	}
}

static void record_exit(struct engine *e, struct ctr *c, int status)
{
	char now[64];
	uint64_t ooms = 0;

	if (husk_container_oom_count(&e->rt, c->id, &ooms, NULL) == 0 && ooms > 0)
		c->st.oom_killed = true;
	husk_container_delete(&e->rt, c->id, true, NULL);
	net_container_down(e, c->id);
	rfc3339_now(now);
	c->st.exit_code = status;
	c->st.pid = 0;
	c->st.pid_start = 0;
	free(c->st.finished_at);
	c->st.finished_at = strdup(now);
}

static void tell_clients(int *fds, size_t n, int status)
{
	char msg[16];
	int len = snprintf(msg, sizeof(msg), "%c%d", ATTACH_EXIT, status);

	for (size_t i = 0; i < n; i++) {
		send(fds[i], msg, (size_t)len, MSG_NOSIGNAL);
		close(fds[i]);
	}
}

/* Sleeps the restart back-off (100 ms doubling, at most 10 s), ending early
 * when a stop is asked for. Returns whether to restart. */
static bool backoff(const struct ctr *c)
{
	int ms = BACKOFF_START_MS;

	for (int i = 1; i < c->st.restart_count && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	for (int waited = 0; waited < ms; waited += 50) {
		if (ctr_marked(c, "stop-requested"))
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	}
	return !ctr_marked(c, "stop-requested");
}

/* Stopped for good: the rootfs unmounted, or everything removed (--rm). */
static int finish(struct engine *e, struct ctr *c, husk_error **err)
{
	c->st.status = CTR_EXITED;
	c->st.monitor_pid = 0;
	c->st.monitor_start = 0;
	if (c->auto_remove)
		return ctr_remove(e, c, true, err);
	if (rootfs_unmount(c->dir, err) < 0)
		return -1;
	return ctr_save_state(c, err);
}

int ctr_record_final_exit(struct engine *e, const char *id, int status, husk_error **err)
{
	cleanup_ctr struct ctr *c = NULL;

	if (ctr_load(e, id, &c, err) < 0 || ctr_lock(c, err) < 0)
		return -1;
	record_exit(e, c, status);
	return finish(e, c, err);
}

static int restart(struct engine *e, struct ctr *c, husk_error **err)
{
	c->st.status = CTR_RESTARTING;
	c->st.restart_count++;
	if (ctr_save_state(c, err) < 0)
		return -1;
	ctr_unlock(c);
	if (!backoff(c))
		return 1;
	if (ctr_lock(c, err) < 0)
		return -1;
	if (ctr_marked(c, "stop-requested"))
		return 1;
	/* returns only when it failed */
	ctr_become_monitor(e, c, NULL, 0, err);
	return -1;
}

/* No record: the run's owner was removing the container (--rm) when it
 * was killed. What it left is removed here, as system prune would: the
 * dir without its record, or the dir renamed away (remains.h). */
static void finish_removal(struct engine *e, const char *id)
{
	cleanup_close int lock = -1;
	cleanup_dir DIR *d = NULL;
	struct dirent *de;

	if (ctr_remains_of(e, id, &lock) == REMAINS_ABANDONED)
		ctr_remove_remains(e, id, NULL);
	d = opendir(e->paths.containers);
	while (d && (de = readdir(d)) != NULL) {
		const char *what;
		char other[65];
		bool alive;
		if (ctr_transit_parse(de->d_name, &what, other, &alive) && !alive &&
		    strcmp(other, id) == 0)
			ctr_transit_remove(e, de->d_name, NULL);
	}
}

int cmd_monitor_exit(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	int fds[16], status, r;
	size_t n = 0;
	int64_t v;

	if (argc < 3 || parse_int64(argv[2], 0, 255, &v) < 0)
		return EXIT_ENGINE;
	status = (int)v;
	for (int i = 3; i < argc && n < ARRAY_SIZE(fds); i++)
		if (parse_int64(argv[i], 3, 65535, &v) == 0)
			fds[n++] = (int)v;
	if (ctr_load(e, argv[1], &c, &err) < 0 || ctr_lock(c, &err) < 0) {
		if (!husk_error_is(err, HUSK_ERR_NOT_FOUND))
			return engine_fail(err);
		husk_error_free(&err);
		finish_removal(e, argv[1]);
		tell_clients(fds, n, status);
		return 0;
	}
	record_exit(e, c, status);
	if (wants_restart(c, status)) {
		/* Those attached learn how this run ended; the next is not theirs. */
		tell_clients(fds, n, status);
		n = 0;
		r = restart(e, c, &err);
		if (r < 0) {
			free(c->st.error);
			c->st.error = strdup(err && err->msg ? err->msg : "restart failed");
			husk_error_free(&err);
		}
		if (ctr_lock(c, &err) < 0)
			return engine_fail(err);
	}
	r = finish(e, c, &err);
	/* After the removal (--rm): `husk run --rm` returns with nothing left. */
	tell_clients(fds, n, status);
	return r < 0 ? engine_fail(err) : 0;
}
