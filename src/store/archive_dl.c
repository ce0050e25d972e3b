/* SPDX-License-Identifier: MIT */
/*
 * libarchive, loaded the first time it is called (dlopen), not at every
 * start of every program that links the store: its chain of libraries
 * (libxml2 and ICU among them) cost each `husk` command ~5 ms to load, and
 * most commands (ps, stop, a run of an image already unpacked) never read
 * or write an archive. Each function the store uses is defined here with
 * libarchive's own name and prototype (from its headers) and calls the
 * library's. husk_store_archive_load() says why when it cannot be loaded;
 * the constructors (archive_read_new, archive_write_new, archive_entry_new)
 * return NULL then, which their callers already handle.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "lazy_dl.h"
#include "store_internal.h"

static struct husk_lazy_dl libarchive = HUSK_LAZY_DL_INIT("libarchive.so.13");

int husk_store_archive_load(husk_error **err)
{
	return husk_lazy_dl_load(&libarchive, err);
}

/* The library's functions are called only once it is loaded: every
 * archive, entry and call on them comes from a constructor that loaded it. */
#define FORWARD(ret, name, params, args) HUSK_LAZY_DL_FORWARD(libarchive, ret, name, params, args)

#define CONSTRUCTOR(ret, name) HUSK_LAZY_DL_CONSTRUCTOR(libarchive, ret, name, (void), ())

typedef struct archive A;
typedef struct archive_entry E;

CONSTRUCTOR(A *, archive_read_new)
CONSTRUCTOR(A *, archive_write_new)
CONSTRUCTOR(E *, archive_entry_new)

FORWARD(int, archive_errno, (A * a), (a))
FORWARD(const char *, archive_error_string, (A * a), (a))
FORWARD(int, archive_read_free, (A * a), (a))
FORWARD(int, archive_read_next_header, (A * a, E **e), (a, e))
FORWARD(int, archive_read_data_block, (A * a, const void **b, size_t *s, la_int64_t *o),
	(a, b, s, o))
FORWARD(int, archive_read_open,
	(A * a, void *d, archive_open_callback *o, archive_read_callback *r,
	 archive_close_callback *c),
	(a, d, o, r, c))
FORWARD(int, archive_read_open_fd, (A * a, int fd, size_t bs), (a, fd, bs))
FORWARD(int, archive_read_support_filter_all, (A * a), (a))
FORWARD(int, archive_read_support_format_empty, (A * a), (a))
FORWARD(int, archive_read_support_format_raw, (A * a), (a))
FORWARD(int, archive_read_support_format_tar, (A * a), (a))
FORWARD(int, archive_write_close, (A * a), (a))
FORWARD(la_ssize_t, archive_write_data, (A * a, const void *b, size_t s), (a, b, s))
FORWARD(int, archive_write_free, (A * a), (a))
FORWARD(int, archive_write_header, (A * a, E *e), (a, e))
FORWARD(int, archive_write_open2,
	(A * a, void *d, archive_open_callback *o, archive_write_callback *w,
	 archive_close_callback *c, archive_free_callback *f),
	(a, d, o, w, c, f))
FORWARD(int, archive_write_set_bytes_in_last_block, (A * a, int n), (a, n))
FORWARD(int, archive_write_set_format_pax_restricted, (A * a), (a))
FORWARD(la_ssize_t, archive_read_data, (A * a, void *b, size_t s), (a, b, s))
FORWARD(int, archive_write_fail, (A * a), (a))
FORWARD(int, archive_write_open_fd, (A * a, int fd), (a, fd))

FORWARD(__LA_MODE_T, archive_entry_filetype, (E * e), (e))
FORWARD(void, archive_entry_free, (E * e), (e))
FORWARD(void, archive_entry_set_filetype, (E * e, unsigned int t), (e, t))
FORWARD(void, archive_entry_set_perm, (E * e, __LA_MODE_T p), (e, p))
FORWARD(int, archive_entry_size_is_set, (E * e), (e))
FORWARD(la_int64_t, archive_entry_gid, (E * e), (e))
FORWARD(const char *, archive_entry_hardlink, (E * e), (e))
FORWARD(time_t, archive_entry_mtime, (E * e), (e))
FORWARD(long, archive_entry_mtime_nsec, (E * e), (e))
FORWARD(const char *, archive_entry_pathname, (E * e), (e))
FORWARD(__LA_MODE_T, archive_entry_perm, (E * e), (e))
FORWARD(dev_t, archive_entry_rdev, (E * e), (e))
FORWARD(void, archive_entry_set_gid, (E * e, la_int64_t v), (e, v))
FORWARD(void, archive_entry_set_hardlink, (E * e, const char *v), (e, v))
FORWARD(void, archive_entry_set_mode, (E * e, __LA_MODE_T v), (e, v))
FORWARD(void, archive_entry_set_mtime, (E * e, time_t s, long ns), (e, s, ns))
FORWARD(void, archive_entry_set_pathname, (E * e, const char *v), (e, v))
FORWARD(void, archive_entry_set_rdev, (E * e, dev_t v), (e, v))
FORWARD(void, archive_entry_set_size, (E * e, la_int64_t v), (e, v))
FORWARD(void, archive_entry_set_symlink, (E * e, const char *v), (e, v))
FORWARD(void, archive_entry_set_uid, (E * e, la_int64_t v), (e, v))
FORWARD(la_int64_t, archive_entry_size, (E * e), (e))
FORWARD(const char *, archive_entry_symlink, (E * e), (e))
FORWARD(la_int64_t, archive_entry_uid, (E * e), (e))
FORWARD(void, archive_entry_xattr_add_entry, (E * e, const char *n, const void *v, size_t s),
	(e, n, v, s))
FORWARD(int, archive_entry_xattr_next, (E * e, const char **n, const void **v, size_t *s),
	(e, n, v, s))
FORWARD(int, archive_entry_xattr_reset, (E * e), (e))

/* Variadic: formatted here, passed on as one string. */
void archive_set_error(A *a, int error, const char *fmt, ...)
{
	static void (*real)(A *, int, const char *, ...);
	char msg[1024];
	va_list ap;

	if (real == NULL)
		real = (void (*)(A *, int, const char *, ...))husk_lazy_dl_symbol(
		    &libarchive, "archive_set_error");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	real(a, error, "%s", msg);
}
