/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "spec.h"
#include "spec_default.h"
#include "util.h"

enum { OPT_CAP_ADD = 256, OPT_CAP_DROP, OPT_PRIVILEGED, OPT_SECCOMP };

static int change_caps(struct cli *cli, uint64_t *caps, const char *list, bool add)
{
	cleanup_free char *copy = strdup(list);
	char *save = NULL;

	for (char *n = strtok_r(copy, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
		cleanup_free char *full = NULL;
		int c;
		if (strcasecmp(n, "ALL") == 0) {
			*caps = add ? husk_caps_all() : 0;
			continue;
		}
		if (asprintf(&full, "%s%s", strncasecmp(n, "CAP_", 4) ? "CAP_" : "", n) < 0)
			return -1;
		c = husk_cap_from_name(full);
		if (c < 0) {
			cli_error(cli, "spec: --cap-%s: unknown capability `%s`",
				  add ? "add" : "drop", n);
			return -1;
		}
		if (add)
			*caps |= 1ULL << c;
		else
			*caps &= ~(1ULL << c);
	}
	return 0;
}

/* --seccomp unconfined | FILE: no filter, or a profile file in the
 * runtime-spec linux.seccomp format. */
static int apply_seccomp_option(struct cli *cli, json_t *spec, const char *opt)
{
	json_t *lx = json_object_get(spec, "linux");
	cleanup_json json_t *profile = NULL;
	json_error_t jerr;

	if (opt == NULL)
		return 0;
	if (strcmp(opt, "unconfined") == 0) {
		json_object_del(lx, "seccomp");
		return 0;
	}
	profile = json_load_file(opt, JSON_REJECT_DUPLICATES, &jerr);
	if (profile == NULL || !json_is_object(profile)) {
		cli_error(cli, "spec: --seccomp `%s`: %s", opt,
			  profile ? "not an object" : jerr.text);
		return -1;
	}
	json_object_set_new(lx, "seccomp", steal_pointer(&profile));
	return 0;
}

int cmd_spec(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"rootless", no_argument, NULL, 'r'},
	    {"cap-add", required_argument, NULL, OPT_CAP_ADD},
	    {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
	    {"privileged", no_argument, NULL, OPT_PRIVILEGED},
	    {"seccomp", required_argument, NULL, OPT_SECCOMP},
	    {0},
	};
	struct husk_spec_defaults d = {
	    .uid = geteuid(), .gid = getegid(), .caps = husk_caps_default()};
	cleanup_free char *text = NULL, *path = NULL;
	const char *bundle = ".", *seccomp = NULL;
	husk_error *err = NULL;
	cleanup_json json_t *spec = NULL;
	int opt;

	while ((opt = getopt_long_only(argc, argv, "+b:", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			d.rootless = true;
			break;
		case OPT_PRIVILEGED:
			d.privileged = true;
			break;
		case OPT_SECCOMP:
			seccomp = optarg;
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP:
			if (change_caps(cli, &d.caps, optarg, opt == OPT_CAP_ADD) < 0)
				return 2;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		cli_error(cli, "spec: takes no arguments");
		return 2;
	}
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return 1;
	if (access(path, F_OK) == 0) {
		cli_error(cli, "spec: `%s` already exists: remove it first", path);
		return 1;
	}
	spec = husk_spec_default(&d);
	if (spec == NULL || apply_seccomp_option(cli, spec, seccomp) < 0)
		return 1;
	text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		cli_error(cli, "spec: out of memory");
		return 1;
	}
	if (write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, &err) < 0)
		return cli_fail(cli, err);
	return 0;
}
