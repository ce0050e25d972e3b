/* SPDX-License-Identifier: MIT */
#pragma once

#include "record.h"

/*
 * Starting a container: its overlay mounted, the core's create and start
 * with the container's stdio on pipes (or a pty), the state recorded as
 * running, and then the process that did it becomes the container's
 * monitor (husk-monitor, exec'd: the init stays its child).
 *
 * ctr_launch() does it in a new session of its own (a forked child) and
 * returns once the container runs or with why it could not; client_fd, when
 * not -1, is a socketpair end the monitor serves as an attached client from
 * the first byte of output. The caller holds the container's lock (it is
 * held through the start). ctr_become_monitor() does it in the calling
 * process (the monitor's own restart), and returns only on failure.
 */
int ctr_launch(struct engine *e, struct ctr *c, int client_fd, husk_error **err);
int ctr_become_monitor(struct engine *e, struct ctr *c, int *client_fds, size_t n_clients,
		       husk_error **err);
/* Mounts the overlay again when it is not (a container started after it
 * exited). */
int ctr_mount_rootfs(struct engine *e, struct ctr *c, husk_error **err);
