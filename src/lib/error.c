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

int husk_error_setv(husk_error **err, int errnum, const char *fmt, va_list ap)
{
	char *msg = NULL, *full = NULL;
	husk_error *e;

	if (err == NULL || *err != NULL)
		return error_return_value(errnum);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg != NULL && errnum > 0) {
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
	e->code = errnum;
	e->msg = msg != NULL ? msg : strdup("out of memory");
	*err = e;
	return error_return_value(errnum);
}

int husk_error_set(husk_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = husk_error_setv(err, errnum, fmt, ap);
	va_end(ap);
	return ret;
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
