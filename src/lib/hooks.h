/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* Runs the hooks of one kind in order, each with the state JSON on stdin and
 * killed after its timeout. Stops at the first failure (the caller decides,
 * by hook kind, whether that fails the operation or is only a warning). */
int husk_hooks_run(const struct husk_spec *spec, enum husk_hook_kind kind, const char *state_json,
		   husk_error **err);
int husk_hooks_run_list(const struct husk_hook *hooks, size_t n, const char *kind_name,
			const char *state_json, bool keep_going, husk_error **err);
const char *husk_hook_kind_name(enum husk_hook_kind kind);
