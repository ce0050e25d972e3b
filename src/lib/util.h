/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

/* Ownership helpers: every resource is released by a cleanup attribute or
 * handed over explicitly with steal_pointer()/steal_fd(). */
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
	*fd = -1;
}
#define cleanup_free  __attribute__((cleanup(freep)))
#define cleanup_close __attribute__((cleanup(closep)))

struct __dirstream;
int closedir(struct __dirstream *d);
static inline void closedirp(struct __dirstream **d)
{
	if (*d)
		closedir(*d);
}
#define cleanup_dir __attribute__((cleanup(closedirp)))

void strv_free(char **v);
static inline void strv_freep(char ***v)
{
	strv_free(*v);
	*v = NULL;
}
#define cleanup_strv __attribute__((cleanup(strv_freep)))

/* jansson.h defines json_decrefp() (and json_auto_t); seccomp.c and two
 * tests define this same macro themselves, which C allows as long as the
 * definitions are identical. */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

#define steal_pointer(pp)                                                                          \
	({                                                                                         \
		__typeof__(*(pp)) _p = *(pp);                                                      \
		*(pp) = NULL;                                                                      \
		_p;                                                                                \
	})
static inline int steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

size_t strv_length(char *const *v);
char **strv_dup(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* Takes s (freed on failure). */
int strv_append(char ***v, char *s);

/* Files. All fds are O_CLOEXEC. */
int read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, husk_error **err);
int write_file_at(int dirfd, const char *path, const void *data, size_t len, husk_error **err);
/* Write to a temporary file then rename(2) over path: readers never see half a file. */
int write_file_atomic_at(int dirfd, const char *path, const char *data, size_t len, mode_t mode,
			 husk_error **err);
int write_all(int fd, const void *buf, size_t len);
ssize_t read_all(int fd, void *buf, size_t len);
int mkdir_p(const char *path, mode_t mode, husk_error **err);
/* rm -rf of name in dirfd, never following a symlink; directories that
 * refuse entry or change are made 0700 on the way down. */
int rm_rf_at(int dirfd, const char *name);

/* Parses a decimal integer in [min, max]. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* Unix socket fd passing. */
int send_fd(int sock, int fd, const void *data, size_t len);
int recv_fd(int sock, int *ret_fd, void *data, size_t len);

/* A unix stream socket at DIRFD/NAME (through /proc/self/fd, so the
 * directory's path length does not matter). */
int unix_listen_at(int dirfd, const char *name, int *ret_fd);
int unix_connect_at(int dirfd, const char *name, int *ret_fd);

/* Whether we run in a user namespace other than the initial one (rootless
 * podman runs its runtime as root inside one). */
bool in_user_namespace(void);

/* The start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat), used to tell a container's init from a recycled pid. */
int proc_start_time(pid_t pid, unsigned long long *ret);
