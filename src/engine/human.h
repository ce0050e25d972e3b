/* SPDX-License-Identifier: MIT */
#pragma once

/* How the image verbs show things to a person, as Docker does. */

#include <stddef.h>
#include <stdint.h>

/* "4.26MB": decimal units, three significant digits. */
void human_size(int64_t bytes, char *buf, size_t len);
/* "2 hours ago", "56 years ago" for an RFC 3339 date; "N/A" for none. */
void human_age(const char *created, char *buf, size_t len);
