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
 * the first byte of output; with owns_exit, that client is the run's owner:
 * once the init exits, the monitor hands the exit over to it while it is
 * attached (attach.h: ATTACH_HANDOFF; ctr_record_final_exit()), and records
 * it itself (husk __monitor-exit) only when the owner is gone. The caller
 * holds the container's lock (it is held through the start).
 * ctr_become_monitor() does it in the calling process (the monitor's own
 * restart), and returns only on failure.
 */
int ctr_launch(struct engine *e, struct ctr *c, int client_fd, bool owns_exit, husk_error **err);
int ctr_become_monitor(struct engine *e, struct ctr *c, int *client_fds, size_t n_clients,
		       husk_error **err);
/* Mounts the overlay again when it is not (a container started after it
 * exited). */
int ctr_mount_rootfs(struct engine *e, struct ctr *c, husk_error **err);
/* The init of container id exited with status, and no restart is to come:
 * the exit recorded, the container out of the core, its rootfs unmounted
 * (or it all removed, with --rm), as husk __monitor-exit does. Done by the
 * run's owner (see ctr_launch) in its own process. */
int ctr_record_final_exit(struct engine *e, const char *id, int status, husk_error **err);
