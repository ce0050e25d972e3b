/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "create_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "spec.h"
#include "state.h"
#include "util.h"

enum {
	OPT_PID_FILE = 256,
	OPT_CONSOLE,
	OPT_NO_PIVOT,
	OPT_NO_KEYRING,
	OPT_PRESERVE,
	OPT_NO_SUBREAPER,
	OPT_KEEP
};

int parse_create_args(struct cli *cli, int argc, char **argv, bool run, struct create_args *a)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"config", required_argument, NULL, 'c'},
	    {"pid-file", required_argument, NULL, OPT_PID_FILE},
	    {"console-socket", required_argument, NULL, OPT_CONSOLE},
	    {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
	    {"no-new-keyring", no_argument, NULL, OPT_NO_KEYRING},
	    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
	    {"detach", no_argument, NULL, 'd'},
	    {"no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER},
	    {"keep", no_argument, NULL, OPT_KEEP},
	    {0},
	};
	int64_t n;
	int c;

	memset(a, 0, sizeof(*a));
	a->bundle = ".";
	while ((c = getopt_long_only(argc, argv, "+b:c:d", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			a->bundle = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case OPT_PID_FILE:
			a->o.pid_file = optarg;
			break;
		case OPT_CONSOLE:
			a->o.console_socket = optarg;
			break;
		case OPT_NO_PIVOT:
			a->o.no_pivot = true;
			break;
		case OPT_NO_KEYRING:
			a->o.no_new_keyring = true;
			break;
		case OPT_PRESERVE:
			if (parse_int64(optarg, 0, 1 << 20, &n) < 0) {
				cli_error(cli, "--preserve-fds: `%s` is not a count", optarg);
				return -1;
			}
			a->o.preserve_fds = (int)n;
			break;
		case 'd':
			if (!run) {
				cli_error(cli, "create: unknown option --detach");
				return -1;
			}
			a->o.detach = true;
			break;
		case OPT_NO_SUBREAPER:
		case OPT_KEEP:
			break;
		default:
			return -1;
		}
	}
	if (optind != argc - 1) {
		cli_error(cli, "%s: expects exactly one container ID", argv[0]);
		return -1;
	}
	a->o.id = argv[optind];
	return optind;
}

int load_bundle(struct cli *cli, struct create_args *a, struct husk_spec **ret)
{
	husk_error *err = NULL;

	if (cli_guard_exe(cli, false) != 0)
		return 1;
	if (husk_id_validate(a->o.id, &err) < 0 ||
	    husk_spec_load(a->bundle, a->config, ret, &err) < 0)
		return cli_fail(cli, err);
	return 0;
}
