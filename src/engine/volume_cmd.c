/* SPDX-License-Identifier: MIT */
/* husk volume create|ls|inspect|rm|prune, as docker's. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"
#include "volumes.h"

static const char volume_usage[] =
    "usage: husk volume COMMAND\n"
    "  create [NAME]          make a volume (no NAME: an anonymous one); prints its name\n"
    "  ls [-q]                list the volumes\n"
    "  inspect NAME...        the volumes as JSON\n"
    "  rm [-f] NAME...        remove volumes no container uses (-f: no error if missing)\n"
    "  prune [-a] [-f]        remove the unused anonymous volumes (-a: all unused ones)\n";

/* getopt over argv (argv[0] the subcommand): flags from `letters`, set in
 * *ret as bits 'a' → 1 << 0, ... ; -1 after an error (reported). */
static int sub_flags(int argc, char **argv, const char *sub, const char *letters, unsigned *ret)
{
	int c;

	opterr = 0;
	optind = 1;
	*ret = 0;
	while ((c = getopt(argc, argv, letters)) != -1) {
		if (c == '?') {
			engine_error("volume %s: unknown flag `%s`", sub, argv[optind - 1]);
			return -1;
		}
		*ret |= 1u << (c - 'a');
	}
	return 0;
}

#define FLAG(f) (1u << ((f) - 'a'))

static int volume_create_cmd(struct engine *e, int argc, char **argv)
{
	cleanup_free char *name = NULL;
	husk_error *err = NULL;
	unsigned flags;

	if (sub_flags(argc, argv, "create", "+", &flags) < 0)
		return EXIT_ENGINE;
	if (argc - optind > 1) {
		engine_error("volume create: at most one NAME");
		return EXIT_ENGINE;
	}
	if (volume_create(e->paths.storage_root, argc > optind ? argv[optind] : NULL, &name, NULL,
			  &err) < 0)
		return engine_fail(err);
	printf("%s\n", name);
	return 0;
}

static int volume_ls_cmd(struct engine *e, int argc, char **argv)
{
	struct volume_info *list = NULL;
	husk_error *err = NULL;
	unsigned flags;
	size_t n;

	if (sub_flags(argc, argv, "ls", "+q", &flags) < 0)
		return EXIT_ENGINE;
	if (volume_list(e->paths.storage_root, &list, &n, &err) < 0)
		return engine_fail(err);
	if (!(flags & FLAG('q')))
		printf("%-10s%s\n", "DRIVER", "VOLUME NAME");
	for (size_t i = 0; i < n; i++)
		if (flags & FLAG('q'))
			printf("%s\n", list[i].name);
		else
			printf("%-10s%s\n", "local", list[i].name);
	volume_infos_free(list, n);
	return 0;
}

static int volume_inspect_cmd(struct engine *e, int argc, char **argv)
{
	cleanup_json json_t *all = json_array();
	cleanup_free char *text = NULL;
	unsigned flags;
	int status = 0;

	if (sub_flags(argc, argv, "inspect", "+", &flags) < 0)
		return EXIT_ENGINE;
	if (optind >= argc) {
		engine_error("volume inspect: a NAME is required");
		return EXIT_ENGINE;
	}
	for (int i = optind; i < argc && all; i++) {
		struct volume_info v = {0};
		husk_error *err = NULL;
		if (volume_inspect(e->paths.storage_root, argv[i], &v, &err) < 0) {
			status = engine_fail(err);
			continue;
		}
		json_array_append_new(all, volume_info_json(&v));
		volume_info_clear(&v);
	}
	text = all ? json_dumps(all, JSON_INDENT(4)) : NULL;
	if (text == NULL) {
		engine_error("out of memory");
		return EXIT_ENGINE;
	}
	printf("%s\n", text);
	return status;
}

static int volume_rm_cmd(struct engine *e, int argc, char **argv)
{
	unsigned flags;
	int status = 0;

	if (sub_flags(argc, argv, "rm", "+f", &flags) < 0)
		return EXIT_ENGINE;
	if (optind >= argc) {
		engine_error("volume rm: a NAME is required");
		return EXIT_ENGINE;
	}
	for (int i = optind; i < argc; i++) {
		husk_error *err = NULL;
		if (volume_remove(e->paths.storage_root, argv[i], &err) == 0) {
			printf("%s\n", argv[i]);
		} else if ((flags & FLAG('f')) && husk_error_is(err, HUSK_ERR_NOT_FOUND)) {
			husk_error_free(&err);
		} else {
			status = engine_fail(err);
		}
	}
	return status;
}

static bool confirmed(bool all)
{
	char answer[16] = "";

	fprintf(stderr,
		"WARNING! This will remove %s local volumes not used by at least one "
		"container.\nAre you sure you want to continue? [y/N] ",
		all ? "all" : "anonymous");
	if (fgets(answer, sizeof(answer), stdin) == NULL)
		return false;
	return answer[0] == 'y' || answer[0] == 'Y';
}

static void print_size(uint64_t bytes)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	printf("Total reclaimed space: %.4g%s\n", v, units[u]);
}

static int volume_prune_cmd(struct engine *e, int argc, char **argv)
{
	cleanup_strv char **removed = NULL;
	husk_error *err = NULL;
	uint64_t bytes = 0;
	unsigned flags;

	if (sub_flags(argc, argv, "prune", "+af", &flags) < 0)
		return EXIT_ENGINE;
	if (optind < argc) {
		engine_error("volume prune: no arguments expected");
		return EXIT_ENGINE;
	}
	if (!(flags & FLAG('f')) && !confirmed(flags & FLAG('a')))
		return 0;
	if (volume_prune(e->paths.storage_root, flags & FLAG('a'), &removed, &bytes, &err) < 0)
		return engine_fail(err);
	if (removed && removed[0]) {
		printf("Deleted Volumes:\n");
		for (size_t i = 0; removed[i]; i++)
			printf("%s\n", removed[i]);
		printf("\n");
	}
	print_size(bytes);
	return 0;
}

int cmd_volume(struct engine *e, int argc, char **argv)
{
	static const struct {
		const char *name, *alias;
		int (*run)(struct engine *e, int argc, char **argv);
	} subs[] = {
	    {"create", NULL, volume_create_cmd},   {"ls", "list", volume_ls_cmd},
	    {"inspect", NULL, volume_inspect_cmd}, {"rm", "remove", volume_rm_cmd},
	    {"prune", NULL, volume_prune_cmd},
	};

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(volume_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_ENGINE : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0 ||
		    (subs[i].alias && strcmp(argv[1], subs[i].alias) == 0))
			return subs[i].run(e, argc - 1, argv + 1);
	engine_error("volume: unknown command `%s` (see husk volume --help)", argv[1]);
	return EXIT_ENGINE;
}
