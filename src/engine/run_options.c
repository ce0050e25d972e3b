/* SPDX-License-Identifier: MIT */
/* The options of `husk run` (and `husk create`), parsed into run_options. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "run_parsers.h"
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
	OPT_MEMORY_SWAP,
	OPT_CPUS,
	OPT_CPU_SHARES,
	OPT_CPUSET_CPUS,
	OPT_PIDS_LIMIT,
	OPT_ULIMIT,
	OPT_DEVICE,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_PRIVILEGED,
	OPT_SECURITY_OPT,
	OPT_READ_ONLY,
	OPT_USERNS,
	OPT_INIT,
	OPT_MOUNT,
	OPT_TMPFS,
	OPT_ADD_HOST,
	OPT_DNS,
	OPT_ENV_FILE,
	OPT_LABEL,
	OPT_NETWORK,
	OPT_DNS_SEARCH,
};

const char run_usage[] =
    "usage: husk run [options] IMAGE [COMMAND [ARG...]]\n"
    "  -d, --detach             run in the background and print the container's id\n"
    "  --rm                     remove the container when it exits\n"
    "  --name NAME              name the container\n"
    "  -e, --env K=V            set an environment variable (K alone: the host's value)\n"
    "  -w, --workdir DIR        the working directory in the container\n"
    "  -h, --hostname NAME      the container's hostname\n"
    "  -u, --user USER[:GROUP]  run as this user (names from the image's /etc/passwd)\n"
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
    "  --log-opt max-size=SIZE  rotate the log at this size (default 10m; 0: never)\n"
    "  --env-file FILE          read NAME=VALUE lines (before -e)\n"
    "  --label KEY=VALUE        a label (an annotation of the container's config)\n"
    "  -m, --memory SIZE        memory limit (e.g. 512m)\n"
    "  --memory-swap SIZE       memory and swap together (-1: unlimited swap)\n"
    "  --cpus N                 CPUs' worth of time (e.g. 1.5)\n"
    "  --cpu-shares N           relative CPU weight (default 1024)\n"
    "  --cpuset-cpus LIST       the CPUs it may run on (e.g. 0-2,4)\n"
    "  --pids-limit N           at most N processes (-1: unlimited)\n"
    "  --ulimit NAME=SOFT[:HARD]  a resource limit (nofile, nproc, core, ...)\n"
    "  --device HOST[:CTR][:rwm]  a host device in the container\n"
    "  --cap-add CAP, --cap-drop CAP  capabilities (with or without CAP_; ALL)\n"
    "  --privileged             all capabilities and devices, no seccomp, no masks\n"
    "  --security-opt OPT       seccomp=unconfined|FILE, no-new-privileges[=BOOL],\n"
    "                           label=disable\n"
    "  --read-only              a read-only root filesystem\n"
    "  --userns host|auto[:size=N]  the host's user namespace (the default), or one of\n"
    "                           the container's own: N ids (65536) from the `containers`\n"
    "                           range of /etc/subuid and /etc/subgid (rootless: of the\n"
    "                           user's subordinate ids)\n"
    "  --userns keep-id[:uid=N,gid=N]  rootless: the user's ids kept (or seen as N) in\n"
    "                           the container, which runs as them; the others subordinate\n"
    "  --init                   a reaper as PID 1 that forwards signals\n"
    "  -v, --volume [SRC:]DST[:MODES]  a host path, a named or an anonymous volume\n"
    "  --mount type=bind|volume|tmpfs,source=,target=,readonly,...\n"
    "  --tmpfs PATH[:OPTIONS]   a tmpfs (noexec, nosuid, nodev unless asked)\n"
    "  --network bridge|none|host|NETWORK|container:CTR\n"
    "                           the default bridge network (the default; rootless:\n"
    "                           through pasta or slirp4netns, else none), no network\n"
    "                           but lo, the host's, a network of husk network\n"
    "                           create, another container's\n"
    "  -p, --publish [HOST_IP:][HOST_PORT:]PORT[/tcp|udp]  a port published on the host\n"
    "  -P, --publish-all        the image's exposed ports on free host ports\n"
    "  --add-host NAME:IP       a line in /etc/hosts\n"
    "  --dns IP                 a nameserver in /etc/resolv.conf\n"
    "  --dns-search DOMAIN      a search domain in /etc/resolv.conf\n";

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

static int parse_classic(struct run_options *o, int c, char **argv)
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

/* The options whose parsers report through a husk_error (run_parsers.h);
 * 1 for the others. */
static int parse_with_error(struct run_options *o, int c, const char *v, husk_error **err)
{
	struct run_security *sec = &o->security;

	switch (c) {
	case 'm':
		return run_parse_memory(o, v, err);
	case OPT_MEMORY_SWAP:
		return run_parse_memory_swap(o, v, err);
	case OPT_CPUS:
		return run_parse_cpus(o, v, err);
	case OPT_CPU_SHARES:
		return run_parse_cpu_shares(o, v, err);
	case OPT_CPUSET_CPUS:
		return run_parse_cpuset_cpus(o, v, err);
	case OPT_PIDS_LIMIT:
		return run_parse_pids_limit(o, v, err);
	case OPT_ULIMIT:
		return run_parse_ulimit(o, v, err);
	case OPT_DEVICE:
		return run_parse_device(o, v, err);
	case OPT_CAP_ADD:
		return run_parse_cap(&sec->cap_add, "--cap-add", v, err);
	case OPT_CAP_DROP:
		return run_parse_cap(&sec->cap_drop, "--cap-drop", v, err);
	case OPT_SECURITY_OPT:
		return run_parse_security_opt(o, v, err);
	case OPT_USERNS:
		return run_parse_userns(o, v, err);
	case 'v':
		return run_parse_volume(o, v, err);
	case OPT_MOUNT:
		return run_parse_mount(o, v, err);
	case OPT_TMPFS:
		return run_parse_tmpfs(o, v, err);
	case OPT_ADD_HOST:
		return run_parse_add_host(o, v, err);
	case OPT_DNS:
		return run_parse_dns(o, v, err);
	case OPT_ENV_FILE:
		return run_parse_env_file(o, v, err);
	case OPT_LABEL:
		return run_parse_label(o, v, err);
	case OPT_NETWORK:
		return run_parse_network(o, v, err);
	case 'p':
		return run_parse_publish(o, v, err);
	case OPT_DNS_SEARCH:
		return run_parse_dns_search(o, v, err);
	}
	return 1;
}

static bool parse_flag(struct run_options *o, int c)
{
	switch (c) {
	case OPT_PRIVILEGED:
		o->security.privileged = true;
		return true;
	case OPT_READ_ONLY:
		o->security.read_only = true;
		return true;
	case OPT_INIT:
		o->security.init = true;
		return true;
	case 'P':
		o->publish_all = true;
		return true;
	}
	return false;
}

static int report(husk_error *err)
{
	engine_error("run: %s", err && err->msg ? err->msg : "bad option");
	husk_error_free(&err);
	return -1;
}

static int parse_one(struct run_options *o, int c, char **argv)
{
	husk_error *err = NULL;
	int r;

	if (parse_flag(o, c))
		return 0;
	r = parse_with_error(o, c, optarg, &err);
	if (r < 0)
		return report(err);
	if (r == 0)
		return 0;
	return parse_classic(o, c, argv);
}

static int check_combination(const struct run_options *o)
{
	husk_error *err = NULL;

	if (run_check_resources(o, &err) < 0 || run_check_mounts(o, &err) < 0)
		return report(err);
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
	    {"memory", required_argument, NULL, 'm'},
	    {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
	    {"cpus", required_argument, NULL, OPT_CPUS},
	    {"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
	    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
	    {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
	    {"ulimit", required_argument, NULL, OPT_ULIMIT},
	    {"device", required_argument, NULL, OPT_DEVICE},
	    {"cap-add", required_argument, NULL, OPT_CAP_ADD},
	    {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
	    {"privileged", no_argument, NULL, OPT_PRIVILEGED},
	    {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
	    {"read-only", no_argument, NULL, OPT_READ_ONLY},
	    {"userns", required_argument, NULL, OPT_USERNS},
	    {"init", no_argument, NULL, OPT_INIT},
	    {"volume", required_argument, NULL, 'v'},
	    {"mount", required_argument, NULL, OPT_MOUNT},
	    {"tmpfs", required_argument, NULL, OPT_TMPFS},
	    {"add-host", required_argument, NULL, OPT_ADD_HOST},
	    {"dns", required_argument, NULL, OPT_DNS},
	    {"env-file", required_argument, NULL, OPT_ENV_FILE},
	    {"label", required_argument, NULL, OPT_LABEL},
	    {"network", required_argument, NULL, OPT_NETWORK},
	    {"net", required_argument, NULL, OPT_NETWORK},
	    {"publish", required_argument, NULL, 'p'},
	    {"publish-all", no_argument, NULL, 'P'},
	    {"dns-search", required_argument, NULL, OPT_DNS_SEARCH},
	    {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	/* "+": stop at the image; what follows is the container's. */
	while ((c = getopt_long(argc, argv, "+:de:w:h:u:tim:v:p:P", opts, NULL)) != -1) {
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
	strv_free(o->env_file);
	strv_free(o->labels);
	free(o->resources.cpuset_cpus);
	free(o->ulimits);
	for (size_t i = 0; i < o->n_devices; i++) {
		free(o->devices[i].host);
		free(o->devices[i].container);
	}
	free(o->devices);
	strv_free(o->security.cap_add);
	strv_free(o->security.cap_drop);
	free(o->security.seccomp_profile);
	for (size_t i = 0; i < o->n_mounts; i++)
		run_mount_clear(&o->mounts[i]);
	free(o->mounts);
	strv_free(o->add_hosts);
	strv_free(o->dns);
	strv_free(o->dns_search);
	free(o->ports);
	memset(o, 0, sizeof(*o));
}
