/* SPDX-License-Identifier: MIT */
/*
 * husk system prune [-f] [--volumes]: what is not in use goes. Containers
 * that are not running (each removed under its lock), what husk commands
 * killed half-way left (remains.h: dirs half made or half removed, names,
 * image holds and core state of containers that are no more), dangling
 * images (no name, no container) and the store's garbage, and with
 * --volumes the unused anonymous volumes. Docker's output.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "disk_usage.h"
#include "layer_shift.h"
#include "lifecycle.h"
#include "net.h"
#include "remains.h"
#include "system.h"
#include "human.h"
#include "util.h"
#include "volumes.h"

struct prune {
	struct engine *e;
	char **containers, **images, **volumes; /* what went, as printed */
	char **live_transit;			/* ids of dirs being made or removed */
	uint64_t bytes;
	int failures;
};

static void failed(struct prune *p, husk_error **err)
{
	engine_error("system prune: %s", *err && (*err)->msg ? (*err)->msg : "failed");
	husk_error_free(err);
	p->failures++;
}

static void note(char ***list, const char *fmt, const char *s)
{
	char *line = NULL;

	if (asprintf(&line, fmt, s) >= 0)
		strv_append(list, line);
}

/* A container with a record: removed unless it runs (or is being started). */
static void prune_record(struct prune *p, const char *id)
{
	cleanup_ctr struct ctr *c = NULL;
	cleanup_free char *upper = NULL;
	husk_error *err = NULL;
	uint64_t bytes;
	int r;

	if (ctr_load(p->e, id, &c, NULL) < 0)
		return; /* removed meanwhile, or unreadable: system check tells */
	r = ctr_heal(p->e, c, NULL);
	if (r == 1) {
		note(&p->containers, "%s", id); /* an --rm one, removed as it exited */
		return;
	}
	if (ctr_busy(c))
		return;
	if (ctr_lock(c, &err) < 0) {
		if (!husk_error_is(err, HUSK_ERR_NOT_FOUND))
			failed(p, &err);
		husk_error_free(&err);
		return;
	}
	if (ctr_busy(c)) /* started meanwhile */
		return;
	bytes = asprintf(&upper, "%s/upper", c->dir) < 0 ? 0 : dir_bytes(upper);
	if (ctr_remove(p->e, c, false, &err) < 0) {
		failed(p, &err);
		return;
	}
	note(&p->containers, "%s", id);
	p->bytes += bytes;
}

/* An entry of containers/: a container, or what a killed husk left. */
static void prune_entry(struct prune *p, const char *name)
{
	cleanup_free char *dir = NULL;
	cleanup_close int lock = -1;
	husk_error *err = NULL;
	const char *what;
	char id[65];
	bool alive;

	if (asprintf(&dir, "%s/%s", p->e->paths.containers, name) < 0)
		return;
	if (ctr_transit_parse(name, &what, id, &alive)) {
		uint64_t bytes = alive ? 0 : dir_bytes(dir);
		if (alive)
			strv_append(&p->live_transit, strdup(id));
		else if (ctr_transit_remove(p->e, name, &err) < 0)
			failed(p, &err);
		else
			p->bytes += bytes;
		return;
	}
	if (!ctr_id_valid(name))
		return; /* not husk's: left alone */
	switch (ctr_remains_of(p->e, name, &lock)) {
	case REMAINS_RECORD:
		prune_record(p, name);
		return;
	case REMAINS_ABANDONED: {
		uint64_t bytes = dir_bytes(dir);
		if (ctr_remove_remains(p->e, name, &err) < 0) {
			failed(p, &err);
			return;
		}
		note(&p->containers, "%s", name);
		p->bytes += bytes;
		return;
	}
	default:
		return;
	}
}

static bool no_container(struct prune *p, const char *id)
{
	return ctr_remains_of(p->e, id, NULL) == REMAINS_NONE &&
	       !strv_contains(p->live_transit, id);
}

/* Names, holds and core state of containers that are no more. */
static void prune_leftovers(struct prune *p)
{
	cleanup_strv char **holds = NULL, **cores = NULL;
	cleanup_free char *holds_dir = NULL;
	cleanup_dir DIR *d = opendir(p->e->paths.names);
	struct husk_store *s = NULL;
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL) {
		cleanup_free char *path = NULL, *id = NULL;
		if (de->d_name[0] == '.' ||
		    asprintf(&path, "%s/%s", p->e->paths.names, de->d_name) < 0 ||
		    read_file_at(AT_FDCWD, path, &id, NULL, NULL) < 0)
			continue;
		/* released only if it still names that (under the names' lock) */
		if (!ctr_id_valid(id) ||
		    (!strv_contains(p->live_transit, id) && name_stale(p->e, de->d_name, id)))
			name_release(p->e, id, de->d_name, NULL);
	}
	if (asprintf(&holds_dir, "%s/holds", p->e->paths.storage_root) >= 0 &&
	    ids_in_dir(holds_dir, &holds, NULL) == 0 && holds[0] &&
	    engine_store_open(p->e, &s, NULL) == 0) {
		for (size_t i = 0; holds[i]; i++)
			if (no_container(p, holds[i]))
				husk_store_release(s, holds[i], NULL);
		husk_store_close(s);
	}
	if (ids_in_dir(p->e->paths.runtime_root, &cores, NULL) == 0)
		for (size_t i = 0; cores[i]; i++)
			if (no_container(p, cores[i]))
				husk_container_delete(&p->e->rt, cores[i], true, NULL);
}

/* Images with no name that no container holds, then the store's garbage. */
static void prune_images(struct prune *p)
{
	struct husk_store *s = NULL;
	struct husk_image_summary *list = NULL;
	struct husk_store_gc_stats st = {0};
	husk_error *err = NULL;
	size_t n = 0;

	if (engine_store_open(p->e, &s, &err) < 0) {
		failed(p, &err);
		return;
	}
	if (husk_store_list_images(s, &list, &n, &err) < 0)
		failed(p, &err);
	for (size_t i = 0; i < n; i++) {
		bool deleted = false;
		if (list[i].tags && list[i].tags[0])
			continue;
		if (husk_store_remove_image(s, list[i].id, false, &deleted, &err) < 0) {
			if (!husk_error_is(err, HUSK_ERR_BUSY))
				failed(p, &err);
			husk_error_free(&err);
		} else if (deleted) {
			note(&p->images, "deleted: %s", list[i].id);
		}
	}
	husk_image_summaries_free(list, n);
	if (husk_store_gc(s, &st, &err) < 0)
		failed(p, &err);
	p->bytes += st.bytes;
	/* the id-shifted copies of layers that no container uses */
	if (layer_shift_sweep(p->e->paths.storage_root, p->e->paths.containers, &err) < 0)
		failed(p, &err);
	husk_store_close(s);
}

static void prune_volumes(struct prune *p)
{
	husk_error *err = NULL;
	uint64_t bytes = 0;

	if (volume_prune(p->e->paths.storage_root, false, &p->volumes, &bytes, &err) < 0)
		failed(p, &err);
	p->bytes += bytes;
}

static void print_section(const char *title, char **lines)
{
	if (lines == NULL || lines[0] == NULL)
		return;
	printf("%s:\n", title);
	for (size_t i = 0; lines[i]; i++)
		printf("%s\n", lines[i]);
	printf("\n");
}

/* Docker asks first; with no terminal to ask on, -f is required. */
static bool confirmed(bool volumes)
{
	char answer[16] = "";

	if (!isatty(STDIN_FILENO)) {
		engine_error("system prune: removes every stopped container and dangling image: "
			     "give -f to confirm (stdin is not a terminal to ask on)");
		return false;
	}
	fprintf(stderr,
		"WARNING! This will remove:\n  - all stopped containers\n%s"
		"  - all dangling images\n  - what killed husk commands left half-made\n"
		"Are you sure you want to continue? [y/N] ",
		volumes ? "  - all anonymous volumes not used by at least one container\n" : "");
	return fgets(answer, sizeof(answer), stdin) != NULL &&
	       (answer[0] == 'y' || answer[0] == 'Y');
}

int cmd_system_prune(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"volumes", no_argument, NULL, 'V'},
	    {0},
	};
	struct prune p = {.e = e};
	cleanup_dir DIR *d = NULL;
	bool force = false, volumes = false;
	struct dirent *de;
	char size[32];
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'V')
			volumes = true;
		else
			return engine_flag_error("system prune", c, argv);
	}
	if (optind < argc) {
		engine_error("system prune: takes no arguments (`%s`)", argv[optind]);
		return EXIT_ENGINE;
	}
	if (!force && !confirmed(volumes))
		return isatty(STDIN_FILENO) ? 0 : EXIT_ENGINE;
	d = opendir(e->paths.containers);
	if (d == NULL) {
		engine_error("system prune: open `%s`: %m", e->paths.containers);
		return EXIT_ENGINE;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			prune_entry(&p, de->d_name);
	prune_leftovers(&p);
	/* the network of containers that no longer run (a killed husk's) */
	net_reclaim(e, NULL);
	/* rootless, the netns of user networks when no container uses it */
	net_rootless_prune(e, NULL);
	if (volumes)
		prune_volumes(&p);
	prune_images(&p);
	print_section("Deleted Containers", p.containers);
	print_section("Deleted Volumes", p.volumes);
	print_section("Deleted Images", p.images);
	human_size((int64_t)p.bytes, size, sizeof(size));
	printf("Total reclaimed space: %s\n", size);
	strv_free(p.containers);
	strv_free(p.volumes);
	strv_free(p.images);
	strv_free(p.live_transit);
	return p.failures ? EXIT_ENGINE : 0;
}
