/* SPDX-License-Identifier: MIT */
/* husk logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER: the
 * monitor's JSON lines (ctr.log.1, then ctr.log), as they were written. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl.h"
#include "units.h"
#include "util.h"

struct logs_options {
	bool follow, timestamps;
	long tail;	     /* -1: all */
	double since, until; /* seconds since the epoch, 0: none */
};

struct entry {
	char *line; /* the JSON text */
};

/* A time as Docker takes it: RFC 3339, a Unix time, or a duration ago. */
static int parse_time(const char *s, double *ret)
{
	int64_t ns;
	char *end;
	double v;

	if (parse_duration_ns(s, &ns) == 0 && strcmp(s, "0") != 0) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		*ret = (double)now.tv_sec + now.tv_nsec / 1e9 - ns / 1e9;
		return 0;
	}
	v = strtod(s, &end);
	if (end != s && *end == '\0') {
		*ret = v;
		return 0;
	}
	*ret = rfc3339_seconds(s);
	return *ret > 0 ? 0 : -1;
}

/* Prints one record if it passes the filters. */
static void emit(const struct logs_options *o, const char *line)
{
	cleanup_json json_t *j = json_loads(line, 0, NULL);
	const char *log = json_string_value(json_object_get(j, "log"));
	const char *stream = json_string_value(json_object_get(j, "stream"));
	const char *time = json_string_value(json_object_get(j, "time"));
	size_t len = json_string_length(json_object_get(j, "log"));
	double t = rfc3339_seconds(time);
	int fd = stream && strcmp(stream, "stderr") == 0 ? 2 : 1;

	if (log == NULL || (o->since > 0 && t < o->since) || (o->until > 0 && t > o->until))
		return;
	if (o->timestamps && time) {
		dprintf(fd, "%s ", time);
	}
	write_all(fd, log, len);
}

static bool passes(const struct logs_options *o, const char *line)
{
	cleanup_json json_t *j = NULL;
	double t;

	if (o->since <= 0 && o->until <= 0)
		return true;
	j = json_loads(line, 0, NULL);
	t = rfc3339_seconds(json_string_value(json_object_get(j, "time")));
	return !((o->since > 0 && t < o->since) || (o->until > 0 && t > o->until));
}

/* Every complete line of f, from where it is; returns the offset after the
 * last complete line. */
static void read_lines(FILE *f, char ***lines, size_t *n, long *offset)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) > 0) {
		char **grown;
		if (line[len - 1] != '\n')
			break; /* being written: the next read takes it whole */
		*offset += len;
		grown = realloc(*lines, (*n + 1) * sizeof(**lines));
		if (grown == NULL)
			break;
		*lines = grown;
		(*lines)[(*n)++] = strdup(line);
	}
	free(line);
	fseek(f, *offset, SEEK_SET);
}

static void print_lines(const struct logs_options *o, char **lines, size_t n)
{
	size_t first = 0, shown = 0;

	if (o->tail >= 0) {
		/* the last `tail` that pass the filters */
		size_t i = n;
		while (i > 0 && shown < (size_t)o->tail)
			if (passes(o, lines[--i]))
				shown++;
		first = shown < (size_t)o->tail ? 0 : i;
	}
	for (size_t i = first; i < n; i++)
		emit(o, lines[i]);
}

static void free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

static FILE *open_log(const struct ctr *c, const char *name)
{
	cleanup_free char *path = NULL;

	return asprintf(&path, "%s/%s", c->dir, name) < 0 ? NULL : fopen(path, "re");
}

static ino_t inode_of(const struct ctr *c)
{
	cleanup_free char *path = NULL;
	struct stat st;

	return asprintf(&path, "%s/ctr.log", c->dir) >= 0 && stat(path, &st) == 0 ? st.st_ino : 0;
}

/* After what there is: new lines as they come, until the container stops. */
static void follow(const struct logs_options *o, struct ctr *c, FILE *f, long offset)
{
	cleanup_close int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ino_t ino = inode_of(c);

	if (in >= 0)
		inotify_add_watch(in, c->dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
	for (;;) {
		char **lines = NULL, buf[4096];
		size_t n = 0;
		struct pollfd p = {.fd = in, .events = POLLIN};
		bool running =
		    ctr_status_now(c, NULL) == CTR_RUNNING || c->st.status == CTR_RESTARTING;
		if (f)
			read_lines(f, &lines, &n, &offset);
		for (size_t i = 0; i < n; i++)
			emit(o, lines[i]);
		free_lines(lines, n);
		if (inode_of(c) != ino) { /* rotated: the new file from its start */
			if (f)
				fclose(f);
			f = open_log(c, "ctr.log");
			ino = inode_of(c);
			offset = 0;
			continue;
		}
		if (!running)
			break;
		poll(&p, 1, 250);
		while (in >= 0 && read(in, buf, sizeof(buf)) > 0)
			;
		if (ctr_reload_state(c, NULL) < 0)
			break;
	}
	if (f)
		fclose(f);
}

static int parse(struct logs_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"follow", no_argument, NULL, 'f'},	     {"timestamps", no_argument, NULL, 't'},
	    {"tail", required_argument, NULL, 'n'},  {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'}, {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":ftn:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'f':
			o->follow = true;
			break;
		case 't':
			o->timestamps = true;
			break;
		case 'n':
			o->tail = strcmp(optarg, "all") == 0 ? -1 : strtol(optarg, &end, 10);
			if (strcmp(optarg, "all") != 0 &&
			    (*end != '\0' || end == optarg || o->tail < 0)) {
				engine_error("logs: --tail `%s`: must be a number or all", optarg);
				return -1;
			}
			break;
		case 'S':
		case 'U':
			if (parse_time(optarg, c == 'S' ? &o->since : &o->until) < 0) {
				engine_error(
				    "logs: --%s `%s`: not a time (RFC 3339, a Unix time or "
				    "a duration such as 10m)",
				    c == 'S' ? "since" : "until", optarg);
				return -1;
			}
			break;
		default:
			engine_flag_error("logs", c, argv);
			return -1;
		}
	}
	if (argc - optind != 1) {
		engine_error("logs: one container is required");
		return -1;
	}
	return optind;
}

int cmd_logs(struct engine *e, int argc, char **argv)
{
	struct logs_options o = {.tail = -1};
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	char **lines = NULL;
	size_t n = 0;
	long offset = 0, ignored = 0;
	FILE *old, *cur;
	int i = parse(&o, argc, argv);

	if (i < 0)
		return EXIT_ENGINE;
	if (ctr_lookup(e, argv[i], &c, &err) < 0)
		return engine_fail(err);
	old = open_log(c, "ctr.log.1");
	cur = open_log(c, "ctr.log");
	if (old) {
		read_lines(old, &lines, &n, &ignored);
		fclose(old);
	}
	if (cur)
		read_lines(cur, &lines, &n, &offset);
	print_lines(&o, lines, n);
	free_lines(lines, n);
	if (o.follow)
		follow(&o, c, cur, offset);
	else if (cur)
		fclose(cur);
	return 0;
}
