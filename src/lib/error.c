/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int error_return_value(int errnum)
{
	return errnum > 0 ? -errnum : -1;
}

enum husk_error_kind husk_error_kind_of_errno(int errnum)
{
	switch (errnum) {
	case ENOENT:
	case ESRCH:
		return HUSK_ERR_NOT_FOUND;
	case EEXIST:
		return HUSK_ERR_EXISTS;
	case EINVAL:
		return HUSK_ERR_INVALID;
	case EBUSY:
	case EAGAIN:
		return HUSK_ERR_BUSY;
	case EPERM:
	case EACCES:
	case EROFS:
		return HUSK_ERR_PERMISSION;
	case ENOSYS:
	case EOPNOTSUPP:
		return HUSK_ERR_UNSUPPORTED;
	default:
		return HUSK_ERR_SYSTEM;
	}
}

const char *husk_error_kind_name(enum husk_error_kind kind)
{
	static const char *const names[HUSK_ERR_KIND_COUNT] = {
	    [HUSK_ERR_SYSTEM] = "system",
	    [HUSK_ERR_NOT_FOUND] = "not found",
	    [HUSK_ERR_EXISTS] = "already exists",
	    [HUSK_ERR_INVALID] = "invalid",
	    [HUSK_ERR_BUSY] = "busy",
	    [HUSK_ERR_PERMISSION] = "permission",
	    [HUSK_ERR_UNSUPPORTED] = "unsupported",
	};

	return (unsigned)kind < HUSK_ERR_KIND_COUNT ? names[kind] : "system";
}

static int error_setkv(husk_error **err, enum husk_error_kind kind, int errnum, bool add_strerror,
		       const char *fmt, va_list ap)
{
	char *msg = NULL, *full = NULL;
	husk_error *e;

	if (err == NULL || *err != NULL)
		return error_return_value(errnum);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg != NULL && errnum > 0 && add_strerror) {
		if (asprintf(&full, "%s: %s", msg, strerror(errnum)) < 0)
			full = NULL;
		free(msg);
		msg = full;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		free(msg);
		return error_return_value(errnum);
	}
	e->kind = (unsigned)kind < HUSK_ERR_KIND_COUNT ? kind : HUSK_ERR_SYSTEM;
	e->code = errnum > 0 ? errnum : 0;
	e->msg = msg != NULL ? msg : strdup("out of memory");
	*err = e;
	return error_return_value(errnum);
}

int husk_error_set(husk_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = error_setkv(err, husk_error_kind_of_errno(errnum), errnum, true, fmt, ap);
	va_end(ap);
	return ret;
}

int husk_error_fail(husk_error **err, enum husk_error_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_setkv(err, kind, 0, false, fmt, ap);
	va_end(ap);
	return -1;
}

static int error_set_plain(husk_error **err, enum husk_error_kind kind, int code, const char *fmt,
			   ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = error_setkv(err, kind, code, false, fmt, ap);
	va_end(ap);
	return ret;
}

int husk_error_restore(husk_error **err, enum husk_error_kind kind, int code, const char *msg)
{
	return error_set_plain(err, kind, code, "%s", msg ? msg : "unknown error");
}

int husk_error_wrap(husk_error **err, const char *fmt, ...)
{
	char *ctx = NULL, *full = NULL;
	va_list ap;

	if (err == NULL || *err == NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (ctx != NULL && asprintf(&full, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "") >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(ctx);
	return error_return_value((*err)->code);
}

void husk_error_free(husk_error **err)
{
	if (err == NULL || *err == NULL)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
