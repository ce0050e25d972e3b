/* SPDX-License-Identifier: MIT */
/* husk run: a container from an image, under its monitor, in the
 * foreground (attached) or detached (-d). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "attach.h"
#include "attach_client.h"
#include "ctl.h"
#include "launch.h"
#include "lifecycle.h"
#include "net.h"
#include "util.h"

/* Docker's exit codes for a command the core could not start. */
static int exit_code_of(const husk_error *err)
{
	if (husk_error_is(err, HUSK_ERR_NOT_FOUND))
		return EXIT_NOT_FOUND;
	if (husk_error_is(err, HUSK_ERR_PERMISSION))
		return EXIT_CANNOT_INVOKE;
	return EXIT_ENGINE;
}

/* Signals that come while the container is made wait (blocked) instead of
 * killing husk half-way: the attached session forwards the pending ones. */
static void block_forwarded_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* A start that failed: the container stays, created, with the error (as
 * Docker's), unless --rm. */
static int start_failed(struct engine *e, struct ctr *c, husk_error *err)
{
	husk_error *rm_err = NULL;
	int code = exit_code_of(err);

	engine_error("%s", err->msg ? err->msg : "failed");
	if (c->auto_remove) {
		if (ctr_remove(e, c, true, &rm_err) < 0) {
			engine_error("removing container %s: %s", c->id, rm_err->msg);
			husk_error_free(&rm_err);
		}
	} else {
		/* the monitor may have died after the start (the lock is ours) */
		ctr_start_undo(e, c);
		free(c->st.error);
		c->st.error = strdup(err->msg ? err->msg : "failed");
		ctr_save_state(c, NULL);
	}
	husk_error_free(&err);
	return code;
}

/* The monitor handed the exit over (launch.h): recorded here, then the
 * monitor is let go. A failure to record is told; the exit status stays
 * the container's. */
static void record_handed_exit(struct engine *e, const struct ctr *c, int sock, int status)
{
	char done = ATTACH_DONE;
	husk_error *err = NULL;

	if (ctr_record_final_exit(e, c->id, status, &err) < 0 &&
	    !husk_error_is(err, HUSK_ERR_NOT_FOUND))
		engine_error("container %s: %s", c->id, err->msg ? err->msg : "failed");
	husk_error_free(&err);
	send(sock, &done, 1, MSG_NOSIGNAL);
}

/* Starts c under its monitor and, unless detached, stays attached until it
 * exits: its exit status is ours. Attached with no restart policy, this
 * process records the exit (the run's owner, launch.h): no exec of husk in
 * the monitor, and `run --rm` returns once the container is gone. */
int ctr_start_and_attach(struct engine *e, struct ctr *c, bool detach, bool stdin_open)
{
	husk_error *err = NULL;
	int pair[2] = {-1, -1}, status = 0, r;

	if (!detach && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		husk_error_set(&err, errno, "socketpair");
		return start_failed(e, c, err);
	}
	/* a stop asked for before is over: the restart policy applies again */
	if (ctr_lock(c, &err) < 0 || ctr_mark(c, "stop-requested", false, &err) < 0 ||
	    ctr_launch(e, c, pair[1], c->restart == RESTART_NO, &err) < 0) {
		closep(&pair[0]);
		closep(&pair[1]);
		return start_failed(e, c, err);
	}
	ctr_unlock(c);
	closep(&pair[1]);
	if (detach)
		return 0;
	r = attach_run(pair[0], c->tty, stdin_open, &status, &err);
	if (r == ATTACH_HANDED) {
		record_handed_exit(e, c, pair[0], status);
		r = ATTACH_EXITED;
	}
	close(pair[0]);
	if (r < 0)
		return engine_fail(err);
	if (r == ATTACH_LOST) {
		engine_error("container %s: its monitor went away: see husk ps -a", c->id);
		return EXIT_ENGINE;
	}
	return r == ATTACH_EXITED ? status : 0;
}

int cmd_run(struct engine *e, int argc, char **argv)
{
	struct run_options o = {0};
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	int image, status;

	net_default_mode(e, &o);
	image = run_options_parse(&o, argc, argv);
	if (image <= 0) {
		run_options_clear(&o);
		return image == 0 ? 0 : EXIT_ENGINE;
	}
	block_forwarded_signals();
	if (ctr_create(e, argv[image], &o, &c, &err) < 0) {
		run_options_clear(&o);
		return engine_fail(err);
	}
	status = ctr_start_and_attach(e, c, o.detach, o.interactive);
	if (o.detach && status == 0)
		printf("%s\n", c->id);
	run_options_clear(&o);
	return status;
}

/* husk create: run's options; the container is made, not started. */
int cmd_create(struct engine *e, int argc, char **argv)
{
	struct run_options o = {0};
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	int image;

	net_default_mode(e, &o);
	image = run_options_parse(&o, argc, argv);

	if (image <= 0) {
		run_options_clear(&o);
		return image == 0 ? 0 : EXIT_ENGINE;
	}
	if (ctr_create(e, argv[image], &o, &c, &err) < 0) {
		run_options_clear(&o);
		return engine_fail(err);
	}
	printf("%s\n", c->id);
	run_options_clear(&o);
	return 0;
}
