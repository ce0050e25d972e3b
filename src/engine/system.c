/* SPDX-License-Identifier: MIT */
/* husk system check | prune [-f] [--volumes] | df, as docker's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "disk_usage.h"
#include "layer_shift.h"
#include "remains.h"
#include "system.h"
#include "human.h"
#include "util.h"
#include "volumes.h"

static const char system_usage[] =
    "usage: husk system COMMAND\n"
    "  check                  check the image store and the containers' records\n"
    "  prune [-f] [--volumes] remove stopped containers, dangling images and what\n"
    "                         killed husk commands left (--volumes: unused anonymous\n"
    "                         volumes too)\n"
    "  df                     the disk space images, containers and volumes use\n";

static int cmd_system_check(struct engine *e, int argc, char **argv)
{
	cleanup_strv char **problems = NULL;
	husk_error *err = NULL;

	if (argc > 1) {
		engine_error("system check: takes no arguments (`%s`)", argv[1]);
		return EXIT_ENGINE;
	}
	if (system_check(e, &problems, &err) < 0)
		return engine_fail(err);
	for (size_t i = 0; problems && problems[i]; i++)
		printf("%s\n", problems[i]);
	return problems && problems[0] ? 1 : 0;
}

/* One line of df: a count of what there is and is in use, and sizes. */
struct usage {
	size_t total, active;
	uint64_t size, reclaimable;
};

static void print_usage(const char *type, const struct usage *u)
{
	char size[32], reclaimable[32], text[48];

	human_size((int64_t)u->size, size, sizeof(size));
	human_size((int64_t)u->reclaimable, reclaimable, sizeof(reclaimable));
	if (u->size > 0)
		snprintf(text, sizeof(text), "%s (%d%%)", reclaimable,
			 (int)(100 * u->reclaimable / u->size));
	else
		snprintf(text, sizeof(text), "%s", reclaimable);
	printf("%-16s%-10zu%-10zu%-10s%s\n", type, u->total, u->active, size, text);
}

/* The manifest digests the containers hold (holds/<id> each names one). */
static char **held_images(const struct engine *e)
{
	cleanup_free char *dir = NULL;
	cleanup_strv char **ids = NULL;
	char **held = calloc(1, sizeof(char *));

	if (held == NULL || asprintf(&dir, "%s/holds", e->paths.storage_root) < 0 ||
	    ids_in_dir(dir, &ids, NULL) < 0)
		return held;
	for (size_t i = 0; ids[i]; i++) {
		cleanup_free char *path = NULL;
		char *digest = NULL;
		if (asprintf(&path, "%s/%s", dir, ids[i]) >= 0 &&
		    read_file_at(AT_FDCWD, path, &digest, NULL, NULL) == 0)
			strv_append(&held, digest);
	}
	return held;
}

static int images_usage(struct engine *e, struct usage *u, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image_summary *list = NULL;
	cleanup_strv char **held = held_images(e);
	size_t n = 0;
	int r;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = husk_store_list_images(s, &list, &n, err);
	husk_store_close(s);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		bool used = strv_contains(held, list[i].manifest_digest);
		u->total++;
		u->active += used;
		u->size += (uint64_t)list[i].size;
		if (!used)
			u->reclaimable += (uint64_t)list[i].size;
	}
	husk_image_summaries_free(list, n);
	/* rootless mappings' id-shifted copies of layers (layer_shift.h) */
	u->size += layer_shift_bytes(e->paths.storage_root);
	return 0;
}

/* A container's size is its writable layer's (Docker's SizeRw). */
static int containers_usage(struct engine *e, struct usage *u, husk_error **err)
{
	struct ctr **list = NULL;
	size_t n = 0;

	if (ctr_list(e, &list, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *upper = NULL;
		uint64_t size =
		    asprintf(&upper, "%s/upper", list[i]->dir) < 0 ? 0 : dir_bytes(upper);
		bool running = ctr_busy(list[i]);
		u->total++;
		u->active += running;
		u->size += size;
		if (!running)
			u->reclaimable += size;
	}
	ctr_list_free(list, n);
	return 0;
}

static int volumes_usage(struct engine *e, struct usage *u, husk_error **err)
{
	struct volume_info *list = NULL;
	size_t n = 0;

	if (volume_list(e->paths.storage_root, &list, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint64_t size = dir_bytes(list[i].mountpoint);
		u->total++;
		u->active += list[i].n_users > 0;
		u->size += size;
		if (list[i].n_users == 0)
			u->reclaimable += size;
	}
	volume_infos_free(list, n);
	return 0;
}

int cmd_system_df(struct engine *e, int argc, char **argv)
{
	struct usage images = {0}, containers = {0}, volumes = {0};
	husk_error *err = NULL;

	if (argc > 1) {
		engine_error("system df: takes no arguments (`%s`)", argv[1]);
		return EXIT_ENGINE;
	}
	if (images_usage(e, &images, &err) < 0 || containers_usage(e, &containers, &err) < 0 ||
	    volumes_usage(e, &volumes, &err) < 0)
		return engine_fail(err);
	printf("%-16s%-10s%-10s%-10s%s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
	print_usage("Images", &images);
	print_usage("Containers", &containers);
	print_usage("Local Volumes", &volumes);
	return 0;
}

int cmd_system(struct engine *e, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct engine *e, int argc, char **argv);
	} subs[] = {
	    {"check", cmd_system_check},
	    {"prune", cmd_system_prune},
	    {"df", cmd_system_df},
	};

	if (argc < 2) {
		engine_error("system: a command is required: check, prune or df");
		return EXIT_ENGINE;
	}
	if (strcmp(argv[1], "--help") == 0) {
		fputs(system_usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(e, argc - 1, argv + 1);
	engine_error("system: unknown command `%s` (see husk system --help)", argv[1]);
	return EXIT_ENGINE;
}
