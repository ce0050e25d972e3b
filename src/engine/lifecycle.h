/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "container_config.h"
#include "engine.h"
#include "record.h"

/* A new container from an image: an id, its dir, its name (given, or made
 * up as Docker does), the image (the built-in busybox made on first use)
 * held, config.json generated, container.json and state.json ("created")
 * written. Not mounted nor started: ctr_launch() does that. On failure
 * nothing of it is left. */
int ctr_create(struct engine *e, const char *image_ref, const struct run_options *o,
	       struct ctr **ret, husk_error **err);
/* Removes all of a container that is not running: the core's state and
 * cgroup, the overlay, its dir, the image hold, its name, its use of
 * volumes (its anonymous volumes too with remove_volumes: --rm, rm -v).
 * Goes on past a failure (the first is reported); what is already gone is
 * no failure. */
int ctr_remove(struct engine *e, struct ctr *c, bool remove_volumes, husk_error **err);

/* What a husk killed half-way left of container id (remains.h): its
 * abandoned dir's core state, overlay, names, image hold and files. The
 * caller holds its lock, if it has one. */
int ctr_remove_remains(struct engine *e, const char *id, husk_error **err);
/* containers/<name>, a .creating-* or .removing-* dir whose process is
 * gone: removed (BUSY when it is no such dir, or its process lives). */
int ctr_transit_remove(struct engine *e, const char *name, husk_error **err);

/* names/<name>: claimed with link(2) (EXISTS when taken, unless what it
 * names is no container any more: remains.h), released only if it still
 * names id. */
int name_claim(const struct engine *e, const char *id, const char *name, husk_error **err);
int name_release(const struct engine *e, const char *id, const char *name, husk_error **err);
