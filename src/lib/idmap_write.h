/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

/* Writes linux.uidMappings/gidMappings for the process pid: directly when we
 * may (root, or one range mapping our own id), otherwise through the setuid
 * helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid. */
int husk_idmap_write(const struct husk_spec *spec, pid_t pid, bool rootless, husk_error **err);
/* An unprivileged direct gid_map write needs setgroups "deny" first. */
bool husk_idmap_needs_setgroups_deny(const struct husk_spec *spec, bool rootless);
