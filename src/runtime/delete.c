/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>

#include "cli.h"

int cmd_delete(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {0},
	};
	husk_error *err = NULL;
	bool force = false;
	int opt;

	while ((opt = getopt_long_only(argc, argv, "+f", opts, NULL)) != -1) {
		if (opt != 'f')
			return 2;
		force = true;
	}
	if (optind != argc - 1) {
		cli_error(cli, "delete: expects exactly one container ID");
		return 2;
	}
	if (husk_container_delete(&cli->rt, argv[optind], force, &err) < 0) {
		/* runc semantics: forcing the delete of what is already gone succeeds. */
		if (force && husk_error_is(err, HUSK_ERR_NOT_FOUND)) {
			husk_error_free(&err);
			return 0;
		}
		return cli_fail(cli, err);
	}
	return 0;
}
