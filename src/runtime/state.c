/* SPDX-License-Identifier: MIT */
#include "cli.h"
#include "util.h"

int cmd_state(struct cli *cli, int argc, char **argv)
{
	husk_error *err = NULL;
	cleanup_json json_t *st = NULL;

	if (argc != 2) {
		cli_error(cli, "state: expects exactly one container ID");
		return 2;
	}
	if (husk_container_state(&cli->rt, argv[1], &st, &err) < 0)
		return cli_fail(cli, err);
	return cli_print_json(st);
}
