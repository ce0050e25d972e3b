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

int ctr_heal(struct engine *e, struct ctr *c, husk_error **err)
{
	bool monitor;
	char now[64];

	if (c->st.status != CTR_RUNNING && c->st.status != CTR_RESTARTING)
		return 0;
	if (ctr_status_now(c, &monitor) != CTR_EXITED || monitor)
		return 0;
	if (ctr_lock(c, err) < 0)
		return -1;
	if (ctr_status_now(c, &monitor) != CTR_EXITED || monitor ||
	    (c->st.status != CTR_RUNNING && c->st.status != CTR_RESTARTING)) {
		ctr_unlock(c);
		return 0;
	}
	husk_container_delete(&e->rt, c->id, true, NULL);
	if (rootfs_unmount(c->dir, err) < 0) {
		ctr_unlock(c);
		return -1;
	}
	rfc3339_now(now);
	c->st.status = CTR_EXITED;
	c->st.exit_code = 255;
	c->st.pid = c->st.monitor_pid = 0;
	c->st.pid_start = c->st.monitor_start = 0;
	free(c->st.finished_at);
	c->st.finished_at = strdup(now);
	free(c->st.error);
	c->st.error = strdup("its monitor was killed: the exit code is unknown");
	if (ctr_save_state(c, err) < 0) {
		ctr_unlock(c);
		return -1;
	}
	ctr_unlock(c);
	return c->auto_remove ? ctr_remove(e, c, true, err) : 0;
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
