/* SPDX-License-Identifier: MIT */
#include "cli.h"

int cmd_start(struct cli *cli, int argc, char **argv)
{
	husk_error *err = NULL;

	if (argc != 2) {
		cli_error(cli, "start: expects exactly one container ID");
		return 2;
	}
	if (husk_container_start(&cli->rt, argv[1], &err) < 0)
		return cli_fail(cli, err);
	return 0;
}
