/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* The default devices (null, zero, full, random, urandom, tty), the /dev
 * links (fd, stdin, stdout, stderr, ptmx) and linux.devices, created inside
 * the rootfs. In a user namespace, where mknod is refused, device nodes are
 * bind mounts of the host's. */
int husk_devices_setup(int rootfd, const struct husk_spec *spec, bool in_userns, husk_error **err);
