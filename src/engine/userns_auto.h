/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include <husk/error.h>
#include <husk/store.h>

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
#define CTR_IDMAP_MAX 3

/* Rootless, "the host" is the user's namespace (rootless.h) that husk runs
 * in: its 0 is the user, 1.. the user's subordinate ids. */
struct ctr_idmap {
	unsigned long uid, gid; /* the host ids of the container's 0 */
	unsigned long size;	/* 0: no user namespace of its own */
	/* the maps themselves: auto's one extent, keep-id's up to three */
	struct husk_id_extent uids[CTR_IDMAP_MAX], gids[CTR_IDMAP_MAX];
	size_t n_uids, n_gids;
	/* --userns keep-id: the container's ids of the user (its host 0) */
	bool keep_id;
	unsigned long user_uid, user_gid;
};

#define USERNS_AUTO_DEFAULT_SIZE 65536UL

/* Takes a free range of size ids for the container whose dir is dir (under
 * containers_dir) and records it there. */
int userns_auto_allocate(const char *containers_dir, const char *dir, unsigned long size,
			 husk_error **err);
/*
 * --userns keep-id, rootless: the user's ids are the container's user_uid
 * and user_gid (by default the user's own numbers on the host), the
 * container's ids below them and above them the user's subordinate ids,
 * as podman maps them: 0..U-1 → 1..U, U → 0, U+1.. → U+1.. Recorded in
 * the container's dir (the file `idmap`, "keep-id U G NUIDS NGIDS"). The
 * range is every id of the user's: shared by all keep-id containers, not
 * taken from auto's.
 */
int userns_keep_id_record(const char *dir, long user_uid, long user_gid, husk_error **err);
/* The user's ids on the host (outside its namespace): 0's outer ids in
 * /proc/self/uid_map and gid_map, and how many ids each maps. */
int userns_host_self(unsigned long *ret_uid, unsigned long *ret_gid, unsigned long *ret_nuids,
		     unsigned long *ret_ngids, husk_error **err);
/* The container's range; size 0 when it has none. */
int userns_auto_read(const char *dir, struct ctr_idmap *ret, husk_error **err);
/* A user namespace with m's mapping, held by its fd alone (for
 * MOUNT_ATTR_IDMAP): its process is gone on return. */
int userns_auto_fd(const struct ctr_idmap *m, husk_error **err);
