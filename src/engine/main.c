/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "overlay_driver.h"
#include "record.h"
#include "rootless.h"
#include "util.h"

/* Verbs that start or enter containers need the CVE-2019-5736 guard. */
#define GUARD true
/* Verbs on the containers they name (struct verb's by_container). */
#define BY_CONTAINER true

static const struct verb verbs[] = {
    {"run", cmd_run, "run [-d] [--rm] [-i] [-t] [options] IMAGE [COMMAND [ARG...]]", GUARD},
    {"create", cmd_create, "create [options] IMAGE [COMMAND [ARG...]]", false},
    {"start", cmd_start, "start [-a] [-i] CONTAINER...", GUARD},
    {"ps", cmd_ps, "ps [-a] [-q] [--no-trunc] [--filter K=V] [--format json]", false},
    {"attach", cmd_attach, "attach [--no-stdin] CONTAINER", false},
    {"logs", cmd_logs, "logs [-f] [-t] [--tail N] [--since T] [--until T] CONTAINER", false},
    {"exec", cmd_exec, "exec [-d] [-i] [-t] [-e K=V] [-u UID[:GID]] [-w DIR] CONTAINER CMD...",
     GUARD, BY_CONTAINER},
    {"stop", cmd_stop, "stop [-t SECONDS] CONTAINER...", false, BY_CONTAINER},
    {"restart", cmd_restart, "restart [-t SECONDS] CONTAINER...", GUARD, BY_CONTAINER},
    {"kill", cmd_kill, "kill [-s SIGNAL] CONTAINER...", false, BY_CONTAINER},
    {"wait", cmd_wait, "wait CONTAINER...", false},
    {"rm", cmd_rm, "rm [-f] [-v] CONTAINER...", false, BY_CONTAINER},
    {"rename", cmd_rename, "rename CONTAINER NEW_NAME", false},
    {"inspect", cmd_inspect, "inspect CONTAINER|IMAGE...", false},
    {"images", cmd_images, "images", false},
    {"image", cmd_image, "image inspect|ls|rm|tag|history|save|load|import ...", false},
    {"tag", cmd_tag, "tag SOURCE_IMAGE TARGET_IMAGE[:TAG]", false},
    {"rmi", cmd_rmi, "rmi [-f] IMAGE...", false},
    {"history", cmd_history, "history [--no-trunc] [-q] IMAGE", false},
    {"save", cmd_save, "save [-o FILE] [--format docker-archive|oci-archive] IMAGE...", false},
    {"load", cmd_load, "load [-i FILE] [-q]", false},
    {"import", cmd_import, "import [-m MESSAGE] FILE|- [REPOSITORY[:TAG]]", false},
    {"system", cmd_system, "system check | system prune [-f] [--volumes] | system df", false},
    {"info", cmd_info, "info", false},
    {"volume", cmd_volume, "volume create|ls|inspect|rm|prune", false},
    {"network", cmd_network, "network create|ls|inspect|rm|prune|connect|disconnect|reload ...",
     false},
    {"port", cmd_port, "port CONTAINER", false},
    /* containers' processes and files */
    {"top", cmd_top, "top CONTAINER [ps OPTIONS]", false, BY_CONTAINER},
    {"stats", cmd_stats, "stats [-a] [--no-stream] [--no-trunc] [--format json] [CONTAINER...]",
     false},
    {"export", cmd_export, "export [-o FILE] CONTAINER", false, BY_CONTAINER},
    {"diff", cmd_diff, "diff CONTAINER", false, BY_CONTAINER},
    {"commit", cmd_commit,
     "commit [-a AUTHOR] [-m MESSAGE] [-c INSTRUCTION] [-p=false] CONTAINER [REPO[:TAG]]", false,
     BY_CONTAINER},
    {"cp", cmd_cp, "cp [-a] [-L] CONTAINER:SRC DEST | SRC CONTAINER:DEST", false, BY_CONTAINER},
    {"version", cmd_version, "version", false},
    /* internal: the monitor's */
    {"__monitor-exit", cmd_monitor_exit, NULL, GUARD},
    {"__healthcheck", cmd_healthcheck, NULL, GUARD},
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
		if (verbs[i].usage)
			fprintf(f, "  %s\n", verbs[i].usage);
}

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

/* This program, and husk-monitor beside it (or where it is installed). */
static int find_programs(struct engine *e, husk_error **err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return husk_error_set(err, errno, "readlink /proc/self/exe");
	self[n] = '\0';
	e->husk_exe = strdup(self);
	slash = strrchr(self, '/');
	if (e->husk_exe == NULL || slash == NULL)
		return husk_error_set(err, ENOMEM, "path");
	*slash = '\0';
	if (asprintf(&e->monitor_exe, "%s/husk-monitor", self) < 0)
		return husk_error_set(err, ENOMEM, "path");
	if (access(e->monitor_exe, X_OK) == 0)
		return 0;
	free(e->monitor_exe);
	if (asprintf(&e->monitor_exe, "%s/husk-monitor", HUSK_LIBEXECDIR) < 0)
		return husk_error_set(err, ENOMEM, "path");
	if (access(e->monitor_exe, X_OK) < 0)
		return husk_error_set(err, errno, "husk-monitor is not beside husk nor in %s",
				      HUSK_LIBEXECDIR);
	return 0;
}

static void engine_clear(struct engine *e)
{
	engine_paths_clear(&e->paths);
	free(e->husk_exe);
	free(e->monitor_exe);
}

/* The CVE-2019-5736 guard, prepared once for the containers this run starts. */
static int prepare_guard(struct engine *e, char **argv, struct husk_exe_guard **slot,
			 husk_error **err)
{
	if (husk_exe_guard_setup(argv, true, slot, err) < 0)
		return -1;
	e->rt.exe_guard = *slot;
	return 0;
}

/* A rootless command on a container it names joins that container's
 * namespaces when it finds it (rootless_enter_for), and only then prepares
 * its guard: in the namespaces it is to run in. */
static struct {
	struct engine *e;
	char **argv;
	bool guard;
	struct husk_exe_guard **guard_slot;
} deferred;

static int enter_for_container(const struct ctr *c, husk_error **err)
{
	if (rootless_enter_for(deferred.e->monitor_exe, c, err) < 0)
		return -1;
	return deferred.guard ? prepare_guard(deferred.e, deferred.argv, deferred.guard_slot, err)
			      : 0;
}

static void defer_to_container(struct engine *e, const struct verb *v, char **argv,
			       struct husk_exe_guard **guard_slot)
{
	deferred.e = e;
	deferred.argv = argv;
	deferred.guard = v->guard;
	deferred.guard_slot = guard_slot;
	ctr_lookup_first_hook(enter_for_container);
}

int main(int argc, char **argv)
{
	static struct engine e;
	cleanup_exe_guard struct husk_exe_guard *guard = NULL;
	const struct verb *v;
	husk_error *err = NULL;
	bool defer;
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
	/* a bad HUSK_OVERLAY fails every command before it changes anything;
	 * an ordinary user: as root in the user's own namespaces (a command
	 * on a container: in that container's, joined when it is found) */
	defer = v->by_container && rootless_enter_deferred();
	if (overlay_env_check(&err) < 0 || find_programs(&e, &err) < 0 ||
	    rootless_default_roots(&err) < 0 ||
	    (!defer && rootless_enter(e.monitor_exe, &err) < 0) ||
	    engine_paths_init(&e.paths, &err) < 0) {
		engine_clear(&e);
		return engine_fail(err);
	}
	e.rt = (struct husk_runtime){
	    .root = e.paths.runtime_root,
	    .seccomp_cache = e.paths.seccomp_cache,
	    .warn = engine_warn,
	    /* root in a user namespace: no cgroup unless delegated */
	    .rootless = defer || in_user_namespace(),
	};
	if (defer)
		defer_to_container(&e, v, argv, &guard);
	else if (v->guard && prepare_guard(&e, argv, &guard, &err) < 0) {
		engine_clear(&e);
		return engine_fail(err);
	}
	r = v->run(&e, argc - 1, argv + 1);
	engine_clear(&e);
	return r;
}
