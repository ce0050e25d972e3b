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
