/* SPDX-License-Identifier: MIT */
/*
 * husk import [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]: a root filesystem tar
 * (plain, gzip or zstd) made a one-layer image, dated now, with an empty
 * config, as `docker import` does. Prints the new image's id.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "util.h"

static const char import_usage[] =
    "usage: husk import [options] FILE|- [REPOSITORY[:TAG]]\n"
    "  -m, --message TEXT   the history entry's comment (default: Imported from FILE)\n";

struct import_opts {
	const char *message;
	const char *source;
	const char *name; /* NULL: no name */
};

/* > 0: parsed; 0: done (help); < 0: minus the exit code. */
static int import_parse(int argc, char **argv, struct import_opts *o)
{
	static const struct option opts[] = {
	    {"message", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'H'}, {0}};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:m:", opts, NULL)) != -1) {
		if (c == 'm') {
			o->message = optarg;
		} else if (c == 'H') {
			fputs(import_usage, stdout);
			return 0;
		} else {
			return -engine_flag_error("import", c, argv);
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		engine_error("import: needs a file (or - for stdin) and at most a name");
		return -EXIT_ENGINE;
	}
	o->source = argv[optind];
	o->name = argc - optind == 2 ? argv[optind + 1] : NULL;
	return 1;
}

static int import_open(const char *source, int *ret_fd, husk_error **err)
{
	if (strstr(source, "://") != NULL)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "import: `%s`: URLs are not supported: download it first",
				       source);
	if (strcmp(source, "-") == 0) {
		if (isatty(STDIN_FILENO))
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "import: stdin is a terminal: redirect a tar to it");
		*ret_fd = dup(STDIN_FILENO);
	} else {
		*ret_fd = open(source, O_RDONLY | O_CLOEXEC);
	}
	if (*ret_fd < 0)
		return husk_error_set(err, errno, "import: open `%s`", source);
	return 0;
}

/* RFC 3339 in UTC, to the nanosecond, as Docker dates an import. */
static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char date[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", date, ts.tv_nsec);
}

static int import_run(struct husk_store *s, const struct import_opts *o, int fd, husk_error **err)
{
	cleanup_free char *comment = NULL, *manifest = NULL;
	struct husk_image *img = NULL;
	char created[64];
	struct husk_image_create c = {.created = created, .name = o->name};

	now_rfc3339(created, sizeof(created));
	if (o->message == NULL && asprintf(&comment, "Imported from %s", o->source) < 0)
		return husk_error_set(err, ENOMEM, "import");
	c.comment = o->message ? o->message : comment;
	if (husk_store_import_tar(s, fd, &c, &manifest, err) < 0 ||
	    husk_store_image_get(s, manifest, &img, err) < 0)
		return -1;
	printf("%s\n", img->id);
	husk_image_free(img);
	return 0;
}

int cmd_import(struct engine *e, int argc, char **argv)
{
	struct import_opts o = {0};
	struct husk_store *s = NULL;
	cleanup_free char *normalized = NULL;
	cleanup_close int fd = -1;
	husk_error *err = NULL;
	int r = import_parse(argc, argv, &o);

	if (r <= 0)
		return -r;
	/* a bad name is refused before anything is read */
	if ((o.name != NULL && husk_store_normalize_name(o.name, &normalized, &err) < 0) ||
	    import_open(o.source, &fd, &err) < 0)
		return engine_fail(err);
	if (engine_store_open(e, &s, &err) < 0)
		return engine_fail(err);
	r = import_run(s, &o, fd, &err);
	husk_store_close(s);
	return r < 0 ? engine_fail(err) : 0;
}
