/* SPDX-License-Identifier: MIT */
/* The fuse-overlayfs daemon of a container's rootfs, by pid and start time. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuse_daemon.h"
#include "record.h"
#include "util.h"

#define RECORD "fuse-overlayfs.pid"
/* How long an ended daemon is waited for: it has nothing to flush. */
#define END_WAIT_MS 2000

int fuse_daemon_record(const char *container_dir, pid_t pid, husk_error **err)
{
	cleanup_close int dirfd = open(container_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned long long start;
	char text[64];

	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", container_dir);
	if (proc_start_time(pid, &start) < 0)
		return husk_error_set(err, errno, "fuse-overlayfs (pid %d)", (int)pid);
	snprintf(text, sizeof(text), "%d %llu\n", (int)pid, start);
	return write_file_atomic_at(dirfd, RECORD, text, strlen(text), 0600, err);
}

static bool record_read(int dirfd, pid_t *ret_pid, unsigned long long *ret_start)
{
	cleanup_free char *text = NULL;
	int pid;

	if (read_file_at(dirfd, RECORD, &text, NULL, NULL) < 0 ||
	    sscanf(text, "%d %llu", &pid, ret_start) != 2 || pid <= 0)
		return false;
	*ret_pid = pid;
	return true;
}

bool fuse_daemon_alive(const char *container_dir, pid_t *ret_pid)
{
	cleanup_close int dirfd = open(container_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned long long start;
	pid_t pid;

	if (dirfd < 0 || !record_read(dirfd, &pid, &start) || !process_alive(pid, start))
		return false;
	*ret_pid = pid;
	return true;
}

/* SIGKILL through a pidfd taken before the start time is checked: the
 * signal cannot reach a process that took the pid over since. */
static void kill_and_wait(pid_t pid, unsigned long long start)
{
	cleanup_close int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (fd < 0 || !process_alive(pid, start))
		return;
	if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0)
		return;
	while (poll(&p, 1, END_WAIT_MS) < 0 && errno == EINTR) {
	}
}

void fuse_daemon_end(const char *container_dir)
{
	cleanup_close int dirfd = open(container_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned long long start;
	pid_t pid;

	if (dirfd < 0 || !record_read(dirfd, &pid, &start))
		return;
	kill_and_wait(pid, start);
	unlinkat(dirfd, RECORD, 0);
}
