/* SPDX-License-Identifier: MIT */
/* The options of `husk run` (and `husk create`), parsed into run_options. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container_config.h"
#include "engine.h"
#include "signals.h"
#include "units.h"
#include "util.h"

enum {
	OPT_RM = 256,
	OPT_NAME,
	OPT_ENTRYPOINT,
	OPT_RESTART,
	OPT_STOP_SIGNAL,
	OPT_STOP_TIMEOUT,
	OPT_HEALTH_CMD,
	OPT_HEALTH_INTERVAL,
	OPT_HEALTH_TIMEOUT,
	OPT_HEALTH_RETRIES,
	OPT_HEALTH_START_PERIOD,
	OPT_NO_HEALTHCHECK,
	OPT_LOG_OPT,
	OPT_HELP,
};

const char run_usage[] =
    "usage: husk run [options] IMAGE [COMMAND [ARG...]]\n"
    "  -d, --detach             run in the background and print the container's id\n"
    "  --rm                     remove the container when it exits\n"
    "  --name NAME              name the container\n"
    "  -e, --env K=V            set an environment variable (K alone: the host's value)\n"
    "  -w, --workdir DIR        the working directory in the container\n"
    "  -h, --hostname NAME      the container's hostname\n"
    "  -u, --user UID[:GID]     run as this numeric user\n"
    "  --entrypoint CMD         override the image's entrypoint\n"
    "  -t, --tty                allocate a pseudo-terminal\n"
    "  -i, --interactive        keep stdin attached\n"
    "  --restart POLICY         no, on-failure[:N], always or unless-stopped\n"
    "  --stop-signal SIG        the signal `husk stop` sends first (default: the image's or "
    "TERM)\n"
    "  --stop-timeout SECONDS   how long `husk stop` waits before KILL (default 10)\n"
    "  --health-cmd CMD         a healthcheck run with /bin/sh -c in the container\n"
    "  --health-interval DUR    time between checks (default 30s)\n"
    "  --health-timeout DUR     a check taking longer fails (default 30s)\n"
    "  --health-retries N       failures in a row that make it unhealthy (default 3)\n"
    "  --health-start-period DUR  failures during this time do not count (default 0s)\n"
    "  --no-healthcheck         disable the image's healthcheck\n"
    "  --log-opt max-size=SIZE  rotate the log at this size (default 10m; 0: never)\n";

static int bad_flag(char **argv)
{
	if (optopt != 0 && optopt < 256)
		engine_error("run: unknown flag `-%c`", optopt);
	else
		engine_error("run: unknown flag `%s`", argv[optind - 1]);
	return -1;
}

static int missing_value(char **argv)
{
	if (optopt != 0 && optopt < 256)
		engine_error("run: flag `-%c` needs a value", optopt);
	else
		engine_error("run: flag `%s` needs a value", argv[optind - 1]);
	return -1;
}

static int add_env(struct run_options *o, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL || strv_append(&o->env, copy) < 0) {
		free(copy);
		engine_error("out of memory");
		return -1;
	}
	return 0;
}

/* no, always, unless-stopped, on-failure[:N] */
static int parse_restart(struct run_options *o, const char *v)
{
	int64_t n = 0;

	if (strcmp(v, "no") == 0)
		o->restart = RESTART_NO;
	else if (strcmp(v, "always") == 0)
		o->restart = RESTART_ALWAYS;
	else if (strcmp(v, "unless-stopped") == 0)
		o->restart = RESTART_UNLESS_STOPPED;
	else if (strncmp(v, "on-failure", 10) == 0 && (v[10] == '\0' || v[10] == ':')) {
		if (v[10] == ':' && parse_int64(v + 11, 0, INT32_MAX, &n) < 0) {
			engine_error("run: --restart `%s`: the retry count must be a number", v);
			return -1;
		}
		o->restart = RESTART_ON_FAILURE;
		o->restart_max = (int)n;
	} else {
		engine_error("run: --restart `%s`: must be no, always, unless-stopped or "
			     "on-failure[:N]",
			     v);
		return -1;
	}
	if (o->restart_max != 0 && o->restart != RESTART_ON_FAILURE) {
		engine_error("run: --restart `%s`: only on-failure takes a retry count", v);
		return -1;
	}
	return 0;
}

static int parse_duration_option(const char *flag, const char *v, int64_t *ret)
{
	if (parse_duration_ns(v, ret) < 0) {
		engine_error("run: %s `%s`: not a duration (e.g. 30s, 1m30s, 500ms)", flag, v);
		return -1;
	}
	return 0;
}

static int parse_log_opt(struct run_options *o, const char *v)
{
	int64_t size;

	if (strncmp(v, "max-size=", 9) != 0) {
		engine_error("run: --log-opt `%s`: only max-size=SIZE is known", v);
		return -1;
	}
	if (parse_size_bytes(v + 9, &size) < 0) {
		engine_error("run: --log-opt `%s`: not a size (e.g. 10m, 512k)", v);
		return -1;
	}
	o->log_max_size = size;
	o->log_max_size_set = true;
	return 0;
}

static int parse_health(struct run_options *o, int c, char **argv)
{
	int64_t n;

	switch (c) {
	case OPT_HEALTH_CMD:
		o->health_cmd = optarg;
		return 0;
	case OPT_HEALTH_INTERVAL:
		return parse_duration_option("--health-interval", optarg, &o->health_interval);
	case OPT_HEALTH_TIMEOUT:
		return parse_duration_option("--health-timeout", optarg, &o->health_timeout);
	case OPT_HEALTH_START_PERIOD:
		return parse_duration_option("--health-start-period", optarg,
					     &o->health_start_period);
	case OPT_HEALTH_RETRIES:
		if (parse_int64(optarg, 1, INT32_MAX, &n) < 0) {
			engine_error("run: --health-retries `%s`: must be a positive number",
				     optarg);
			return -1;
		}
		o->health_retries = (int)n;
		return 0;
	case OPT_NO_HEALTHCHECK:
		o->no_healthcheck = true;
		return 0;
	}
	return bad_flag(argv);
}

static int parse_stop(struct run_options *o, int c)
{
	int64_t n;

	if (c == OPT_STOP_SIGNAL) {
		int sig;

		if (husk_signal_parse(optarg, &sig) < 0) {
			engine_error("run: --stop-signal `%s`: not a signal", optarg);
			return -1;
		}
		o->stop_signal = optarg;
		return 0;
	}
	if (parse_int64(optarg, -1, INT32_MAX, &n) < 0) {
		engine_error("run: --stop-timeout `%s`: must be a number of seconds", optarg);
		return -1;
	}
	o->stop_timeout = (int)n;
	o->stop_timeout_set = true;
	return 0;
}

static int parse_one(struct run_options *o, int c, char **argv)
{
	switch (c) {
	case 'd':
		o->detach = true;
		break;
	case OPT_RM:
		o->rm = true;
		break;
	case OPT_NAME:
		o->name = optarg;
		break;
	case OPT_ENTRYPOINT:
		o->entrypoint = optarg;
		o->entrypoint_set = true;
		break;
	case 'e':
		return add_env(o, optarg);
	case 'w':
		o->workdir = optarg;
		break;
	case 'h':
		o->hostname = optarg;
		break;
	case 'u':
		o->user = optarg;
		break;
	case 't':
		o->tty = true;
		break;
	case 'i':
		o->interactive = true;
		break;
	case OPT_RESTART:
		return parse_restart(o, optarg);
	case OPT_STOP_SIGNAL:
	case OPT_STOP_TIMEOUT:
		return parse_stop(o, c);
	case OPT_LOG_OPT:
		return parse_log_opt(o, optarg);
	case ':':
		return missing_value(argv);
	default:
		return parse_health(o, c, argv);
	}
	return 0;
}

static int check_combination(const struct run_options *o)
{
	if (o->rm && o->restart != RESTART_NO) {
		engine_error("run: --rm and --restart cannot be used together");
		return -1;
	}
	if (o->no_healthcheck && o->health_cmd) {
		engine_error("run: --no-healthcheck and --health-cmd cannot be used together");
		return -1;
	}
	return 0;
}

int run_options_parse(struct run_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"detach", no_argument, NULL, 'd'},
	    {"rm", no_argument, NULL, OPT_RM},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"env", required_argument, NULL, 'e'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"hostname", required_argument, NULL, 'h'},
	    {"user", required_argument, NULL, 'u'},
	    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
	    {"tty", no_argument, NULL, 't'},
	    {"interactive", no_argument, NULL, 'i'},
	    {"restart", required_argument, NULL, OPT_RESTART},
	    {"stop-signal", required_argument, NULL, OPT_STOP_SIGNAL},
	    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
	    {"health-cmd", required_argument, NULL, OPT_HEALTH_CMD},
	    {"health-interval", required_argument, NULL, OPT_HEALTH_INTERVAL},
	    {"health-timeout", required_argument, NULL, OPT_HEALTH_TIMEOUT},
	    {"health-retries", required_argument, NULL, OPT_HEALTH_RETRIES},
	    {"health-start-period", required_argument, NULL, OPT_HEALTH_START_PERIOD},
	    {"no-healthcheck", no_argument, NULL, OPT_NO_HEALTHCHECK},
	    {"log-opt", required_argument, NULL, OPT_LOG_OPT},
	    {"help", no_argument, NULL, OPT_HELP},
	    {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	/* "+": stop at the image; what follows is the container's. */
	while ((c = getopt_long(argc, argv, "+:de:w:h:u:ti", opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(run_usage, stdout);
			return 0;
		}
		optopt = c == '?' || c == ':' ? optopt : 0;
		if (parse_one(o, c, argv) < 0)
			return -1;
	}
	if (optind >= argc) {
		engine_error("run: an image is required (see husk run --help)");
		return -1;
	}
	if (check_combination(o) < 0)
		return -1;
	o->args = argv + optind + 1;
	return optind;
}

void run_options_clear(struct run_options *o)
{
	strv_free(o->env);
	o->env = NULL;
}
