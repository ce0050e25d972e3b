/* SPDX-License-Identifier: MIT */
/* Forking a child that reports back through a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
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

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SHARED_MEMORY_CHILD 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SHARED_MEMORY_CHILD 0
#endif
#endif
#ifndef SHARED_MEMORY_CHILD
#define SHARED_MEMORY_CHILD 1
#endif

/* Virtual only: the pages the child touches are all it costs. */
#define CHILD_STACK (8u << 20)

pid_t spawn_with_report_pipe(int (*fn)(void *), void *arg, int *child_fd, int *ret_fd,
			     husk_error **err)
{
	int fds[2], e;
	pid_t pid;
	void *stack;

	if (!SHARED_MEMORY_CHILD) {
		pid = fork_with_report_pipe(ret_fd, err);
		if (pid == 0) {
			*child_fd = *ret_fd;
			_exit(fn(arg));
		}
		return pid;
	}
	stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return husk_error_set(err, errno, "mmap a stack");
	/* an overflow faults instead of writing below the stack */
	mprotect(stack, 4096, PROT_NONE);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		e = errno;
		munmap(stack, CHILD_STACK);
		return husk_error_set(err, e, "pipe");
	}
	*child_fd = fds[1];
	pid = clone(fn, (char *)stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
	e = errno;
	/* the child has exec'd or exited: its stack is no one's now */
	munmap(stack, CHILD_STACK);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return husk_error_set(err, e, "clone");
	}
	*ret_fd = fds[0];
	return pid;
}
