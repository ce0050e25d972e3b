/* SPDX-License-Identifier: MIT */
/*
 * husk save [-o FILE] [--format docker-archive|oci-archive] IMAGE...: the
 * images as a tar on stdout or in FILE. FILE appears only when the archive is
 * whole: it is written under a temporary name beside it, flushed, then
 * renamed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "util.h"

static const char save_usage[] =
    "usage: husk save [options] IMAGE...\n"
    "  -o, --output FILE   write to FILE rather than stdout\n"
    "  --format FORMAT     docker-archive (the default, as docker save) or oci-archive\n";

struct save_opts {
	const char *output;
	enum husk_archive_format format;
};

/* > 0: the first image argument; 0: done (help); < 0: minus the exit code. */
static int save_parse(int argc, char **argv, struct save_opts *o)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
					     {"format", required_argument, NULL, 'F'},
					     {"help", no_argument, NULL, 'H'},
					     {0}};
	husk_error *err = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:o:", opts, NULL)) != -1) {
		if (c == 'o') {
			o->output = optarg;
		} else if (c == 'F') {
			if (husk_archive_format_parse(optarg, &o->format, &err) < 0) {
				husk_error_wrap(&err, "save");
				return -engine_fail(err);
			}
		} else if (c == 'H') {
			fputs(save_usage, stdout);
			return 0;
		} else {
			return -engine_flag_error("save", c, argv);
		}
	}
	if (optind >= argc) {
		engine_error("save: needs at least one image");
		return -EXIT_ENGINE;
	}
	if (o->output == NULL && isatty(STDOUT_FILENO)) {
		engine_error("save: refusing to write an archive to a terminal: use -o FILE or "
			     "redirect stdout");
		return -EXIT_ENGINE;
	}
	return optind;
}

/* Every image is there (the built-in busybox made if named) before any
 * output is made. */
static int save_check_images(struct husk_store *s, int argc, char **argv, husk_error **err)
{
	for (int i = 0; i < argc; i++) {
		cleanup_free char *digest = NULL;
		if (engine_image_resolve(s, argv[i], &digest, err) < 0)
			return -1;
	}
	return 0;
}

static int save_to_file(struct husk_store *s, const char *path, const struct save_opts *o, int argc,
			char **argv, husk_error **err)
{
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;
	int r;

	if (asprintf(&tmp, "%s.husk-tmp-XXXXXX", path) < 0)
		return husk_error_set(err, ENOMEM, "save");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "save: create `%s`", tmp);
	/* as a file that open(2) would create under the umask */
	fchmod(fd, 0666 & ~umask(umask(0)));
	r = husk_store_save(s, (const char *const *)argv, (size_t)argc, o->format, fd, err);
	if (r == 0 && fsync(fd) < 0)
		r = husk_error_set(err, errno, "save: write `%s`", path);
	if (r == 0 && rename(tmp, path) < 0)
		r = husk_error_set(err, errno, "save: rename `%s` to `%s`", tmp, path);
	if (r < 0)
		unlink(tmp);
	return r;
}

int cmd_save(struct engine *e, int argc, char **argv)
{
	struct save_opts o = {.format = HUSK_ARCHIVE_DOCKER};
	struct husk_store *s = NULL;
	husk_error *err = NULL;
	int arg = save_parse(argc, argv, &o), r;

	if (arg <= 0)
		return -arg;
	if (engine_store_open(e, &s, &err) < 0)
		return engine_fail(err);
	r = save_check_images(s, argc - arg, argv + arg, &err);
	if (r == 0 && o.output != NULL)
		r = save_to_file(s, o.output, &o, argc - arg, argv + arg, &err);
	else if (r == 0)
		r = husk_store_save(s, (const char *const *)(argv + arg), (size_t)(argc - arg),
				    o.format, STDOUT_FILENO, &err);
	husk_store_close(s);
	return r < 0 ? engine_fail(err) : 0;
}
