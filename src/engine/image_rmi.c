/* SPDX-License-Identifier: MIT */
/*
 * husk rmi [-f] IMAGE...: removes names and images, reporting as Docker:
 * "Untagged: NAME" for each name removed, "Deleted: ID" when the image went.
 * An image a container holds is refused without -f; with it, the image loses
 * its names and stays until the container is gone (Docker's dangling image).
 * The blobs and layers that no image uses any more are removed after.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "engine.h"
#include "layer_shift.h"
#include "util.h"

static const char rmi_usage[] =
    "usage: husk rmi [-f] IMAGE...\n"
    "  -f, --force   remove an image in use, or one with several names\n";

/* > 0: an image went; 0: only names; < 0: failed (reported). */
static int rmi_one(struct husk_store *s, const char *ref, bool force)
{
	int deleted;

	struct husk_removal r;
	husk_error *err = NULL;

	if (husk_store_rmi(s, ref, force, &r, &err) < 0) {
		engine_fail(err);
		return -1;
	}
	for (size_t i = 0; r.untagged != NULL && r.untagged[i]; i++)
		printf("Untagged: %s\n", r.untagged[i]);
	if (r.deleted_id != NULL)
		printf("Deleted: %s\n", r.deleted_id);
	deleted = r.deleted_id != NULL;
	husk_removal_clear(&r);
	return deleted;
}

int cmd_rmi(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'H'}, {0}};
	struct husk_store *s = NULL;
	husk_error *err = NULL;
	bool force = false, deleted = false;
	int c, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:f", opts, NULL)) != -1) {
		if (c == 'f') {
			force = true;
		} else if (c == 'H') {
			fputs(rmi_usage, stdout);
			return 0;
		} else {
			return engine_flag_error("rmi", c, argv);
		}
	}
	if (optind >= argc) {
		engine_error("rmi: needs at least one image");
		return EXIT_ENGINE;
	}
	if (engine_store_open(e, &s, &err) < 0)
		return engine_fail(err);
	/* each in turn, as Docker: a failure does not stop the others */
	for (int i = optind; i < argc; i++) {
		int r = rmi_one(s, argv[i], force);
		if (r < 0)
			status = EXIT_ENGINE;
		deleted |= r > 0;
	}
	/* Docker's rmi frees the space: the blobs and layers no image uses
	 * any more go now (gc waits for other writers to close the store). */
	if (deleted && (husk_store_gc(s, NULL, &err) < 0 ||
			layer_shift_sweep(e->paths.storage_root, e->paths.containers, &err) < 0)) {
		engine_error("rmi: the image is removed, its files are not: %s", err->msg);
		husk_error_free(&err);
	}
	husk_store_close(s);
	return status;
}
