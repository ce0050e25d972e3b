/* SPDX-License-Identifier: MIT */
/* OCI hooks: fork, state on stdin, timeout, exit status. */
#define _GNU_SOURCE
#include "hooks.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "util.h"

const char *husk_hook_kind_name(enum husk_hook_kind kind)
{
	static const char *const names[] = {"prestart",	      "createRuntime", "createContainer",
					    "startContainer", "poststart",     "poststop"};
	return names[kind];
}

/* A hook without "env" gets the runtime's own environment, as runc and crun
 * give it (hooks such as the NVIDIA toolkit's read PATH from it); "env": []
 * is an empty one. */
static void hook_child(const struct husk_hook *h, int stdin_fd)
{
	char *argv0[] = {h->path, NULL};

	sigset_t none;

	/* nothing of the caller's signal state: a blocked TERM would make a
	 * hook unstoppable */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(stdin_fd, 0);
	signal(SIGPIPE, SIG_DFL);
	execve(h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : environ);
	_exit(127);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits for pid; with a timeout, kills it when time is up. */
static int wait_hook(pid_t pid, int timeout, int *ret_status)
{
	long long deadline = timeout > 0 ? now_ms() + timeout * 1000LL : 0;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		pid_t r = waitpid(pid, ret_status, deadline || pidfd >= 0 ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			/* ECHILD: someone else reaped it; its status is lost */
			r = -errno;
			if (pidfd >= 0)
				close(pidfd);
			return r;
		}
		if (deadline && now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, ret_status, 0);
			if (pidfd >= 0)
				close(pidfd);
			return -ETIMEDOUT;
		}
		if (pidfd >= 0) {
			struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
			poll(&pfd, 1, deadline ? (int)(deadline - now_ms()) : -1);
		} else if (deadline) {
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return 0;
}

/* A hook may exit without reading its stdin. SIGPIPE is blocked for the
 * write in this thread alone (a process-wide SIG_IGN would race with other
 * threads), and one it raised is taken back before the mask is restored. */
static void write_state(int fd, const char *state)
{
	sigset_t pipe_only, old, pending;
	bool was_pending;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	if (write_all(fd, state, strlen(state)) < 0 && errno == EPIPE && !was_pending) {
		struct timespec now = {0, 0};
		sigtimedwait(&pipe_only, NULL, &now);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int run_hook(const struct husk_hook *h, const char *kind, size_t i, const char *state,
		    husk_error **err)
{
	int pipefd[2], status = 0, r;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "hooks.%s[%zu]: pipe", kind, i);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return husk_error_set(err, errno, "hooks.%s[%zu]: fork", kind, i);
	}
	if (pid == 0)
		hook_child(h, pipefd[0]);
	close(pipefd[0]);
	write_state(pipefd[1], state);
	close(pipefd[1]);
	r = wait_hook(pid, h->timeout, &status);
	if (r < 0 && r != -ETIMEDOUT)
		return husk_error_set(err, -r, "hooks.%s[%zu] `%s`: wait", kind, i, h->path);
	if (r == -ETIMEDOUT)
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "hooks.%s[%zu] `%s`: timed out after %d s", kind, i, h->path,
				       h->timeout);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "hooks.%s[%zu] `%s`: could not be executed", kind, i,
				       h->path);
	if (WIFEXITED(status))
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "hooks.%s[%zu] `%s`: exited with status %d", kind, i,
				       h->path, WEXITSTATUS(status));
	return husk_error_fail(err, HUSK_ERR_SYSTEM, "hooks.%s[%zu] `%s`: killed by signal %d",
			       kind, i, h->path, WTERMSIG(status));
}

int husk_hooks_run_list(const struct husk_hook *hooks, size_t n, const char *kind_name,
			const char *state_json, bool keep_going, husk_error **err)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		if (run_hook(&hooks[i], kind_name, i, state_json, err) == 0)
			continue;
		r = -1;
		if (!keep_going)
			break;
	}
	return r;
}

int husk_hooks_run(const struct husk_spec *spec, enum husk_hook_kind kind, const char *state_json,
		   husk_error **err)
{
	/* A failing poststart or poststop hook is only a warning: the others
	 * still run (runtime.md). */
	bool keep_going = kind == HUSK_HOOK_POSTSTART || kind == HUSK_HOOK_POSTSTOP;

	return husk_hooks_run_list(spec->hooks[kind], spec->n_hooks[kind],
				   husk_hook_kind_name(kind), state_json, keep_going, err);
}
