/* SPDX-License-Identifier: MIT */
#pragma once

#include <husk/error.h>
#include <husk/store.h>

#include "overlay_driver.h"

/* A container's rootfs: an overlay (the kernel's or fuse-overlayfs, see
 * overlay_driver.h) of the image's unpacked layers (lower,
 * read-only, shared) and the container's own upper and work dirs, mounted on
 * the host at <container dir>/rootfs. Makes upper/, work/ and rootfs/ in
 * container_dir. discardable: the container goes when it stops (--rm), its
 * upper dir need not outlive a crash: the kernel's overlay is mounted
 * volatile, with no sync of the upper filesystem at the unmount (~1 ms on
 * ext4) nor at the container's fsyncs. */
int rootfs_mount(const char *storage_root, const char *container_dir, const struct husk_image *img,
		 bool discardable, husk_error **err);
/* Unmounts <container dir>/rootfs if it is mounted; 0 when it is not. */
int rootfs_unmount(const char *container_dir, husk_error **err);

/* The container's overlay driver: fuse-overlayfs when its dir has a file
 * `fuse-overlayfs` (made at its first mount with it), else the storage
 * root's choice. */
int rootfs_driver(const char *storage_root, const char *container_dir, enum overlay_driver *ret,
		  husk_error **err);

/* mount(2) of a kernel overlay with dir as the working directory, restored
 * after: the lowerdirs in options may be relative to it. */
int overlay_mount_kernel(const char *dir, const char *target, const char *options,
			 husk_error **err);
/* The options every kernel overlay of husk's takes: "userxattr" in a user
 * namespace, else "redirect_dir=off,metacopy=off". */
const char *overlay_kernel_extra_options(void);
