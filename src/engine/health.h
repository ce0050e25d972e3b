/* SPDX-License-Identifier: MIT */
#pragma once

#include "record.h"

/* health.json in the container's dir: {"Status": "starting" | "healthy" |
 * "unhealthy", "FailingStreak": N, "Log": [{"Start", "End", "ExitCode",
 * "Output"}, ... the last 5]}, written by `husk __healthcheck` (run by the
 * monitor every interval) under the container's lock. */

/* "starting" when no check has ended yet. */
int health_status(const struct ctr *c, char **ret);
/* The whole object ("starting" with an empty log when none). */
json_t *health_json(const struct ctr *c);
/* A new start: the health is "starting" again. */
void health_reset(const struct ctr *c);
