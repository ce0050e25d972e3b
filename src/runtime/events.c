/* SPDX-License-Identifier: MIT */
/* events [--stats] [--interval 5s] ID: runc's JSON event stream. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

static int print_event(json_t *ev)
{
	char *s = json_dumps(ev, JSON_COMPACT);

	if (s == NULL)
		return -1;
	puts(s);
	fflush(stdout);
	free(s);
	return 0;
}

/* "5s", "500ms", "1m" or plain seconds. */
static int parse_interval(const char *s, long *ret_ms)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		*ret_ms = (long)v;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		*ret_ms = (long)(v * 1000);
	else if (strcmp(end, "m") == 0)
		*ret_ms = (long)(v * 60000);
	else
		return -1;
	return *ret_ms > 0 ? 0 : -1;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"stats", no_argument, NULL, 's'},
	    {"interval", required_argument, NULL, 'i'},
	    {0},
	};
	husk_error *err = NULL;
	bool stats_once = false;
	long interval_ms = 5000;
	uint64_t ooms = 0, now_ooms;
	const char *id;
	int c;

	while ((c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 's')
			stats_once = true;
		else if (c == 'i' && parse_interval(optarg, &interval_ms) == 0)
			continue;
		else {
			cli_error(cli, "events: bad option (--interval takes e.g. 5s or 500ms)");
			return 2;
		}
	}
	if (optind != argc - 1) {
		cli_error(cli, "events: expects exactly one container ID");
		return 2;
	}
	id = argv[optind];
	if (husk_container_oom_count(&cli->rt, id, &ooms, &err) < 0) {
		husk_error_free(&err);
		ooms = 0;
	}
	for (;;) {
		cleanup_json json_t *ev = NULL;
		struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
		if (husk_container_stats(&cli->rt, id, &ev, &err) < 0)
			return stats_once ? cli_fail(cli, err) : (husk_error_free(&err), 0);
		if (husk_container_oom_count(&cli->rt, id, &now_ooms, NULL) == 0 &&
		    now_ooms > ooms) {
			cleanup_json json_t *oom = json_pack("{s:s, s:s}", "type", "oom", "id", id);
			print_event(oom);
			ooms = now_ooms;
		}
		print_event(ev);
		if (stats_once)
			return 0;
		nanosleep(&ts, NULL);
	}
}
