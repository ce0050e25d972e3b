/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include <husk/error.h>

/* Reads fd to its end into a NUL-terminated buffer; more than max bytes is
 * an error (what names the file, for the messages: `what`). */
int read_fd_bounded(int fd, size_t max, const char *what, char **ret, size_t *ret_len,
		    husk_error **err);
/* The same for a path on the host (opened O_NONBLOCK: a FIFO does not hang). */
int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len, husk_error **err);
