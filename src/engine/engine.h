/* SPDX-License-Identifier: MIT */
#pragma once

/* husk: the engine's command line (docker-like) over the core library and
 * the image store. One file per verb; the engine-core files (paths, rootfs,
 * container config, container lifecycle) never print: only the verbs do. */

#include <stdbool.h>

#include <husk/husk.h>
#include <husk/store.h>

/* Docker's exit codes for the engine's own failures. */
enum {
	EXIT_ENGINE = 125,	  /* husk itself failed */
	EXIT_CANNOT_INVOKE = 126, /* the command exists but cannot be run */
	EXIT_NOT_FOUND = 127,	  /* the command is not found */
};

/* Where everything lives (paths.c). */
struct engine_paths {
	char *storage_root; /* $HUSK_STORAGE_ROOT or /var/lib/husk: the image store */
	char *containers;   /* <storage_root>/containers */
	char *names;	    /* <storage_root>/names: one file per container name */
	char *run_root;	    /* $HUSK_RUN_ROOT or /run/husk-engine */
	char *runtime_root; /* <run_root>/runtime: the core library's state */
	char *seccomp_cache;
};

int engine_paths_init(struct engine_paths *p, husk_error **err);
void engine_paths_clear(struct engine_paths *p);
/* containers/<id>, and a file or directory in it (name may be NULL). */
char *engine_container_path(const struct engine_paths *p, const char *id, const char *name);

struct engine {
	struct engine_paths paths;
	char *husk_exe;	   /* this program, for the monitor to exec back */
	char *monitor_exe; /* husk-monitor, beside it */
	struct husk_runtime rt;
};

struct verb {
	const char *name;
	int (*run)(struct engine *e, int argc, char **argv);
	const char *usage; /* NULL: internal, not listed */
	bool guard;	   /* prepares the CVE-2019-5736 guard first */
	/* rootless: joins the namespaces of the container it names first
	 * (rootless_enter_for), which it looks up before anything else */
	bool by_container;
};

/* "husk: MSG" on stderr. */
void engine_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports err, frees it and returns EXIT_ENGINE. */
int engine_fail(husk_error *err);
/* Opens the image store under the storage root. */
int engine_store_open(const struct engine *e, struct husk_store **ret, husk_error **err);

int cmd_run(struct engine *e, int argc, char **argv);
int cmd_images(struct engine *e, int argc, char **argv);
/* The image verbs (src/engine/image_*.c) and what they share. */
int cmd_image(struct engine *e, int argc, char **argv); /* `husk image SUBCOMMAND` */
int cmd_image_inspect(struct engine *e, int argc, char **argv);
int cmd_tag(struct engine *e, int argc, char **argv);
int cmd_rmi(struct engine *e, int argc, char **argv);
int cmd_history(struct engine *e, int argc, char **argv);
int cmd_save(struct engine *e, int argc, char **argv);
int cmd_load(struct engine *e, int argc, char **argv);
int cmd_import(struct engine *e, int argc, char **argv);
/* What ref names, as a manifest digest; the built-in busybox is made on
 * first use. */
int engine_image_resolve(struct husk_store *s, const char *ref, char **ret_digest,
			 husk_error **err);
/* `image inspect`'s object for the image ref names, shaped as Docker's (Id,
 * RepoTags, Created, Config, RootFS, ...). HUSK_ERR_NOT_FOUND: no such image. */
int image_inspect_json(struct engine *e, const char *ref, json_t **ret, husk_error **err);
/* getopt_long's ':' (a missing value) or '?' (an unknown flag) as "VERB: ..."
 * on stderr; returns EXIT_ENGINE. */
int engine_flag_error(const char *verb, int c, char **argv);
int cmd_system(struct engine *e, int argc, char **argv);
int cmd_info(struct engine *e, int argc, char **argv);
int cmd_version(struct engine *e, int argc, char **argv);
int cmd_create(struct engine *e, int argc, char **argv);
int cmd_start(struct engine *e, int argc, char **argv);
int cmd_ps(struct engine *e, int argc, char **argv);
int cmd_logs(struct engine *e, int argc, char **argv);
int cmd_attach(struct engine *e, int argc, char **argv);
int cmd_exec(struct engine *e, int argc, char **argv);
int cmd_stop(struct engine *e, int argc, char **argv);
int cmd_restart(struct engine *e, int argc, char **argv);
int cmd_kill(struct engine *e, int argc, char **argv);
int cmd_wait(struct engine *e, int argc, char **argv);
int cmd_rm(struct engine *e, int argc, char **argv);
int cmd_rename(struct engine *e, int argc, char **argv);
int cmd_inspect(struct engine *e, int argc, char **argv);
/* containers' processes and files */
int cmd_top(struct engine *e, int argc, char **argv);
int cmd_stats(struct engine *e, int argc, char **argv);
int cmd_export(struct engine *e, int argc, char **argv);
int cmd_diff(struct engine *e, int argc, char **argv);
int cmd_commit(struct engine *e, int argc, char **argv);
int cmd_cp(struct engine *e, int argc, char **argv);
int cmd_monitor_exit(struct engine *e, int argc, char **argv);
int cmd_healthcheck(struct engine *e, int argc, char **argv);
int cmd_volume(struct engine *e, int argc, char **argv);
int cmd_network(struct engine *e, int argc, char **argv);
int cmd_port(struct engine *e, int argc, char **argv);
