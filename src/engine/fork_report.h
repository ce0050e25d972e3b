/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

#include <husk/error.h>

/*
 * A child that reports back through a pipe: what it writes there (an error,
 * a line of its own, "+" before an exec) the parent reads once it is done,
 * the pipe's EOF telling that no one holds the write end any more.
 */

/* Forks with a pipe from the child to the parent, both ends O_CLOEXEC. In
 * the child: 0, *ret_fd its write end (the read end closed). In the
 * parent: the child's pid, *ret_fd the read end (the write end closed).
 * -1 with err set when the pipe or the fork failed; nothing is left open. */
pid_t fork_with_report_pipe(int *ret_fd, husk_error **err);

/* The same child, run as fn(arg), sharing this process's memory
 * (CLONE_VM | CLONE_VFORK) on a stack of its own: no page table is copied
 * and the child takes no copy-on-write fault. This process sleeps until the
 * child execs or exits, which is the only way fn may end (it must not
 * return). What the child writes to memory, this process sees: fn must
 * leave alone what its caller relies on, and must not print through stdio
 * buffers. It shares this thread's TLS too: glibc's raise() and abort()
 * there would signal this thread, not the child (a failure is reported
 * through the pipe instead). *child_fd (set before fn runs) is the child's write end,
 * *ret_fd this process's read end. Under the sanitizers, which cannot follow a child that
 * shares their memory, a fork. */
pid_t spawn_with_report_pipe(int (*fn)(void *), void *arg, int *child_fd, int *ret_fd,
			     husk_error **err);
