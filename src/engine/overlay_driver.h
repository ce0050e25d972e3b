/* SPDX-License-Identifier: MIT */
#pragma once

#include <husk/error.h>

/*
 * Which overlay mounts the containers' rootfs: the kernel's overlayfs, or
 * fuse-overlayfs where the kernel's does not work here (a kernel older than
 * 5.11 in a user namespace, a backing file system that refuses it). Decided
 * once per storage root by mounting a tiny overlay in the current (user)
 * namespace, the verdict cached in <storage root>/overlay-driver and probed
 * again when the kernel release changes. HUSK_OVERLAY=kernel|fuse overrides.
 */

enum overlay_driver {
	OVERLAY_KERNEL,
	OVERLAY_FUSE,
};

struct overlay_choice {
	enum overlay_driver driver;
	char why[256]; /* "kernel overlay in a user namespace: works", ... */
};

/* HUSK_OVERLAY: unset or empty (the probe decides), `kernel` or `fuse`;
 * anything else fails with HUSK_ERR_INVALID. */
int overlay_env(bool *ret_set, enum overlay_driver *ret, husk_error **err);
/* overlay_env() for its error alone. */
int overlay_env_check(husk_error **err);

/* The driver for storage_root: HUSK_OVERLAY, the cached verdict, or a probe
 * (made in the current namespace, which must be the one the containers'
 * overlays are mounted in). */
int overlay_driver_choose(const char *storage_root, struct overlay_choice *ret, husk_error **err);

/* "overlay" or "fuse-overlayfs", as docker info names them. */
const char *overlay_driver_name(enum overlay_driver d);

/* The first executable `name` on $PATH, or NULL. */
char *overlay_find_program(const char *name);
