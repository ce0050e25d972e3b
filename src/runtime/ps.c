/* SPDX-License-Identifier: MIT */
/* ps [--format table|json] ID [PS-ARGS...] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Runs ps(1) and keeps its header and the container's lines. */
static int print_table(const pid_t *pids, size_t n, int argc, char **argv)
{
	char **args = calloc((size_t)argc + 3, sizeof(char *));
	char *line = NULL;
	size_t cap = 0;
	int pid_col = -1, fds[2];
	FILE *f;
	pid_t child;

	if (args == NULL || pipe2(fds, O_CLOEXEC) < 0)
		return 1;
	args[0] = "ps";
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	if (argc == 0)
		args[1] = "-ef";
	child = fork();
	if (child == 0) {
		dup2(fds[1], 1);
		execvp("ps", args);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && getline(&line, &cap, f) > 0) {
		char *save = NULL, *copy = strdup(line), *tok;
		int col = 0;
		bool keep = pid_col < 0;
		for (tok = strtok_r(copy, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save), col++) {
			if (pid_col < 0 && strcmp(tok, "PID") == 0)
				pid_col = col;
			else if (col == pid_col)
				keep = has_pid(pids, n, atol(tok));
		}
		free(copy);
		if (keep)
			fputs(line, stdout);
	}
	free(line);
	if (f)
		fclose(f);
	free(args);
	waitpid(child, NULL, 0);
	return 0;
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
	const char *format = "table";
	cleanup_free pid_t *pids = NULL;
	husk_error *err = NULL;
	size_t n = 0;
	int c;

	while ((c = getopt_long_only(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c != 'f')
			return 2;
		format = optarg;
	}
	if (optind >= argc || (strcmp(format, "json") && strcmp(format, "table"))) {
		cli_error(cli, "ps: usage: ps [--format table|json] ID [PS-ARGS...]");
		return 2;
	}
	if (husk_container_pids(&cli->rt, argv[optind], &pids, &n, &err) < 0)
		return cli_fail(cli, err);
	if (strcmp(format, "json") == 0) {
		cleanup_json json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_integer(pids[i]));
		char *s = json_dumps(a, JSON_COMPACT);
		puts(s ? s : "[]");
		free(s);
		return 0;
	}
	return print_table(pids, n, argc - optind - 1, argv + optind + 1);
}

static int freeze_verb(struct cli *cli, int argc, char **argv, bool pause)
{
	husk_error *err = NULL;

	if (argc != 2) {
		cli_error(cli, "%s: expects exactly one container ID", argv[0]);
		return 2;
	}
	if ((pause ? husk_container_pause : husk_container_resume)(&cli->rt, argv[1], &err) < 0)
		return cli_fail(cli, err);
	return 0;
}

int cmd_pause(struct cli *cli, int argc, char **argv)
{
	return freeze_verb(cli, argc, argv, true);
}

int cmd_resume(struct cli *cli, int argc, char **argv)
{
	return freeze_verb(cli, argc, argv, false);
}
