/* SPDX-License-Identifier: MIT */
/*
 * husk-init: the container's PID 1 with `run --init`. Usage:
 *
 *   husk-init -- COMMAND [ARG...]
 *
 * Starts COMMAND as its child, forwards to it the signals it gets (PID 1
 * has no default actions: a TERM that the command would die of reaches it
 * that way), reaps every process that ends up its child, and exits as
 * COMMAND did (its status, or 128 + the signal that killed it).
 *
 * Static and standalone: it runs in any image, even one without a libc.
 * With a terminal on stdin, COMMAND gets a process group of its own in the
 * terminal's foreground, so that ^C reaches it once, from the terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "husk-init: %s: %s\n", what, strerror(errno));
	_exit(125);
}

/* In the child: the terminal's foreground, then COMMAND. */
static void exec_command(char **argv, const sigset_t *old_mask)
{
	bool tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();

	if (setpgid(0, 0) == 0 && tty) {
		/* TTOU is blocked (inherited): tcsetpgrp from the background
		 * would stop us otherwise */
		if (tcsetpgrp(STDIN_FILENO, getpid()) < 0)
			fprintf(stderr, "husk-init: tcsetpgrp: %s\n", strerror(errno));
	}
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	execvp(argv[0], argv);
	fprintf(stderr, "husk-init: exec `%s`: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static int exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Reaps whatever has ended; *child_status once the command has. */
static bool reap(pid_t child, int *child_status)
{
	bool done = false;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == child) {
			*child_status = status;
			done = true;
		}
	return done;
}

int main(int argc, char **argv)
{
	sigset_t all, old;
	pid_t child;
	int status = 0;

	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: husk-init -- COMMAND [ARG...]\n");
		return 125;
	}
	/* Outside a PID namespace of its own, orphans still come to us. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) < 0)
		die("sigprocmask");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		exec_command(argv + 1, &old);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			die("sigwaitinfo");
		}
		if (sig == SIGCHLD) {
			if (reap(child, &status))
				return exit_code(status);
			continue;
		}
		/* TTIN/TTOU/TSTP from the terminal are the command's group's */
		if (sig == SIGTTIN || sig == SIGTTOU || sig == SIGTSTP)
			continue;
		kill(child, sig);
	}
}
