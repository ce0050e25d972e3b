/* SPDX-License-Identifier: MIT */
#pragma once

#include "cli.h"

struct create_args {
	struct husk_create_opts o;
	const char *bundle;
	const char *config;
};

/* Options shared by create and run; returns the index of the ID argument,
 * or -1 after printing the problem. */
int parse_create_args(struct cli *cli, int argc, char **argv, bool run, struct create_args *a);
/* Prepares the CVE-2019-5736 guard (cli_guard_exe), then loads the bundle's config. */
int load_bundle(struct cli *cli, struct create_args *a, struct husk_spec **ret);
