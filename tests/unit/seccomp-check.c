/* SPDX-License-Identifier: MIT */
/* A test helper around seccomp.c, for integration tests and by hand:
 *   seccomp-check validate FILE         check a config.json or a linux.seccomp object
 *   seccomp-check default [CAP_X...]    print the default profile for these capabilities
 *   seccomp-check exec FILE CMD [ARG...] run CMD under the filter of FILE
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "seccomp_filter.h"
#include "spec.h"
#include "util.h"

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static int usage(void)
{
	fprintf(stderr, "usage: seccomp-check validate FILE\n"
			"       seccomp-check default [CAP_X...]\n"
			"       seccomp-check exec FILE CMD [ARG...]\n");
	return 2;
}

static int fail(husk_error *err)
{
	fprintf(stderr, "seccomp-check: %s\n", err && err->msg ? err->msg : "failed");
	husk_error_free(&err);
	return 1;
}

/* FILE holds a whole config.json or just its linux.seccomp object. */
static int prepare_file(const char *path, struct husk_seccomp **ret, husk_error **err)
{
	json_error_t jerr;
	cleanup_json json_t *j = json_load_file(path, 0, &jerr);
	json_t *linux_section;

	if (j == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s:%d: %s", path, jerr.line,
				       jerr.text);
	linux_section = json_object_get(j, "linux");
	if (linux_section != NULL)
		return husk_seccomp_prepare(json_object_get(linux_section, "seccomp"), NULL, ret,
					    err);
	return husk_seccomp_prepare(j, NULL, ret, err);
}

static int cmd_default(int argc, char **argv)
{
	cleanup_json json_t *profile = NULL;
	cleanup_free char *text = NULL;
	uint64_t caps = 0;

	for (int i = 0; i < argc; i++) {
		int cap = husk_cap_from_name(argv[i]);

		if (cap < 0) {
			fprintf(stderr, "seccomp-check: unknown capability `%s`\n", argv[i]);
			return 2;
		}
		caps |= 1ULL << cap;
	}
	profile = husk_seccomp_default_profile(caps);
	text = profile ? json_dumps(profile, JSON_INDENT(2)) : NULL;
	if (text == NULL)
		return 1;
	printf("%s\n", text);
	return 0;
}

static int cmd_exec(const char *path, char **argv)
{
	cleanup_seccomp struct husk_seccomp *s = NULL;
	husk_error *err = NULL;
	int notify_fd;

	if (prepare_file(path, &s, &err) < 0)
		return fail(err);
	if (husk_seccomp_uses_notify(s)) {
		fprintf(stderr, "seccomp-check: exec does not serve SCMP_ACT_NOTIFY\n");
		return 2;
	}
	if (geteuid() != 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return 1;
	if (husk_seccomp_load(s, &notify_fd, &err) < 0)
		return fail(err);
	execvp(argv[0], argv);
	perror(argv[0]);
	return 127;
}

int main(int argc, char **argv)
{
	cleanup_seccomp struct husk_seccomp *s = NULL;
	husk_error *err = NULL;

	if (argc >= 2 && strcmp(argv[1], "default") == 0)
		return cmd_default(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "validate") == 0)
		return prepare_file(argv[2], &s, &err) < 0 ? fail(err) : 0;
	if (argc >= 4 && strcmp(argv[1], "exec") == 0)
		return cmd_exec(argv[2], argv + 3);
	return usage();
}
