/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "util.h"

static const struct verb verbs[] = {
    {"run", cmd_run,
     "run --rm [-i] [-t] [--name N] [-e K=V] [-w DIR] [-h HOST] [-u UID[:GID]] "
     "[--entrypoint CMD] IMAGE [COMMAND [ARG...]]"},
    {"images", cmd_images, "images"},
    {"image", cmd_image, "image inspect|ls|rm|tag|history|save|load|import ..."},
    {"tag", cmd_tag, "tag SOURCE_IMAGE TARGET_IMAGE[:TAG]"},
    {"rmi", cmd_rmi, "rmi [-f] IMAGE..."},
    {"history", cmd_history, "history [--no-trunc] [-q] IMAGE"},
    {"save", cmd_save, "save [-o FILE] [--format docker-archive|oci-archive] IMAGE..."},
    {"load", cmd_load, "load [-i FILE] [-q]"},
    {"import", cmd_import, "import [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]"},
    {"version", cmd_version, "version"},
};

void engine_error(const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "husk: %s\n", msg ? msg : fmt);
	free(msg);
}

int engine_fail(husk_error *err)
{
	engine_error("%s", err && err->msg ? err->msg : "failed");
	husk_error_free(&err);
	return EXIT_ENGINE;
}

static void engine_warn(void *userdata, const char *msg)
{
	(void)userdata;
	fprintf(stderr, "husk: warning: %s\n", msg);
}

int engine_store_open(const struct engine *e, struct husk_store **ret, husk_error **err)
{
	struct husk_store_opts o = {.root = e->paths.storage_root};

	return husk_store_open(&o, ret, err);
}

static void print_help(FILE *f)
{
	fprintf(f, "usage: husk COMMAND [options]\n\nA container engine with no daemon. "
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %s\n", verbs[i].usage);
}

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static struct engine e;
	cleanup_exe_guard struct husk_exe_guard *guard = NULL;
	const struct verb *v;
	husk_error *err = NULL;
	int r;

	husk_helper_main(argc, argv);
	if (argc < 2) {
		print_help(stderr);
		return EXIT_ENGINE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		print_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)
		return cmd_version(&e, 1, argv + 1);
	v = find_verb(argv[1]);
	if (v == NULL) {
		engine_error("unknown command `%s` (see husk --help)", argv[1]);
		return EXIT_ENGINE;
	}
	if (strcmp(v->name, "version") != 0 && (geteuid() != 0 || in_user_namespace())) {
		engine_error("running as an ordinary user is not supported yet");
		return EXIT_ENGINE;
	}
	if (engine_paths_init(&e.paths, &err) < 0)
		return engine_fail(err);
	e.rt = (struct husk_runtime){
	    .root = e.paths.runtime_root,
	    .seccomp_cache = e.paths.seccomp_cache,
	    .warn = engine_warn,
	};
	/* CVE-2019-5736: prepared once for the containers this run starts. */
	if (strcmp(v->name, "run") == 0) {
		if (husk_exe_guard_setup(argv, false, &guard, &err) < 0) {
			engine_paths_clear(&e.paths);
			return engine_fail(err);
		}
		e.rt.exe_guard = guard;
	}
	r = v->run(&e, argc - 1, argv + 1);
	engine_paths_clear(&e.paths);
	return r;
}
