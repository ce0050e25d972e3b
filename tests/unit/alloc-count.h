/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Counts live heap blocks by replacing malloc/calloc/realloc/free (glibc
 * supports this, and routes its own strdup, asprintf, ... through them), so a
 * test can tell that a failing parse gave back everything it took. Under a
 * sanitizer, which brings its own allocator and leak checker, counting is off.
 */

#include <stdbool.h>

bool alloc_count_enabled(void);
long alloc_count_live(void); /* blocks allocated and not yet freed */
