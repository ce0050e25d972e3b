/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include <husk/error.h>

/*
 * --userns auto, as root: the container gets a user namespace of its own,
 * its ids 0..size-1 mapped to a range of the host's that no other
 * container of this storage root has, taken from the range of the user
 * `containers` in /etc/subuid and /etc/subgid (podman's convention).
 *
 * The range is recorded in the container's dir (the file `idmap`), so it
 * goes with the dir: a removal frees it, and a dir left by a killed husk
 * keeps it until prune takes the dir. The image's layers stay as they are
 * on disk: they are mounted idmapped under the overlay (rootfs.c), and
 * the container's upper dir holds host ids of the range.
 */
struct ctr_idmap {
	unsigned long uid, gid; /* the host ids of the container's 0 */
	unsigned long size;	/* 0: no user namespace of its own */
};

#define USERNS_AUTO_DEFAULT_SIZE 65536UL

/* Takes a free range of size ids for the container whose dir is dir (under
 * containers_dir) and records it there. */
int userns_auto_allocate(const char *containers_dir, const char *dir, unsigned long size,
			 husk_error **err);
/* The container's range; size 0 when it has none. */
int userns_auto_read(const char *dir, struct ctr_idmap *ret, husk_error **err);
/* A user namespace with m's mapping, held by its fd alone (for
 * MOUNT_ATTR_IDMAP): its process is gone on return. */
int userns_auto_fd(const struct ctr_idmap *m, husk_error **err);
