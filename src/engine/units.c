/* SPDX-License-Identifier: MIT */
/* Durations and sizes as Docker's command line writes them. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h> /* isfinite */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

static const struct {
	const char *suffix;
	double ns;
} duration_units[] = {
    /* longest first: "ms" before "m" and "s" */
    {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"h", 3600e9}, {"m", 60e9}, {"s", 1e9},
};

int parse_duration_ns(const char *s, int64_t *ret)
{
	double total = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		*ret = 0;
		return 0;
	}
	while (*s) {
		char *end;
		double v;
		size_t i;

		if (!isdigit((unsigned char)*s) && *s != '.')
			return -EINVAL;
		errno = 0;
		v = strtod(s, &end);
		if (errno != 0 || end == s)
			return -EINVAL;
		for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
			if (strncmp(end, duration_units[i].suffix,
				    strlen(duration_units[i].suffix)) == 0)
				break;
		if (i == sizeof(duration_units) / sizeof(duration_units[0]))
			return -EINVAL;
		total += v * duration_units[i].ns;
		s = end + strlen(duration_units[i].suffix);
	}
	if (!isfinite(total) || total > (double)INT64_MAX)
		return -ERANGE;
	*ret = (int64_t)total;
	return 0;
}

int parse_size_bytes(const char *s, int64_t *ret)
{
	static const char units[] = "bkmgt";
	const char *u;
	char *end;
	double v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s)
		return -EINVAL;
	if (*end != '\0') {
		u = strchr(units, tolower((unsigned char)*end));
		if (u == NULL)
			return -EINVAL;
		v *= (double)(1ULL << (10 * (u - units)));
		end++;
		/* "64mb" and "64MiB" are docker's too */
		if (u != units && (strcasecmp(end, "b") == 0 || strcasecmp(end, "ib") == 0))
			end += strlen(end);
		if (*end != '\0')
			return -EINVAL;
	}
	if (!isfinite(v) || v > (double)INT64_MAX)
		return -ERANGE;
	*ret = (int64_t)v;
	return 0;
}
