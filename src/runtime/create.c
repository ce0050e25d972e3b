/* SPDX-License-Identifier: MIT */
#include "create_opts.h"
#include "spec.h"

int cmd_create(struct cli *cli, int argc, char **argv)
{
	cleanup_spec struct husk_spec *spec = NULL;
	struct create_args a;
	husk_error *err = NULL;

	if (parse_create_args(cli, argc, argv, false, &a) < 0)
		return 2;
	if (load_bundle(cli, &a, &spec) != 0)
		return 1;
	if (husk_container_create(&cli->rt, spec, &a.o, NULL, &err) < 0)
		return cli_fail(cli, err);
	return 0;
}
