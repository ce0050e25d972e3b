/* SPDX-License-Identifier: MIT */
/* Whole files read with a limit: a user's --env-file or a profile may be
 * /dev/zero, an image's /etc/passwd may be huge. */
#define _GNU_SOURCE
#include "read_bounded.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int read_fd_bounded(int fd, size_t max, const char *what, char **ret, size_t *ret_len,
		    husk_error **err)
{
	cleanup_free char *buf = malloc(max + 2);
	size_t len = 0;

	if (buf == NULL)
		return husk_error_set(err, ENOMEM, "read `%s`", what);
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_set(err, errno, "read `%s`", what);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "`%s` is larger than %zu bytes", what, max);
	}
	buf[len] = '\0';
	*ret = steal_pointer(&buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int read_file_bounded(const char *path, size_t max, char **ret, size_t *ret_len, husk_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	if (fstat(fd, &st) < 0)
		return husk_error_set(err, errno, "stat `%s`", path);
	if (!S_ISREG(st.st_mode))
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s` is not a regular file", path);
	return read_fd_bounded(fd, max, path, ret, ret_len, err);
}
