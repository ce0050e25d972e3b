/* SPDX-License-Identifier: MIT */
/* husk attach [--no-stdin] CONTAINER: to a running container's monitor. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "attach_client.h"
#include "ctl.h"
#include "util.h"

int cmd_attach(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"no-stdin", no_argument, NULL, 'n'},
	    {0},
	};
	cleanup_ctr struct ctr *c = NULL;
	cleanup_close int sock = -1;
	husk_error *err = NULL;
	bool no_stdin = false;
	int opt, status = 0, r;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (opt != 'n')
			return engine_flag_error("attach", opt, argv);
		no_stdin = true;
	}
	if (argc - optind != 1) {
		engine_error("attach: one container is required");
		return EXIT_ENGINE;
	}
	if (ctr_lookup(e, argv[optind], &c, &err) < 0)
		return engine_fail(err);
	if (ctr_status_now(c, NULL) != CTR_RUNNING) {
		engine_error("container %s is not running", argv[optind]);
		return EXIT_ENGINE;
	}
	if (attach_connect(c->dir, &sock, &err) < 0)
		return engine_fail(err);
	r = attach_run(sock, c->tty, c->open_stdin && !no_stdin, &status, &err);
	if (r < 0)
		return engine_fail(err);
	if (r == ATTACH_EXITED)
		return status;
	/* detached (ctrl-p ctrl-q), or the monitor went: as it stands now */
	if (ctr_reload_state(c, NULL) == 0 && ctr_status_now(c, NULL) == CTR_EXITED)
		return c->st.exit_code;
	return 0;
}
