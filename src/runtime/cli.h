/* SPDX-License-Identifier: MIT */
#pragma once

/* husk-runtime: the runc-compatible command line over the husk core. */

#include <stdbool.h>

#include "container.h"
#include "error.h"

struct cli {
	struct husk_runtime rt;
	const char *log_path;
	bool log_json;
	bool debug;
	char **argv0;			  /* the whole argv, for re-exec */
	struct husk_exe_guard *exe_guard; /* owned; rt.exe_guard points at it */
};

struct verb {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;
};

/* Prints "husk-runtime: MSG" on stderr and, with --log, a line in the log
 * file (JSON as runc writes it: {"level","msg","time"}). */
void cli_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_warn(void *userdata, const char *msg);
/* Reports err and returns the exit status 1. */
int cli_fail(struct cli *cli, husk_error *err);
int cli_usage(struct cli *cli, const struct verb *v, const char *problem);
/* For the verbs that enter a container: prepares the CVE-2019-5736 guard
 * (selfexe.h; exec: for `exec`), or where the kernel cannot apply it,
 * re-executes the runtime from a copy that cannot be written. Returns 0, or
 * 1 after reporting. */
int cli_guard_exe(struct cli *cli, bool exec);

int cmd_create(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_start(struct cli *cli, int argc, char **argv);
int cmd_state(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_delete(struct cli *cli, int argc, char **argv);
int cmd_spec(struct cli *cli, int argc, char **argv);
int cmd_features(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_update(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_pause(struct cli *cli, int argc, char **argv);
int cmd_resume(struct cli *cli, int argc, char **argv);

/* Prints a JSON value on stdout, indented. */
int cli_print_json(json_t *v);
