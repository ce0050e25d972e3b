/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/* Docker's units. A duration: "1h2m3.5s", "500ms", "90s" (Go's
 * time.ParseDuration: h, m, s, ms, us, ns; a bare number is refused). */
int parse_duration_ns(const char *s, int64_t *ret);
/* A size: "64m", "1g", "512k", "100b", "1024" (bytes), binary units, as
 * docker's --memory; -1 and the empty string are refused. */
int parse_size_bytes(const char *s, int64_t *ret);
