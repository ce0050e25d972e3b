/* SPDX-License-Identifier: MIT */
/* Forking a child that reports back through a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fork_report.h"

pid_t fork_with_report_pipe(int *ret_fd, husk_error **err)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return husk_error_set(err, e, "fork");
	}
	close(fds[pid == 0 ? 0 : 1]);
	*ret_fd = fds[pid == 0 ? 1 : 0];
	return pid;
}
