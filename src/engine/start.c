/* SPDX-License-Identifier: MIT */
/* husk start [-a] [-i] CONTAINER...: created or exited containers, started
 * again under a new monitor (their writable layer kept). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "ctl.h"
#include "util.h"

int ctr_start_and_attach(struct engine *e, struct ctr *c, bool detach, bool stdin_open);

static int start_one(struct engine *e, const char *ref, bool attach, bool interactive)
{
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	int r;

	if (ctr_lookup(e, ref, &c, &err) < 0 || ctr_heal(e, c, &err) < 0)
		return engine_fail(err);
	if (ctr_status_now(c, NULL) == CTR_RUNNING) {
		if (!attach)
			printf("%s\n", ref);
		return 0;
	}
	if (ctr_mark(c, "stop-requested", false, &err) < 0)
		return engine_fail(err);
	r = ctr_start_and_attach(e, c, !attach, interactive && attach);
	if (r == 0 && !attach)
		printf("%s\n", ref);
	return r;
}

int cmd_start(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"attach", no_argument, NULL, 'a'},
	    {"interactive", no_argument, NULL, 'i'},
	    {0},
	};
	bool attach = false, interactive = false;
	int c, status = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":ai", opts, NULL)) != -1) {
		if (c == 'a')
			attach = true;
		else if (c == 'i')
			interactive = true;
		else
			return engine_flag_error("start", c, argv);
	}
	if (optind >= argc) {
		engine_error("start: a container is required");
		return EXIT_ENGINE;
	}
	if (attach && argc - optind > 1) {
		engine_error("start: -a takes one container");
		return EXIT_ENGINE;
	}
	for (int i = optind; i < argc; i++) {
		int r = start_one(e, argv[i], attach, interactive);
		if (r != 0)
			status = r;
	}
	return status;
}
