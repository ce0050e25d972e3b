/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "container_config.h"
#include "engine.h"

/*
 * A container of the engine, from its creation to its removal. Each step it
 * went through is recorded, so that one function, container_remove(), undoes
 * exactly those, in reverse, whatever step failed.
 */
struct engine_container {
	char id[65];	  /* 64 hex digits */
	char *dir;	  /* containers/<id> */
	char *name;	  /* claimed in names/ (NULL: none) */
	bool dir_made;	  /* containers/<id> exists */
	bool held;	  /* the image is held by id in the store */
	bool mounted;	  /* the overlay is (maybe) mounted */
	bool created;	  /* the core library knows it (state, cgroup) */
	bool reaped;	  /* its init has been waited for */
	bool core_failed; /* the error came from the core's create or start */
	struct husk_handle *handle;
};

/* Everything up to a created container whose init waits for start: an id,
 * its dir, its name, the image (the built-in busybox made on first use)
 * held, the overlay mounted, the config generated, the core's create. */
int container_create(struct engine *e, const char *image_ref, const struct run_options *o,
		     struct engine_container *c, husk_error **err);
/* Starts it and runs it in the foreground: *ret_status is its exit status
 * (128 + signal when killed). */
int container_run_foreground(struct engine_container *c, int *ret_status, husk_error **err);
/* Undoes whatever container_create did, all of it even when a step fails
 * (the first failure is reported). */
int container_remove(struct engine *e, struct engine_container *c, husk_error **err);
