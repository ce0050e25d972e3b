/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

static void print_table(json_t *arr)
{
	json_t *c;
	size_t i;

	printf("%-20s %-8s %-10s %-45s %-20s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
	       "OWNER");
	json_array_foreach (arr, i, c) {
		printf("%-20s %-8lld %-10s %-45s %-20s %s\n",
		       json_string_value(json_object_get(c, "id")),
		       json_integer_value(json_object_get(c, "pid")),
		       json_string_value(json_object_get(c, "status")),
		       json_string_value(json_object_get(c, "bundle")),
		       json_string_value(json_object_get(c, "created")),
		       json_string_value(json_object_get(c, "owner")));
	}
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {0},
	};
	const char *format = "table";
	husk_error *err = NULL;
	bool quiet = false;
	cleanup_json json_t *arr = NULL;
	json_t *c;
	size_t i;
	int opt;

	while ((opt = getopt_long_only(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (opt == 'f')
			format = optarg;
		else if (opt == 'q')
			quiet = true;
		else
			return 2;
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0) {
		cli_error(cli, "list: --format `%s` is not table or json", format);
		return 2;
	}
	if (husk_container_list(&cli->rt, &arr, &err) < 0)
		return cli_fail(cli, err);
	if (quiet)
		json_array_foreach (arr, i, c)
			puts(json_string_value(json_object_get(c, "id")));
	else if (strcmp(format, "json") == 0)
		cli_print_json(arr);
	else
		print_table(arr);
	return 0;
}
