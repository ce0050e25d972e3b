/* SPDX-License-Identifier: MIT */
#pragma once

/* Docker's tables (its tabwriter: every column but the last at least
 * min_width wide, 3 spaces after the widest cell): 20 for top, 10 for the
 * tables of its formatter (stats). */

#include <stddef.h>
#include <stdio.h>

struct table {
	size_t n_cols, min_width, n_rows;
	char **cells; /* n_rows * n_cols, owned */
};

/* Appends a row of n_cols cells (copied; NULL is ""). */
int table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *f);
void table_clear(struct table *t);
