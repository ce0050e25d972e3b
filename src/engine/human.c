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
