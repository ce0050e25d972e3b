/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One error type for the whole library. A failing function fills *err and
 * returns a negative value; callers may prepend context with husk_error_wrap()
 * on the way up. Only the CLI prints it. Callers decide by kind, never by
 * the message text.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum husk_error_kind {
	HUSK_ERR_SYSTEM,      /* a system call or the kernel failed: code holds errno */
	HUSK_ERR_NOT_FOUND,   /* no such container, file, image, ... */
	HUSK_ERR_EXISTS,      /* the name or id is taken */
	HUSK_ERR_INVALID,     /* bad input: config, option, argument */
	HUSK_ERR_BUSY,	      /* locked, or in a state that does not allow it */
	HUSK_ERR_PERMISSION,  /* not allowed to this user */
	HUSK_ERR_UNSUPPORTED, /* this host or kernel cannot do it */
	HUSK_ERR_KIND_COUNT
};

typedef struct husk_error {
	enum husk_error_kind kind;
	int code; /* errno value, or 0 when the failure is not a system call's */
	char *msg;
} husk_error;

/* A system call failed with errnum: fills *err (if it is not already set)
 * with fmt and ": strerror(errnum)", of the kind errnum implies (ENOENT is
 * not found, EACCES permission, ...). Returns -errnum. */
int husk_error_set(husk_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failure that is no system call's: fills *err with fmt, of that kind.
 * Returns -1. */
int husk_error_fail(husk_error **err, enum husk_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An error that crossed a process boundary, as it was sent: msg already
 * holds its strerror. Returns -code, or -1. */
int husk_error_restore(husk_error **err, enum husk_error_kind kind, int code, const char *msg);

/* Prepends "context: " to the message of *err. Returns the same value as set. */
int husk_error_wrap(husk_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The kind a system error of errnum has. */
enum husk_error_kind husk_error_kind_of_errno(int errnum);
const char *husk_error_kind_name(enum husk_error_kind kind);

static inline bool husk_error_is(const husk_error *e, enum husk_error_kind kind)
{
	return e != NULL && e->kind == kind;
}

void husk_error_free(husk_error **err);

static inline void husk_error_freep(husk_error **err)
{
	husk_error_free(err);
}
#define cleanup_error __attribute__((cleanup(husk_error_freep)))
