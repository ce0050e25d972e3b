/* SPDX-License-Identifier: MIT */
/* husk stop, kill, wait, restart. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "signals.h"
#include "util.h"

int ctr_start_and_attach(struct engine *e, struct ctr *c, bool detach, bool stdin_open);

/* -t/--time SECONDS for stop and restart; -1 when not given. */
static int parse_time(const char *verb, int argc, char **argv, int *ret)
{
	static const struct option opts[] = {
	    {"time", required_argument, NULL, 't'},
	    {"timeout", required_argument, NULL, 't'},
	    {0},
	};
	int64_t v;
	int c;

	*ret = -2;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":t:", opts, NULL)) != -1) {
		if (c != 't')
			return engine_flag_error(verb, c, argv);
		if (parse_int64(optarg, -1, INT32_MAX, &v) < 0) {
			engine_error("%s: --time `%s`: must be a number of seconds", verb, optarg);
			return EXIT_ENGINE;
		}
		*ret = (int)v;
	}
	if (optind >= argc) {
		engine_error("%s: a container is required", verb);
		return EXIT_ENGINE;
	}
	return 0;
}

/* Runs fn on each container named from argv[optind]: Docker prints each
 * name as given once done, and an error line for each that failed. */
static int each(struct engine *e, int argc, char **argv, int timeout,
		int (*fn)(struct engine *, struct ctr *, int, husk_error **))
{
	int status = 0;

	for (int i = optind; i < argc; i++) {
		cleanup_ctr struct ctr *c = NULL;
		husk_error *err = NULL;
		if (ctr_lookup(e, argv[i], &c, &err) < 0 || fn(e, c, timeout, &err) < 0) {
			status = engine_fail(err);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return status;
}

static int stop_one(struct engine *e, struct ctr *c, int timeout, husk_error **err)
{
	return ctr_stop(e, c, timeout == -2 ? c->stop_timeout : timeout, err);
}

int cmd_stop(struct engine *e, int argc, char **argv)
{
	int timeout, r = parse_time("stop", argc, argv, &timeout);

	return r ? r : each(e, argc, argv, timeout, stop_one);
}

static int restart_one(struct engine *e, struct ctr *c, int timeout, husk_error **err)
{
	if (stop_one(e, c, timeout, err) < 0)
		return -1;
	/* detached: errors are printed by the start itself */
	return ctr_start_and_attach(e, c, true, false) == 0
		   ? 0
		   : husk_error_fail(err, HUSK_ERR_SYSTEM, "cannot start %s", c->id);
}

int cmd_restart(struct engine *e, int argc, char **argv)
{
	int timeout, r = parse_time("restart", argc, argv, &timeout);

	return r ? r : each(e, argc, argv, timeout, restart_one);
}

static int kill_one(struct engine *e, struct ctr *c, int sig, husk_error **err)
{
	if (ctr_status_now(c, NULL) != CTR_RUNNING)
		return husk_error_fail(err, HUSK_ERR_INVALID, "container %s is not running",
				       c->name ? c->name : c->id);
	/* A kill meant to end it: the restart policy leaves it stopped. */
	if ((sig == SIGKILL || sig == c->stop_signal) &&
	    ctr_mark(c, "stop-requested", true, err) < 0)
		return -1;
	return husk_container_kill(&e->rt, c->id, sig, false, err);
}

int cmd_kill(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"signal", required_argument, NULL, 's'},
	    {0},
	};
	int c, sig = SIGKILL;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:", opts, NULL)) != -1) {
		if (c != 's')
			return engine_flag_error("kill", c, argv);
		if (husk_signal_parse(optarg, &sig) < 0) {
			engine_error("kill: `%s` is not a signal", optarg);
			return EXIT_ENGINE;
		}
	}
	if (optind >= argc) {
		engine_error("kill: a container is required");
		return EXIT_ENGINE;
	}
	return each(e, argc, argv, sig, kill_one);
}

int cmd_wait(struct engine *e, int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		engine_error("wait: a container is required");
		return EXIT_ENGINE;
	}
	for (int i = 1; i < argc; i++) {
		cleanup_ctr struct ctr *c = NULL;
		husk_error *err = NULL;
		if (ctr_lookup(e, argv[i], &c, &err) < 0 || ctr_wait_stopped(c, -1, &err) < 0 ||
		    ctr_heal(e, c, &err) < 0) {
			status = engine_fail(err);
			continue;
		}
		printf("%d\n", c->st.exit_code);
	}
	return status;
}
