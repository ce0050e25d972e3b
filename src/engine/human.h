/* SPDX-License-Identifier: MIT */
#pragma once

/* How the image verbs show things to a person, as Docker does. */

#include <stddef.h>
#include <stdint.h>

/* "4.26MB": decimal units, three significant digits. */
void human_size(int64_t bytes, char *buf, size_t len);
/* "2 hours ago", "56 years ago" for an RFC 3339 date; "N/A" for none. */
void human_age(const char *created, char *buf, size_t len);

/* A table printed as Docker's tabwriter does: each column as wide as its
 * widest cell (in characters, not bytes), three spaces between columns. */
struct table {
	size_t n_cols, n_rows;
	char **cells; /* n_rows * n_cols, owned */
};
/* Appends a row of t->n_cols cells (copied); -1 when out of memory. */
int table_add(struct table *t, const char *const *row);
void table_print(const struct table *t);
void table_clear(struct table *t);
