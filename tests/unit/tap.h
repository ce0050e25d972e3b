/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A minimal TAP producer for the unit tests: every check prints "ok N - desc"
 * or "not ok N - desc" followed by "# got ... expected ..." diagnostics, and
 * tap_done() prints the plan "1..N" last and returns the exit status (1 when
 * any check failed), so a test's main() ends with `return tap_done();`.
 *
 * Descriptions are printf formats. Every macro evaluates its arguments once.
 * Checks of known, not yet fixed library bugs have a description starting
 * with "LIBBUG" and a comment of the same name next to them.
 *
 * Needs _GNU_SOURCE (vasprintf), defined before the first include.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_count, tap_failures;

/* A line break would end the TAP line and a '#' would start a directive. */
static inline void tap_print_escaped(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '#')
			fputs("\\#", stdout);
		else
			putchar(*s);
	}
}

__attribute__((format(printf, 4, 0))) static inline void
tap_result(bool ok, const char *file, int line, const char *fmt, va_list ap)
{
	char *desc = NULL;

	tap_count++;
	if (!ok)
		tap_failures++;
	printf("%sok %u - ", ok ? "" : "not ", tap_count);
	if (vasprintf(&desc, fmt, ap) >= 0) {
		tap_print_escaped(desc);
		free(desc);
	}
	putchar('\n');
	if (!ok)
		printf("# at %s:%d\n", file, line);
	fflush(stdout);
}

/* Prints a diagnostic line, after a result. */
__attribute__((format(printf, 1, 2))) static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

__attribute__((format(printf, 5, 6))) static inline bool
tap_check(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_result(ok, file, line, fmt, ap);
	va_end(ap);
	if (!ok)
		tap_diag("got false, expected true: %s", expr);
	return ok;
}

__attribute__((format(printf, 5, 6))) static inline bool
tap_check_int(long long got, long long expected, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	bool ok = got == expected;

	va_start(ap, fmt);
	tap_result(ok, file, line, fmt, ap);
	va_end(ap);
	if (!ok)
		tap_diag("got %lld expected %lld", got, expected);
	return ok;
}

__attribute__((format(printf, 5, 6))) static inline bool tap_check_uint(unsigned long long got,
									unsigned long long expected,
									const char *file, int line,
									const char *fmt, ...)
{
	va_list ap;
	bool ok = got == expected;

	va_start(ap, fmt);
	tap_result(ok, file, line, fmt, ap);
	va_end(ap);
	if (!ok)
		tap_diag("got %llu (%#llx) expected %llu (%#llx)", got, got, expected, expected);
	return ok;
}

static inline void tap_diag_str(const char *label, const char *s)
{
	if (s == NULL) {
		tap_diag("%s NULL", label);
		return;
	}
	printf("# %s \"", label);
	tap_print_escaped(s);
	puts("\"");
	fflush(stdout);
}

__attribute__((format(printf, 5, 6))) static inline bool tap_check_str(const char *got,
								       const char *expected,
								       const char *file, int line,
								       const char *fmt, ...)
{
	va_list ap;
	bool ok = (got == NULL || expected == NULL) ? got == expected : strcmp(got, expected) == 0;

	va_start(ap, fmt);
	tap_result(ok, file, line, fmt, ap);
	va_end(ap);
	if (!ok) {
		tap_diag_str("got", got);
		tap_diag_str("expected", expected);
	}
	return ok;
}

__attribute__((format(printf, 5, 6))) static inline bool
tap_check_contains(const char *got, const char *needle, const char *file, int line, const char *fmt,
		   ...)
{
	va_list ap;
	bool ok = got != NULL && strstr(got, needle) != NULL;

	va_start(ap, fmt);
	tap_result(ok, file, line, fmt, ap);
	va_end(ap);
	if (!ok) {
		tap_diag_str("got", got);
		tap_diag_str("expected a string containing", needle);
	}
	return ok;
}

/* Each returns whether the check passed, so a test can stop early. */
#define CHECK(cond, ...)	     tap_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define CHECK_INT_EQ(got, exp, ...)  tap_check_int((got), (exp), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_UINT_EQ(got, exp, ...) tap_check_uint((got), (exp), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_STR_EQ(got, exp, ...)  tap_check_str((got), (exp), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_STR_CONTAINS(got, needle, ...)                                                       \
	tap_check_contains((got), (needle), __FILE__, __LINE__, __VA_ARGS__)

/* Prints the plan and returns the exit status for main(). */
static inline int tap_done(void)
{
	printf("1..%u\n", tap_count);
	if (tap_failures > 0)
		printf("# %u of %u checks failed\n", tap_failures, tap_count);
	fflush(stdout);
	return tap_failures > 0 || tap_count == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* For a setup step whose failure makes the rest meaningless. */
#define TAP_BAIL_OUT(...)                                                                          \
	do {                                                                                       \
		printf("Bail out! ");                                                              \
		printf(__VA_ARGS__);                                                               \
		putchar('\n');                                                                     \
		exit(EXIT_FAILURE);                                                                \
	} while (0)
