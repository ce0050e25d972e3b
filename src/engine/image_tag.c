/* SPDX-License-Identifier: MIT */
/* husk tag SOURCE_IMAGE TARGET_IMAGE[:TAG]: another name for an image. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "engine.h"
#include "util.h"

static const char tag_usage[] = "usage: husk tag SOURCE_IMAGE TARGET_IMAGE[:TAG]\n";

int cmd_tag(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	struct husk_store *s = NULL;
	cleanup_free char *digest = NULL;
	husk_error *err = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		if (c != 'H')
			return engine_flag_error("tag", c, argv);
		fputs(tag_usage, stdout);
		return 0;
	}
	if (argc - optind != 2) {
		engine_error("tag: needs a source image and a new name");
		return EXIT_ENGINE;
	}
	if (engine_store_open(e, &s, &err) < 0)
		return engine_fail(err);
	r = engine_image_resolve(s, argv[optind], &digest, &err);
	if (r == 0)
		r = husk_store_tag(s, argv[optind], argv[optind + 1], &err);
	husk_store_close(s);
	return r < 0 ? engine_fail(err) : 0;
}
