/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* The range of NAME (or of the numeric ID) in /etc/subuid or /etc/subgid
 * ("name:start:count" or "uid:start:count"): the first that matches. */
bool subid_range(const char *file, const char *name, uid_t id, unsigned long *start,
		 unsigned long *count);
