/* SPDX-License-Identifier: MIT */
/*
 * husk load [-i FILE]: images from a docker-archive or an oci-archive (either
 * is recognized, gzip'd or not) on stdin or in FILE. All of the archive's
 * images are recorded, or none.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "engine.h"
#include "util.h"

static const char load_usage[] =
    "usage: husk load [options]\n"
    "  -i, --input FILE   read FILE rather than stdin\n"
    "  -q, --quiet        (accepted, as docker's: no progress is shown)\n";

/* > 0: parsed; 0: done (help); < 0: minus the exit code. */
static int load_parse(int argc, char **argv, const char **ret_input)
{
	static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'H'},
					     {0}};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:i:q", opts, NULL)) != -1) {
		if (c == 'i') {
			*ret_input = optarg;
		} else if (c == 'H') {
			fputs(load_usage, stdout);
			return 0;
		} else if (c != 'q') {
			return -engine_flag_error("load", c, argv);
		}
	}
	if (optind < argc) {
		engine_error("load: unexpected argument `%s` (the archive is -i FILE or stdin)",
			     argv[optind]);
		return -EXIT_ENGINE;
	}
	if (*ret_input == NULL && isatty(STDIN_FILENO)) {
		engine_error("load: no archive: use -i FILE or redirect stdin");
		return -EXIT_ENGINE;
	}
	return 1;
}

int cmd_load(struct engine *e, int argc, char **argv)
{
	const char *input = NULL;
	struct husk_load_result res = {NULL};
	struct husk_store *s = NULL;
	husk_error *err = NULL;
	cleanup_close int fd = -1;
	int r = load_parse(argc, argv, &input);

	if (r <= 0)
		return -r;
	fd = input ? open(input, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0) {
		husk_error_set(&err, errno, "load: open `%s`", input ? input : "stdin");
		return engine_fail(err);
	}
	if (engine_store_open(e, &s, &err) < 0)
		return engine_fail(err);
	r = husk_store_load(s, fd, &res, &err);
	husk_store_close(s);
	if (r < 0)
		return engine_fail(err);
	for (size_t i = 0; res.names != NULL && res.names[i]; i++)
		printf("Loaded image: %s\n", res.names[i]);
	for (size_t i = 0; res.ids != NULL && res.ids[i]; i++)
		printf("Loaded image ID: %s\n", res.ids[i]);
	husk_load_result_clear(&res);
	return 0;
}
