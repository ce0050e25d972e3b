/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A verb's way into a container's files (export, cp): its merged rootfs,
 * whether the container runs or not, as a directory fd.
 */

#include <stdbool.h>

#include "record.h"

struct ctr_rootfs {
	int fd;	       /* O_PATH | O_DIRECTORY on the merged rootfs */
	bool mounted;  /* by us, in our own mount namespace */
	struct ctr *c; /* locked while we hold a mount of ours */
};

/* The live overlay when it is mounted (a running container); otherwise the
 * overlay mounted in a mount namespace this process makes for itself, so
 * that nothing of it reaches the host nor outlives us even if we are
 * killed, with the container's lock held (no start meanwhile) until
 * ctr_rootfs_release(). */
int ctr_rootfs_open(struct engine *e, struct ctr *c, struct ctr_rootfs *ret, husk_error **err);
/* Closes the fd, unmounts our mount, unlocks. */
void ctr_rootfs_release(struct ctr_rootfs *r);
