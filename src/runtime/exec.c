/* SPDX-License-Identifier: MIT */
/* exec [options] ID [COMMAND ARGS...] | exec --process FILE ID */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "state.h"
#include "util.h"

enum {
	OPT_CONSOLE = 256,
	OPT_PID_FILE,
	OPT_CWD,
	OPT_NNP,
	OPT_PRESERVE,
	OPT_IGNORED,
	OPT_IGNORE_PAUSED
};

struct exec_args {
	struct husk_exec_opts o;
	const char *process_file, *cwd, *user;
	bool tty, nnp;
	json_t *env, *caps, *gids; /* arrays collected from repeated options, owned by cmd_exec */
};

static int parse_user(const char *s, json_t *user)
{
	int64_t uid, gid;
	char *colon = strchr(s, ':');

	if (colon) {
		*colon = '\0';
		if (parse_int64(colon + 1, 0, UINT32_MAX - 1, &gid) < 0)
			return -1;
		json_object_set_new(user, "gid", json_integer(gid));
	}
	if (parse_int64(s, 0, UINT32_MAX - 1, &uid) < 0)
		return -1;
	json_object_set_new(user, "uid", json_integer(uid));
	return 0;
}

/* The container's own process, with the command line's changes. */
static json_t *build_process(struct cli *cli, struct exec_args *a, int argc, char **argv,
			     husk_error **err)
{
	cleanup_json json_t *p = NULL;
	cleanup_json json_t *args = json_array();
	json_t *v;
	size_t i;

	if (husk_container_saved_process(&cli->rt, argv[0], &p, err) < 0)
		return NULL;
	for (int k = 1; k < argc; k++)
		json_array_append_new(args, json_string(argv[k]));
	json_object_set_new(p, "args", steal_pointer(&args));
	json_object_set_new(p, "terminal", json_boolean(a->tty));
	json_object_del(p, "consoleSize");
	if (a->cwd)
		json_object_set_new(p, "cwd", json_string(a->cwd));
	if (json_array_size(a->env)) {
		json_t *env = json_object_get(p, "env");
		if (!json_is_array(env))
			json_object_set_new(p, "env", env = json_array());
		json_array_extend(env, a->env);
	}
	if (a->user || json_array_size(a->gids)) {
		json_t *user = json_object_get(p, "user");
		if (!json_is_object(user))
			json_object_set_new(p, "user", user = json_object());
		if (a->user && parse_user((char *)a->user, user) < 0) {
			husk_error_fail(err, HUSK_ERR_INVALID, "--user: `%s` is not UID[:GID]",
					a->user);
			return NULL;
		}
		if (json_array_size(a->gids))
			json_object_set(user, "additionalGids", a->gids);
	}
	if (a->nnp)
		json_object_set_new(p, "noNewPrivileges", json_true());
	json_array_foreach (a->caps, i, v) {
		json_t *caps = json_object_get(p, "capabilities");
		/* Never inheritable or ambient: those would pass the capability
		 * on across every later execve (CVE-2022-29162). */
		static const char *const sets[] = {"bounding", "effective", "permitted"};
		if (!json_is_object(caps))
			json_object_set_new(p, "capabilities", caps = json_object());
		for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
			json_t *set = json_object_get(caps, sets[s]);
			if (!json_is_array(set))
				json_object_set_new(caps, sets[s], set = json_array());
			json_array_append(set, v);
		}
	}
	return steal_pointer(&p);
}

static json_t *load_process_file(const char *path, husk_error **err)
{
	cleanup_free char *text = NULL;
	json_error_t jerr;
	json_t *p;
	size_t len;

	if (read_file_at(AT_FDCWD, path, &text, &len, err) < 0)
		return NULL;
	p = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (p == NULL)
		husk_error_fail(err, HUSK_ERR_INVALID, "%s: invalid JSON at line %d column %d: %s",
				path, jerr.line, jerr.column, jerr.text);
	return p;
}

static int parse_exec_args(struct cli *cli, int argc, char **argv, struct exec_args *a)
{
	static const struct option opts[] = {
	    {"process", required_argument, NULL, 'p'},
	    {"tty", no_argument, NULL, 't'},
	    {"console-socket", required_argument, NULL, OPT_CONSOLE},
	    {"detach", no_argument, NULL, 'd'},
	    {"pid-file", required_argument, NULL, OPT_PID_FILE},
	    {"cwd", required_argument, NULL, OPT_CWD},
	    {"env", required_argument, NULL, 'e'},
	    {"user", required_argument, NULL, 'u'},
	    {"additional-gids", required_argument, NULL, 'g'},
	    {"cap", required_argument, NULL, 'c'},
	    {"no-new-privs", no_argument, NULL, OPT_NNP},
	    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
	    {"ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED},
	    {"process-label", required_argument, NULL, OPT_IGNORED},
	    {"apparmor", required_argument, NULL, OPT_IGNORED},
	    {"cgroup", required_argument, NULL, OPT_IGNORED},
	    {0},
	};
	int64_t n;
	int c;

	while ((c = getopt_long_only(argc, argv, "+p:tde:u:g:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->process_file = optarg;
			break;
		case 't':
			a->tty = true;
			break;
		case OPT_CONSOLE:
			a->o.console_socket = optarg;
			break;
		case 'd':
			a->o.detach = true;
			break;
		case OPT_PID_FILE:
			a->o.pid_file = optarg;
			break;
		case OPT_CWD:
			a->cwd = optarg;
			break;
		case 'e':
			json_array_append_new(a->env, json_string(optarg));
			break;
		case 'u':
			a->user = optarg;
			break;
		case 'g':
			if (parse_int64(optarg, 0, UINT32_MAX - 1, &n) < 0) {
				cli_error(cli, "--additional-gids: `%s` is not a gid", optarg);
				return -1;
			}
			json_array_append_new(a->gids, json_integer(n));
			break;
		case 'c':
			json_array_append_new(a->caps, json_string(optarg));
			break;
		case OPT_NNP:
			a->nnp = true;
			break;
		case OPT_PRESERVE:
			if (parse_int64(optarg, 0, 1 << 20, &n) < 0) {
				cli_error(cli, "--preserve-fds: `%s` is not a count", optarg);
				return -1;
			}
			a->o.preserve_fds = (int)n;
			break;
		case OPT_IGNORE_PAUSED:
			a->o.ignore_paused = true;
			break;
		case OPT_IGNORED:
			break;
		default:
			return -1;
		}
	}
	if (optind >= argc) {
		cli_error(cli, "exec: expects a container ID");
		return -1;
	}
	if (a->process_file == NULL && optind + 1 >= argc) {
		cli_error(cli, "exec: expects a command to run (or --process FILE)");
		return -1;
	}
	return optind;
}

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	cleanup_json json_t *env = json_array();
	cleanup_json json_t *caps = json_array();
	cleanup_json json_t *gids = json_array();
	struct exec_args a = {.env = env, .caps = caps, .gids = gids};
	husk_error *err = NULL;
	cleanup_json json_t *process = NULL;
	int first, status = 0;

	first = parse_exec_args(cli, argc, argv, &a);
	if (first < 0)
		return 2;
	if (cli_guard_exe(cli, true) != 0)
		return 1;
	if (husk_id_validate(argv[first], &err) < 0)
		return cli_fail(cli, err);
	process = a.process_file ? load_process_file(a.process_file, &err)
				 : build_process(cli, &a, argc - first, argv + first, &err);
	if (process == NULL)
		return cli_fail(cli, err);
	if (husk_container_exec_wait(&cli->rt, argv[first], process, &a.o, &status, &err) < 0)
		return cli_fail(cli, err);
	return status;
}
