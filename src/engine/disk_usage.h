/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/* What the regular files under path hold (Docker's sizes: st_size), not
 * crossing into other file systems (a running container's rootfs); 0 when
 * path is not there. */
uint64_t dir_bytes(const char *path);
