/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>

#include "cli.h"
#include "signals.h"

int cmd_kill(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {0},
	};
	husk_error *err = NULL;
	bool all = false;
	int sig = SIGTERM, opt;

	while ((opt = getopt_long_only(argc, argv, "+a", opts, NULL)) != -1) {
		if (opt != 'a')
			return 2;
		all = true;
	}
	if (optind >= argc || argc - optind > 2) {
		cli_error(cli, "kill: expects a container ID and an optional signal");
		return 2;
	}
	if (argc - optind == 2 && husk_signal_parse(argv[optind + 1], &sig) < 0) {
		cli_error(cli, "kill: invalid signal `%s`", argv[optind + 1]);
		return 2;
	}
	if (husk_container_kill(&cli->rt, argv[optind], sig, all, &err) < 0)
		return cli_fail(cli, err);
	return 0;
}
