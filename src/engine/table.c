/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define PADDING 3

int table_add(struct table *t, const char *const *cells)
{
	char **grown = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(char *));

	if (grown == NULL)
		return -1;
	t->cells = grown;
	for (size_t i = 0; i < t->n_cols; i++) {
		char *copy = strdup(cells[i] ? cells[i] : "");
		if (copy == NULL) {
			for (size_t j = 0; j < i; j++)
				free(grown[t->n_rows * t->n_cols + j]);
			return -1;
		}
		grown[t->n_rows * t->n_cols + i] = copy;
	}
	t->n_rows++;
	return 0;
}

/* Columns on a terminal: UTF-8 continuation bytes take none. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void table_print(const struct table *t, FILE *f)
{
	size_t *width = calloc(t->n_cols ? t->n_cols : 1, sizeof(size_t));

	if (width == NULL)
		return;
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			size_t w = text_width(t->cells[r * t->n_cols + c]) + PADDING;
			if (w > width[c])
				width[c] = w < t->min_width ? t->min_width : w;
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		char **row = &t->cells[r * t->n_cols];
		size_t end = t->n_cols; /* no padding after the last cell with text */
		while (end > 1 && row[end - 1][0] == '\0')
			end--;
		for (size_t c = 0; c < end; c++) {
			fputs(row[c], f);
			if (c + 1 < end)
				fprintf(f, "%*s", (int)(width[c] - text_width(row[c])), "");
		}
		fputc('\n', f);
	}
	free(width);
}

void table_clear(struct table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_rows = 0;
}
