/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "spec_default.h"
#include "util.h"

int cmd_spec(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"rootless", no_argument, NULL, 'r'},
		{0},
	};
	struct husk_spec_defaults d = {.uid = geteuid(), .gid = getegid()};
	cleanup_free char *text = NULL, *path = NULL;
	const char *bundle = ".";
	husk_error *err = NULL;
	json_t *spec;
	int opt;

	while ((opt = getopt_long_only(argc, argv, "+b:", opts, NULL)) != -1) {
		if (opt == 'b')
			bundle = optarg;
		else if (opt == 'r')
			d.rootless = true;
		else
			return 2;
	}
	if (optind != argc) {
		cli_error(cli, "spec: takes no arguments");
		return 2;
	}
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return 1;
	if (access(path, F_OK) == 0) {
		cli_error(cli, "spec: `%s` already exists: remove it first", path);
		return 1;
	}
	spec = husk_spec_default(&d);
	text = spec ? json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(spec);
	if (text == NULL) {
		cli_error(cli, "spec: out of memory");
		return 1;
	}
	if (write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, &err) < 0 ||
	    write_file_at(AT_FDCWD, path, "", 0, &err) < 0)
		return cli_fail(cli, err);
	return 0;
}
