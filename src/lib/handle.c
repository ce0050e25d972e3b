/* SPDX-License-Identifier: MIT */
/* Handles: a container's process held by the caller (its child), by pidfd. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container_internal.h"
#include "util.h"

static void close_if_open(int fd)
{
	if (fd >= 0)
		close(fd);
}

int handle_new(const struct husk_runtime *rt, const char *id, pid_t pid, int pty, int sync,
	       struct husk_handle **ret, husk_error **err)
{
	cleanup_free struct husk_handle *h = calloc(1, sizeof(*h));

	/* pty and sync are the handle's from here on, even if this fails. */
	if (h == NULL || (h->id = strdup(id)) == NULL) {
		close_if_open(pty);
		close_if_open(sync);
		return husk_error_set(err, ENOMEM, "handle");
	}
	/* Our own child, not reaped yet: its pid cannot be reused meanwhile. */
	h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (h->pidfd < 0) {
		int e = errno;
		free(h->id);
		close_if_open(pty);
		close_if_open(sync);
		return husk_error_set(err, e, "pidfd_open %d", (int)pid);
	}
	h->rt = rt;
	h->pid = pid;
	h->pty = pty;
	h->sync = sync;
	*ret = steal_pointer(&h);
	return 0;
}

const char *husk_handle_id(const struct husk_handle *h)
{
	return h->id;
}

pid_t husk_handle_pid(const struct husk_handle *h)
{
	return h->pid;
}

int husk_handle_pidfd(const struct husk_handle *h)
{
	return h->pidfd;
}

int husk_handle_pty(const struct husk_handle *h)
{
	return h->pty;
}

int husk_handle_kill(const struct husk_handle *h, int sig, husk_error **err)
{
	if (h->reaped)
		return husk_error_fail(err, HUSK_ERR_BUSY, "container `%s`: process %d has exited",
				       h->id, (int)h->pid);
	if (syscall(SYS_pidfd_send_signal, h->pidfd, sig, NULL, 0) < 0)
		return errno == ESRCH
			   ? husk_error_fail(err, HUSK_ERR_BUSY,
					     "container `%s`: process %d has exited", h->id,
					     (int)h->pid)
			   : husk_error_set(err, errno, "signal process %d", (int)h->pid);
	return 0;
}

static int shell_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

int husk_handle_wait(struct husk_handle *h, int *ret_status, husk_error **err)
{
	int status = 0;

	if (h->reaped)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "container `%s`: process %d already reaped", h->id,
				       (int)h->pid);
	while (waitpid(h->pid, &status, 0) < 0) {
		if (errno != EINTR)
			return husk_error_set(err, errno, "wait for process %d", (int)h->pid);
	}
	h->reaped = true;
	*ret_status = shell_status(status);
	return 0;
}

void husk_handle_free(struct husk_handle *h)
{
	if (h == NULL)
		return;
	if (h->pidfd >= 0)
		close(h->pidfd);
	if (h->pty >= 0)
		close(h->pty);
	if (h->sync >= 0)
		close(h->sync);
	free(h->id);
	free(h);
}
