/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "selfexe.h"
#include "state.h"
#include "util.h"
static const struct verb verbs[] = {
    {"create", cmd_create, "create [--bundle DIR] [--pid-file F] [--console-socket S] ID"},
    {"run", cmd_run, "run [--bundle DIR] [--detach] [--pid-file F] ID"},
    {"start", cmd_start, "start ID"},
    {"state", cmd_state, "state ID"},
    {"list", cmd_list, "list [--format table|json] [--quiet]"},
    {"kill", cmd_kill, "kill [--all] ID [SIGNAL]"},
    {"delete", cmd_delete, "delete [--force] ID"},
    {"spec", cmd_spec, "spec [--bundle DIR] [--rootless]"},
    {"features", cmd_features, "features"},
    {"ps", cmd_ps, "ps [--format table|json] ID [PS-ARGS...]"},
    {"pause", cmd_pause, "pause ID"},
    {"resume", cmd_resume, "resume ID"},
    {"update", cmd_update, "update [--resources FILE|-] [--memory N] [--pids-limit N] ... ID"},
    {"events", cmd_events, "events [--stats] [--interval 5s] ID"},
    {"exec", cmd_exec, "exec [--tty] [--detach] [--process F] [--pid-file F] ID [CMD ARGS...]"},
};

static void log_line(struct cli *cli, const char *level, const char *msg)
{
	char ts[64];
	struct timespec now;
	struct tm tm;
	FILE *f;

	if (cli->log_path == NULL)
		return;
	f = fopen(cli->log_path, "ae");
	if (f == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (cli->log_json) {
		cleanup_json json_t *o = json_pack("{s:s, s:s, s:s+}", "level", level, "msg", msg,
						   "time", ts, ".000000000Z");
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (s)
			fprintf(f, "%s\n", s);
		free(s);
	} else {
		fprintf(f, "time=\"%sZ\" level=%s msg=\"%s\"\n", ts, level, msg);
	}
	fclose(f);
}

void cli_error(struct cli *cli, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	fprintf(stderr, "husk-runtime: %s\n", msg ? msg : fmt);
	log_line(cli, "error", msg ? msg : fmt);
	free(msg);
}

void cli_warn(void *userdata, const char *msg)
{
	fprintf(stderr, "husk-runtime: warning: %s\n", msg);
	log_line(userdata, "warning", msg);
}

int cli_fail(struct cli *cli, husk_error *err)
{
	cli_error(cli, "%s", err && err->msg ? err->msg : "failed");
	husk_error_free(&err);
	return 1;
}

int cli_usage(struct cli *cli, const struct verb *v, const char *problem)
{
	(void)v;
	cli_error(cli, "%s", problem);
	return 2;
}

int cli_guard_exe(struct cli *cli, bool exec)
{
	husk_error *err = NULL;

	if (husk_exe_guard_setup(cli->argv0, exec, &cli->exe_guard, &err) < 0)
		return cli_fail(cli, err);
	cli->rt.exe_guard = cli->exe_guard;
	return 0;
}

int cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s == NULL)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static void print_help(void)
{
	printf("usage: husk-runtime [global options] COMMAND [options]\n\n"
	       "An OCI runtime, runc-compatible. Global options:\n"
	       "  --root DIR          state directory (default /run/husk for root)\n"
	       "  --log FILE          also write errors to FILE\n"
	       "  --log-format text|json\n"
	       "  --debug             more output\n"
	       "  --systemd-cgroup    (not supported: cgroupfs is used)\n"
	       "  --rootless true|false|auto\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		printf("  %s\n", verbs[i].usage);
}

enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_ROOTLESS, OPT_CRIU };

static int parse_rootless(struct cli *cli, const char *v)
{
	if (v == NULL || strcmp(v, "true") == 0)
		cli->rt.rootless = true;
	else if (strcmp(v, "false") == 0)
		cli->rt.rootless = false;
	else if (strcmp(v, "auto") == 0)
		cli->rt.rootless = geteuid() != 0 || in_user_namespace();
	else
		return -1;
	return 0;
}

static int parse_global(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"log", required_argument, NULL, OPT_LOG},
	    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	    {"debug", no_argument, NULL, OPT_DEBUG},
	    {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
	    {"rootless", optional_argument, NULL, OPT_ROOTLESS},
	    {"criu", required_argument, NULL, OPT_CRIU},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'v'},
	    {0},
	};
	int c;

	while ((c = getopt_long_only(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			cli->rt.root = optarg;
			break;
		case OPT_LOG:
			cli->log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				cli_error(cli, "--log-format: `%s` is not text or json", optarg);
				return -1;
			}
			cli->log_json = strcmp(optarg, "json") == 0;
			break;
		case OPT_DEBUG:
			cli->debug = true;
			break;
		case OPT_SYSTEMD:
			cli->rt.systemd_cgroup = true;
			break;
		case OPT_ROOTLESS:
			if (parse_rootless(cli, optarg) < 0) {
				cli_error(cli, "--rootless: `%s` is not true, false or auto",
					  optarg);
				return -1;
			}
			break;
		case OPT_CRIU:
			break;
		case 'h':
			print_help();
			exit(0);
		case 'v':
			printf("husk-runtime version %s\nspec: 1.1.0\n", HUSK_VERSION);
			exit(0);
		default:
			return -1;
		}
	}
	return optind;
}

int main(int argc, char **argv)
{
	static struct cli cli;
	cleanup_free char *root = NULL, *seccomp_cache = NULL;
	husk_error *err = NULL;
	int first, status;

	husk_helper_main(argc, argv);
	cli.argv0 = argv;
	cli.rt.rootless = geteuid() != 0 || in_user_namespace();
	cli.rt.warn = cli_warn;
	cli.rt.userdata = &cli;
	first = parse_global(&cli, argc, argv);
	if (first < 0)
		return 2;
	if (first >= argc) {
		print_help();
		return 2;
	}
	if (cli.rt.root == NULL) {
		if (husk_state_root_default(&root, &err) < 0)
			return cli_fail(&cli, err);
		cli.rt.root = root;
	}
	/* Beside the containers' directories; ids cannot start with a dot. */
	if (asprintf(&seccomp_cache, "%s/.seccomp-cache", cli.rt.root) < 0) {
		cli_error(&cli, "out of memory");
		return 1;
	}
	cli.rt.seccomp_cache = seccomp_cache;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strcmp(argv[first], verbs[i].name) != 0)
			continue;
		if (cli.rt.systemd_cgroup &&
		    (strcmp(verbs[i].name, "create") == 0 || strcmp(verbs[i].name, "run") == 0)) {
			cli_error(&cli, "--systemd-cgroup: systemd cgroup management is not "
					"supported yet; run without it (cgroupfs)");
			return 1;
		}
		optind = 1;
		status = verbs[i].run(&cli, argc - first, argv + first);
		husk_exe_guard_free(cli.exe_guard);
		return status;
	}
	cli_error(&cli, "unknown command `%s` (see husk-runtime --help)", argv[first]);
	return 2;
}
