/* SPDX-License-Identifier: MIT */
/* husk run: a container from an image, in the foreground. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lifecycle.h"
#include "util.h"

enum { OPT_RM = 256, OPT_NAME, OPT_ENTRYPOINT, OPT_HELP };

static const char usage[] =
    "usage: husk run --rm [options] IMAGE [COMMAND [ARG...]]\n"
    "  --rm                 remove the container when it exits (required for now)\n"
    "  --name NAME          name the container\n"
    "  -e, --env K=V        set an environment variable (K alone: the host's value)\n"
    "  -w, --workdir DIR    the working directory in the container\n"
    "  -h, --hostname NAME  the container's hostname\n"
    "  -u, --user UID[:GID] run as this numeric user\n"
    "  --entrypoint CMD     override the image's entrypoint\n"
    "  -t, --tty            allocate a pseudo-terminal\n"
    "  -i, --interactive    keep stdin attached\n";

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
		engine_error("out of memory");
		return -1;
	}
	return 0;
}

static int parse_one(struct run_options *o, int c, char **argv)
{
	switch (c) {
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
	case ':':
		return missing_value(argv);
	default:
		return bad_flag(argv);
	}
	return 0;
}

/* Returns the index of the image argument, -1 after an error, 0 for --help. */
static int parse_run(struct run_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"rm", no_argument, NULL, OPT_RM},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"env", required_argument, NULL, 'e'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"hostname", required_argument, NULL, 'h'},
	    {"user", required_argument, NULL, 'u'},
	    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
	    {"tty", no_argument, NULL, 't'},
	    {"interactive", no_argument, NULL, 'i'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	/* "+": stop at the image; what follows is the container's. */
	while ((c = getopt_long(argc, argv, "+:e:w:h:u:ti", opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(usage, stdout);
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
	if (!o->rm) {
		engine_error("run: keeping a stopped container is not supported yet: use --rm");
		return -1;
	}
	o->args = argv + optind + 1;
	return optind;
}

/* Docker's exit codes for a command the core could not start. */
static int exit_code_of(const struct engine_container *c, const husk_error *err)
{
	if (c->core_failed && husk_error_is(err, HUSK_ERR_NOT_FOUND))
		return EXIT_NOT_FOUND;
	if (c->core_failed && husk_error_is(err, HUSK_ERR_PERMISSION))
		return EXIT_CANNOT_INVOKE;
	return EXIT_ENGINE;
}

/* Without -i the container's stdin is /dev/null, as Docker's. */
static int detach_stdin(void)
{
	cleanup_close int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	return fd < 0 || dup2(fd, 0) < 0 ? -1 : 0;
}

/* Signals that come while the container is made or removed wait (blocked)
 * instead of killing husk half-way: husk_foreground() forwards the pending
 * ones to the container once it runs, and they are dropped after it exits. */
static void block_forwarded_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int cmd_run(struct engine *e, int argc, char **argv)
{
	struct run_options o = {0};
	struct engine_container c;
	husk_error *err = NULL, *rm_err = NULL;
	int image, status = EXIT_ENGINE;

	image = parse_run(&o, argc, argv);
	if (image <= 0) {
		strv_free(o.env);
		return image == 0 ? 0 : EXIT_ENGINE;
	}
	if (!o.interactive && detach_stdin() < 0) {
		strv_free(o.env);
		engine_error("run: cannot open /dev/null");
		return EXIT_ENGINE;
	}
	block_forwarded_signals();
	if (container_create(e, argv[image], &o, &c, &err) == 0)
		container_run_foreground(&c, &status, &err);
	if (err != NULL) {
		engine_error("%s", err->msg ? err->msg : "failed");
		status = exit_code_of(&c, err);
		husk_error_free(&err);
	}
	if (container_remove(e, &c, &rm_err) < 0) {
		engine_error("removing container %s: %s", c.id, rm_err->msg);
		husk_error_free(&rm_err);
		if (status < EXIT_ENGINE)
			status = EXIT_ENGINE;
	}
	strv_free(o.env);
	return status;
}
