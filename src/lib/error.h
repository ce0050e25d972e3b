/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One error type for the whole library. A failing function fills *err and
 * returns a negative value; callers may prepend context with husk_error_wrap()
 * on the way up. Only the CLI prints it.
 */

#include <stdarg.h>

typedef struct husk_error {
	int code; /* errno value, or 0 when the failure is not a system error */
	char *msg;
} husk_error;

/* Fills *err (if it is not already set) with fmt and, for errnum != 0,
 * ": strerror(errnum)". Returns -1 (or -errnum when errnum > 0). */
int husk_error_set(husk_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int husk_error_setv(husk_error **err, int errnum, const char *fmt, va_list ap);

/* Prepends "context: " to the message of *err. Returns the same value as set. */
int husk_error_wrap(husk_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void husk_error_free(husk_error **err);

static inline void husk_error_freep(husk_error **err)
{
	husk_error_free(err);
}
#define cleanup_error __attribute__((cleanup(husk_error_freep)))
