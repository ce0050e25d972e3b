/* SPDX-License-Identifier: MIT */
#pragma once

/* A log record as a JSON line, as Docker's json-file driver writes it:
 * {"log":"...","stream":"stdout","time":"2026-12-02T18:11:58.123456789Z"}
 * one per line of output (a chunk with no newline at its end is a record
 * of its own: the reader joins them). The text is escaped for JSON, and
 * bytes that are not UTF-8 become U+FFFD. A character cut in two by a read
 * is held in the carry until the next chunk (buf NULL: flush it). */

#include <stddef.h>
#include <stdint.h>

struct utf8_carry {
	unsigned char bytes[4];
	size_t len;
};

struct json_line {
	char *data; /* malloc'd, one or more records */
	size_t len, cap;
};

int json_line_build(struct json_line *out, struct utf8_carry *carry, const char *buf, size_t len,
		    const char *stream, int64_t time_ns);
