/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#include <husk/error.h>
#include <husk/store.h>

#include "userns_auto.h"

/*
 * Rootless --userns auto and keep-id: an ordinary user may not idmap a
 * mount of the host's file systems (that takes CAP_SYS_ADMIN over their
 * user namespace, the host's), so the overlay's lower layers are id-shifted
 * copies instead, as containers/storage makes them: each file's owner is
 * the outer id of the id it has in the layer (the container's view). One
 * copy per (layer, mapping) in <storage root>/shifted/<key>/<layer> (the
 * init layer as `init`), the key a hash of the mapping, shared by every
 * container with that mapping. Each is built under a temporary name and
 * renamed once complete: a build killed midway leaves a `.tmp-` dir that
 * nothing mounts and the next sweep removes.
 *
 * A container lists the copies it uses in its dir (the file `shifted`)
 * before they are built, under the shifted dir's lock held shared; the
 * sweep (rmi, system prune) takes it exclusive and removes every copy no
 * container dir lists.
 */

/* The copies for img's layers and the init layer under mapping m, built
 * when missing; *ret_key: the dir under shifted/ that holds them. */
int layer_shift_prepare(const char *storage_root, const char *container_dir,
			const struct husk_image *img, const struct ctr_idmap *m, char **ret_key,
			husk_error **err);
/* Removes the copies no container lists, and failed builds' leftovers. */
int layer_shift_sweep(const char *storage_root, const char *containers_dir, husk_error **err);
/* The bytes the copies take (system df). */
uint64_t layer_shift_bytes(const char *storage_root);
