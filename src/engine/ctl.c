/* SPDX-License-Identifier: MIT */
/* Stopping, waiting for and healing containers. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "lifecycle.h"
#include "net.h"
#include "rootfs.h"
#include "util.h"

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pidfd for pid if it still is the process that started at start. */
static int pidfd_of(pid_t pid, unsigned long long start)
{
	int fd;

	if (pid <= 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0 && !process_alive(pid, start)) {
		close(fd);
		return -1;
	}
	return fd;
}

int ctr_wait_stopped(struct ctr *c, int timeout_ms, husk_error **err)
{
	int64_t deadline = monotonic_ms() + timeout_ms;

	for (;;) {
		cleanup_close int fd = -1;
		struct pollfd p;
		int left = -1, r;

		husk_error *e1 = NULL;

		if (ctr_reload_state(c, &e1) < 0) {
			/* removed as it stopped (--rm): stopped */
			if (husk_error_is(e1, HUSK_ERR_NOT_FOUND)) {
				husk_error_free(&e1);
				return 0;
			}
			*err = e1;
			return -1;
		}
		if (c->st.status != CTR_RUNNING && c->st.status != CTR_RESTARTING)
			return 0;
		fd = pidfd_of(c->st.monitor_pid, c->st.monitor_start);
		if (fd < 0)
			fd = pidfd_of(c->st.pid, c->st.pid_start);
		if (fd < 0)
			return 0; /* neither lives: stopped, the record is stale */
		if (timeout_ms >= 0) {
			left = (int)(deadline - monotonic_ms());
			if (left <= 0)
				return 1;
		}
		p = (struct pollfd){.fd = fd, .events = POLLIN};
		r = poll(&p, 1, left);
		if (r < 0 && errno != EINTR)
			return husk_error_set(err, errno, "poll");
	}
}

int ctr_stop(struct engine *e, struct ctr *c, int timeout, husk_error **err)
{
	husk_error *e1 = NULL;
	int r;

	if (ctr_mark(c, "stop-requested", true, err) < 0)
		return -1;
	if (ctr_status_now(c, NULL) != CTR_RUNNING)
		return ctr_wait_stopped(c, -1, err) < 0 ? -1 : ctr_heal(e, c, err);
	if (husk_container_kill(&e->rt, c->id, c->stop_signal, false, &e1) < 0)
		husk_error_free(&e1); /* it may just have exited */
	r = ctr_wait_stopped(c, timeout < 0 ? -1 : timeout * 1000, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		if (husk_container_kill(&e->rt, c->id, SIGKILL, true, &e1) < 0)
			husk_error_free(&e1);
		if (ctr_wait_stopped(c, -1, err) < 0)
			return -1;
	}
	return ctr_heal(e, c, err);
}

bool ctr_busy(const struct ctr *c)
{
	bool monitor;
	enum ctr_status now = ctr_status_now(c, &monitor);

	return monitor || now == CTR_RUNNING || now == CTR_RESTARTING;
}

bool ctr_needs_heal(const struct ctr *c)
{
	bool monitor;
	enum ctr_status now = ctr_status_now(c, &monitor);

	if (monitor)
		return false;
	/* its monitor, or the process starting it, was killed */
	if (c->st.monitor_pid != 0)
		return true;
	/* running unmonitored (healed before) until its init is gone */
	return (c->st.status == CTR_RUNNING || c->st.status == CTR_RESTARTING) && now == CTR_EXITED;
}

/* Whether the core runs the container's process (started: not an init
 * still waiting for a start that will never come), and its pid. */
static bool core_running(struct engine *e, const char *id, pid_t *ret_pid)
{
	cleanup_json json_t *state = NULL;
	const char *status;

	if (husk_container_state(&e->rt, id, &state, NULL) < 0)
		return false;
	status = json_string_value(json_object_get(state, "status"));
	*ret_pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
	return *ret_pid > 0 && status &&
	       (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0);
}

static void set_text(char **field, const char *text)
{
	free(*field);
	*field = text ? strdup(text) : NULL;
}

/* Its process runs with no monitor: recorded as such (ps: "Up ... (its
 * monitor was killed)"); stop and rm -f kill it through the core. */
static void record_unmonitored(struct ctr *c, pid_t pid, const char *now)
{
	if (c->st.status != CTR_RUNNING && c->st.status != CTR_RESTARTING)
		set_text(&c->st.started_at, now); /* its starter was killed */
	if (c->st.pid != pid && proc_start_time(pid, &c->st.pid_start) < 0)
		c->st.pid_start = 0;
	c->st.status = CTR_RUNNING;
	c->st.pid = pid;
}

/* Nothing of it runs: it exited (its monitor killed), or its start never
 * finished (its starter killed) and it is as it was before. */
static void record_stopped(struct ctr *c, const char *now)
{
	switch (c->st.status) {
	case CTR_RUNNING:
		c->st.status = CTR_EXITED;
		c->st.exit_code = 255;
		set_text(&c->st.finished_at, now);
		set_text(&c->st.error, "its monitor was killed: the exit code is unknown");
		break;
	case CTR_RESTARTING: /* its last exit is recorded */
		c->st.status = CTR_EXITED;
		set_text(&c->st.error, "its monitor was killed while it restarted");
		break;
	default:
		set_text(&c->st.error, "its start was interrupted: the process starting it "
				       "was killed");
		break;
	}
	c->st.pid = 0;
	c->st.pid_start = 0;
}

/* Under the lock: the record made true from what the core says. */
static int heal_locked(struct engine *e, struct ctr *c, husk_error **err)
{
	pid_t pid = 0;
	char now[64];

	rfc3339_now(now);
	if (core_running(e, c->id, &pid)) {
		record_unmonitored(c, pid, now);
	} else {
		/* an init created and waiting, the core's state, its network,
		 * the overlay */
		husk_container_delete(&e->rt, c->id, true, NULL);
		net_container_down(e, c->id);
		if (rootfs_unmount(c->dir, err) < 0)
			return -1;
		record_stopped(c, now);
	}
	c->st.monitor_pid = 0;
	c->st.monitor_start = 0;
	return ctr_save_state(c, err);
}

int ctr_heal(struct engine *e, struct ctr *c, husk_error **err)
{
	bool held = c->lock_fd >= 0;
	int r = 0;

	if (!ctr_needs_heal(c))
		return 0;
	if (ctr_lock(c, err) < 0)
		return -1;
	if (held && ctr_reload_state(c, err) < 0)
		return -1;
	if (ctr_needs_heal(c)) {
		r = heal_locked(e, c, err);
		if (r == 0 && c->auto_remove && c->st.status == CTR_EXITED)
			r = ctr_remove(e, c, true, err) < 0 ? -1 : 1;
	}
	if (!held)
		ctr_unlock(c);
	return r;
}

void ctr_start_undo(struct engine *e, struct ctr *c)
{
	husk_container_delete(&e->rt, c->id, true, NULL);
	net_container_down(e, c->id);
	rootfs_unmount(c->dir, NULL);
}

double rfc3339_seconds(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	double frac = 0;

	if (end == NULL)
		return 0;
	if (*end == '.')
		frac = strtod(end, NULL);
	return (double)timegm(&tm) + frac;
}

void human_since(const char *rfc3339, char *buf, size_t len)
{
	struct timespec ts;
	double s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = (double)ts.tv_sec + ts.tv_nsec / 1e9 - rfc3339_seconds(rfc3339);
	if (s < 1)
		snprintf(buf, len, "Less than a second");
	else if (s < 60)
		snprintf(buf, len, "%d second%s", (int)s, (int)s == 1 ? "" : "s");
	else if (s < 120)
		snprintf(buf, len, "About a minute");
	else if (s < 3600)
		snprintf(buf, len, "%d minutes", (int)(s / 60));
	else if (s < 7200)
		snprintf(buf, len, "About an hour");
	else if (s < 48 * 3600)
		snprintf(buf, len, "%d hours", (int)(s / 3600));
	else if (s < 14 * 86400)
		snprintf(buf, len, "%d days", (int)(s / 86400));
	else if (s < 60 * 86400)
		snprintf(buf, len, "%d weeks", (int)(s / (7 * 86400)));
	else if (s < 2 * 365 * 86400)
		snprintf(buf, len, "%d months", (int)(s / (30 * 86400)));
	else
		snprintf(buf, len, "%d years", (int)(s / (365 * 86400)));
}
