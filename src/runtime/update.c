/* SPDX-License-Identifier: MIT */
/* update [--resources FILE|-] [--memory N --cpu-quota N ...] ID */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

enum {
	OPT_MEMORY = 256,
	OPT_MEMORY_RES,
	OPT_MEMORY_SWAP,
	OPT_CPU_QUOTA,
	OPT_CPU_PERIOD,
	OPT_CPU_SHARES,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_PIDS,
	OPT_BLKIO_WEIGHT,
	OPT_RT_PERIOD,
	OPT_RT_RUNTIME,
};

static const struct {
	int opt;
	const char *group, *key;
	bool string;
} flag_fields[] = {
    {OPT_MEMORY, "memory", "limit", false},
    {OPT_MEMORY_RES, "memory", "reservation", false},
    {OPT_MEMORY_SWAP, "memory", "swap", false},
    {OPT_CPU_QUOTA, "cpu", "quota", false},
    {OPT_CPU_PERIOD, "cpu", "period", false},
    {OPT_CPU_SHARES, "cpu", "shares", false},
    {OPT_CPUSET_CPUS, "cpu", "cpus", true},
    {OPT_CPUSET_MEMS, "cpu", "mems", true},
    {OPT_PIDS, "pids", "limit", false},
    {OPT_BLKIO_WEIGHT, "blockIO", "weight", false},
    {OPT_RT_PERIOD, "cpu", "realtimePeriod", false},
    {OPT_RT_RUNTIME, "cpu", "realtimeRuntime", false},
};

/* Sizes as runc takes them: plain bytes or with a k/m/g suffix; -1 = max. */
static int parse_size(const char *s, int64_t *ret)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		v *= 1024;
		end++;
		break;
	case 'm':
	case 'M':
		v *= 1024 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		v *= 1024LL * 1024 * 1024;
		end++;
		break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0')
		return -1;
	*ret = v;
	return 0;
}

static int set_flag(struct cli *cli, json_t *res, int opt, const char *val)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_fields); i++) {
		json_t *group;
		int64_t n;
		if (flag_fields[i].opt != opt)
			continue;
		group = json_object_get(res, flag_fields[i].group);
		if (group == NULL)
			json_object_set_new(res, flag_fields[i].group, group = json_object());
		if (flag_fields[i].string) {
			json_object_set_new(group, flag_fields[i].key, json_string(val));
			return 0;
		}
		if (parse_size(val, &n) < 0) {
			cli_error(cli, "update: `%s` is not a number", val);
			return -1;
		}
		json_object_set_new(group, flag_fields[i].key, json_integer(n));
		return 0;
	}
	return -1;
}

static json_t *read_resources(struct cli *cli, const char *path)
{
	json_error_t jerr;
	cleanup_json json_t *r =
	    strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &jerr) : json_load_file(path, 0, &jerr);

	if (r == NULL || !json_is_object(r)) {
		cli_error(cli, "update: --resources `%s`: %s", path,
			  r ? "must be a JSON object" : jerr.text);
		return NULL;
	}
	return steal_pointer(&r);
}

int cmd_update(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"resources", required_argument, NULL, 'r'},
	    {"memory", required_argument, NULL, OPT_MEMORY},
	    {"memory-reservation", required_argument, NULL, OPT_MEMORY_RES},
	    {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
	    {"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA},
	    {"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
	    {"cpu-share", required_argument, NULL, OPT_CPU_SHARES},
	    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
	    {"cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS},
	    {"pids-limit", required_argument, NULL, OPT_PIDS},
	    {"blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT},
	    {"cpu-rt-period", required_argument, NULL, OPT_RT_PERIOD},
	    {"cpu-rt-runtime", required_argument, NULL, OPT_RT_RUNTIME},
	    {0},
	};
	cleanup_json json_t *res = json_object();
	cleanup_json json_t *file_res = NULL;
	husk_error *err = NULL;
	int c;

	while ((c = getopt_long_only(argc, argv, "+r:", opts, NULL)) != -1) {
		if (c == 'r') {
			/* The last --resources wins. */
			json_decref(file_res);
			if ((file_res = read_resources(cli, optarg)) == NULL)
				return 2;
		} else if (c == '?' || set_flag(cli, res, c, optarg) < 0) {
			return 2;
		}
	}
	if (optind != argc - 1) {
		cli_error(cli, "update: expects exactly one container ID");
		return 2;
	}
	/* Flags win over the file, as with runc. */
	if (file_res) {
		json_object_update_missing(res, file_res);
	}
	return husk_container_update(&cli->rt, argv[optind], res, &err) < 0 ? cli_fail(cli, err)
									    : 0;
}
