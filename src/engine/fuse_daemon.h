/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <husk/error.h>

/*
 * The fuse-overlayfs daemon serving a container's rootfs, recorded in the
 * container's dir as fuse-overlayfs.pid: "PID START" (its start time, so a
 * recycled pid is never taken for it). Its mount may outlive our reach: one
 * lazily detached while busy is served until its last user lets go, and
 * one in a rootless user's mount namespace whose pause process was killed
 * is out of sight of the next command. Whoever is done with the rootfs
 * ends the daemon by this record, never by its name.
 */

/* Records pid (alive now) as the daemon of container_dir's rootfs. */
int fuse_daemon_record(const char *container_dir, pid_t pid, husk_error **err);
/* The recorded daemon, if it still lives. */
bool fuse_daemon_alive(const char *container_dir, pid_t *ret_pid);
/* Kills the recorded daemon if it still lives (waiting a little for it to
 * go) and removes the record. */
void fuse_daemon_end(const char *container_dir);
