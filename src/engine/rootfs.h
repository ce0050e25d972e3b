/* SPDX-License-Identifier: MIT */
#pragma once

#include <husk/error.h>
#include <husk/store.h>

/* A container's rootfs: an overlay of the image's unpacked layers (lower,
 * read-only, shared) and the container's own upper and work dirs, mounted on
 * the host at <container dir>/rootfs. Makes upper/, work/ and rootfs/ in
 * container_dir. */
int rootfs_mount(const char *storage_root, const char *container_dir, const struct husk_image *img,
		 husk_error **err);
/* Unmounts <container dir>/rootfs if it is mounted; 0 when it is not. */
int rootfs_unmount(const char *container_dir, husk_error **err);
