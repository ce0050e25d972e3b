/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* Opens a pty pair from the container's devpts (rootfd/dev/pts/ptmx, or the
 * host's /dev/ptmx when the container has none). */
int husk_terminal_open(int rootfd, unsigned short rows, unsigned short cols, int *ret_master,
		       int *ret_slave, husk_error **err);
/* Makes fd the controlling terminal and stdin/stdout/stderr. */
int husk_terminal_become_controlling(int slave, husk_error **err);
/* Connects to a console socket and sends the master over it (SCM_RIGHTS),
 * as runc's clients (conmon, containerd-shim) expect. */
int husk_terminal_send_to_socket(const char *socket_path, int master, husk_error **err);
int husk_terminal_connect(const char *socket_path, int *ret_fd, husk_error **err);
