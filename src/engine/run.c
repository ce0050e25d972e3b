/* SPDX-License-Identifier: MIT */
/* husk run: a container from an image, in the foreground. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lifecycle.h"
#include "util.h"

/* Docker's exit codes for a command the core could not start. */
static int exit_code_of(const struct engine_container *c, const husk_error *err)
{
	if (c->core_failed && husk_error_is(err, HUSK_ERR_NOT_FOUND))
		return EXIT_NOT_FOUND;
	if (c->core_failed && husk_error_is(err, HUSK_ERR_PERMISSION))
		return EXIT_CANNOT_INVOKE;
	return EXIT_ENGINE;
}

/* Without -i the container's stdin is /dev/null, as Docker's. */
static int detach_stdin(void)
{
	cleanup_close int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	return fd < 0 || dup2(fd, 0) < 0 ? -1 : 0;
}

/* Signals that come while the container is made or removed wait (blocked)
 * instead of killing husk half-way: husk_foreground() forwards the pending
 * ones to the container once it runs, and they are dropped after it exits. */
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

int cmd_run(struct engine *e, int argc, char **argv)
{
	struct run_options o = {0};
	struct engine_container c;
	husk_error *err = NULL, *rm_err = NULL;
	int image, status = EXIT_ENGINE;

	image = run_options_parse(&o, argc, argv);
	if (image > 0 && (!o.rm || o.detach)) {
		engine_error("run: keeping a stopped container is not supported yet: use --rm");
		image = -1;
	}
	if (image <= 0) {
		run_options_clear(&o);
		return image == 0 ? 0 : EXIT_ENGINE;
	}
	if (!o.interactive && detach_stdin() < 0) {
		run_options_clear(&o);
		engine_error("run: cannot open /dev/null");
		return EXIT_ENGINE;
	}
	block_forwarded_signals();
	if (container_create(e, argv[image], &o, &c, &err) == 0)
		container_run_foreground(&c, &status, &err);
	if (err != NULL) {
		engine_error("%s", err->msg ? err->msg : "failed");
		status = exit_code_of(&c, err);
		husk_error_free(&err);
	}
	if (container_remove(e, &c, &rm_err) < 0) {
		engine_error("removing container %s: %s", c.id, rm_err->msg);
		husk_error_free(&rm_err);
		if (status < EXIT_ENGINE)
			status = EXIT_ENGINE;
	}
	run_options_clear(&o);
	return status;
}
