/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A container's configuration: an OCI runtime-spec config.json, read from a
 * bundle on disk or built in memory by an engine. The parsed form is opaque
 * to callers; the library validates every field (errors name the field, e.g.
 * "config.json: process.args: must be a non-empty array of strings").
 */

#include <jansson.h>
#include <stddef.h>

#include <husk/error.h>

struct husk_spec;

/* Reads BUNDLE/config.json (or config_path) and validates it. */
int husk_spec_load(const char *bundle, const char *config_path, struct husk_spec **ret,
		   husk_error **err);
/* config.json text; relative paths (root.path) are taken from bundle. */
int husk_spec_parse(const char *text, size_t len, const char *bundle, struct husk_spec **ret,
		    husk_error **err);
/* A configuration held in memory: no bundle on disk. root.path must be
 * absolute; `bundle` (may be NULL) is only what the state reports. The
 * spec takes its own reference to config. */
int husk_spec_from_json(json_t *config, const char *bundle, struct husk_spec **ret,
			husk_error **err);
void husk_spec_free(struct husk_spec *spec);

static inline void husk_spec_freep(struct husk_spec **p)
{
	husk_spec_free(*p);
}
#define cleanup_spec __attribute__((cleanup(husk_spec_freep)))
