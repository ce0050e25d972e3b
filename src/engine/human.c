/* SPDX-License-Identifier: MIT */
/* Sizes, ages and tables as Docker shows them. */
#define _GNU_SOURCE
#include "human.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

void human_size(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.*f%s", v < 10 && u > 0 ? 2 : (v < 100 && u > 0 ? 1 : 0), v, units[u]);
}

static bool parse_rfc3339(const char *s, time_t *ret)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

	if (end == NULL)
		return false;
	*ret = timegm(&tm);
	return true;
}

void human_age(const char *created, char *buf, size_t len)
{
	static const struct {
		long seconds;
		const char *unit;
	} steps[] = {{365L * 86400, "year"}, {30L * 86400, "month"}, {7L * 86400, "week"},
		     {86400, "day"},	     {3600, "hour"},	     {60, "minute"},
		     {1, "second"}};
	time_t then;
	long age;

	if (!parse_rfc3339(created, &then)) {
		snprintf(buf, len, "N/A");
		return;
	}
	age = (long)(time(NULL) - then);
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		long n = age / steps[i].seconds;
		if (n >= 1 || i + 1 == ARRAY_SIZE(steps)) {
			snprintf(buf, len, "%ld %s%s ago", n, steps[i].unit, n == 1 ? "" : "s");
			return;
		}
	}
}

int table_add(struct table *t, const char *const *row)
{
	char **cells = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(char *));

	if (cells == NULL)
		return -1;
	t->cells = cells;
	for (size_t c = 0; c < t->n_cols; c++) {
		char *copy = strdup(row[c] ? row[c] : "");
		if (copy == NULL) {
			while (c-- > 0)
				free(t->cells[t->n_rows * t->n_cols + c]);
			return -1;
		}
		t->cells[t->n_rows * t->n_cols + c] = copy;
	}
	t->n_rows++;
	return 0;
}

/* Characters, not bytes: "…" is one column wide. */
static size_t display_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void table_print(const struct table *t)
{
	cleanup_free size_t *widths = calloc(t->n_cols ? t->n_cols : 1, sizeof(size_t));

	if (widths == NULL)
		return;
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			size_t w = display_width(t->cells[r * t->n_cols + c]);
			if (w > widths[c])
				widths[c] = w;
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		char **row = &t->cells[r * t->n_cols];
		size_t end = t->n_cols; /* no padding after the last cell that has text */
		while (end > 1 && row[end - 1][0] == '\0')
			end--;
		for (size_t c = 0; c < end; c++) {
			fputs(row[c], stdout);
			if (c + 1 < end)
				printf("%*s", (int)(widths[c] - display_width(row[c]) + 3), "");
		}
		putchar('\n');
	}
}

void table_clear(struct table *t)
{
	for (size_t i = 0; t->cells != NULL && i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_rows = 0;
}
