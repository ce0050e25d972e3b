/* SPDX-License-Identifier: MIT */
/* husk image SUBCOMMAND: Docker's management-command names for the image
 * verbs (`image ls` is `images`, `image rm` is `rmi`, ...). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "util.h"

static const struct verb image_verbs[] = {
    {"inspect", cmd_image_inspect, "image inspect IMAGE..."},
    {"ls", cmd_images, "image ls"},
    {"list", cmd_images, "image list"},
    {"rm", cmd_rmi, "image rm [-f] IMAGE..."},
    {"remove", cmd_rmi, "image remove [-f] IMAGE..."},
    {"tag", cmd_tag, "image tag SOURCE_IMAGE TARGET_IMAGE[:TAG]"},
    {"history", cmd_history, "image history [--no-trunc] [-q] IMAGE"},
    {"save", cmd_save, "image save [-o FILE] [--format docker-archive|oci-archive] IMAGE..."},
    {"load", cmd_load, "image load [-i FILE] [-q]"},
    {"import", cmd_import, "image import [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]"},
};

static void image_usage(FILE *f)
{
	fprintf(f, "usage: husk image COMMAND\n");
	for (size_t i = 0; i < ARRAY_SIZE(image_verbs); i++)
		fprintf(f, "  %s\n", image_verbs[i].usage);
}

int cmd_image(struct engine *e, int argc, char **argv)
{
	if (argc < 2) {
		engine_error("image: a command is needed (inspect, ls, rm, tag, history, save, "
			     "load, import)");
		return EXIT_ENGINE;
	}
	if (strcmp(argv[1], "--help") == 0) {
		image_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(image_verbs); i++)
		if (strcmp(argv[1], image_verbs[i].name) == 0)
			return image_verbs[i].run(e, argc - 1, argv + 1);
	engine_error("image: unknown command `%s` (see husk image --help)", argv[1]);
	return EXIT_ENGINE;
}
