/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>

void strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

char **strv_dup(char *const *v)
{
	size_t n = strv_length(v);
	char **r = calloc(n + 1, sizeof(char *));

	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		r[i] = strdup(v[i]);
		if (r[i] == NULL) {
			strv_free(r);
			return NULL;
		}
	}
	return r;
}

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

int strv_append(char ***v, char *s)
{
	size_t n = strv_length(*v);
	char **r = realloc(*v, (n + 2) * sizeof(char *));

	if (r == NULL) {
		free(s);
		return -ENOMEM;
	}
	r[n] = s;
	r[n + 1] = NULL;
	*v = r;
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, husk_error **err)
{
	cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	for (;;) {
		ssize_t n;
		if (cap - len < 4096) {
			char *nb;
			cap = cap ? cap * 2 : 8192;
			nb = realloc(buf, cap + 1);
			if (nb == NULL)
				return husk_error_set(err, ENOMEM, "read `%s`", path);
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return husk_error_set(err, errno, "read `%s`", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = steal_pointer(&buf);
	return 0;
}

int write_file_at(int dirfd, const char *path, const void *data, size_t len, husk_error **err)
{
	cleanup_close int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	if (write_all(fd, data, len) < 0)
		return husk_error_set(err, errno, "write `%s`", path);
	return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const char *data, size_t len, mode_t mode,
			 husk_error **err)
{
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;

	if (asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
		return husk_error_set(err, ENOMEM, "write `%s`", path);
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return husk_error_set(err, errno, "create `%s`", tmp);
	if (write_all(fd, data, len) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return husk_error_set(err, e, "write `%s`", tmp);
	}
	if (renameat(dirfd, tmp, dirfd, path) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return husk_error_set(err, e, "rename `%s`", tmp);
	}
	return 0;
}

int mkdir_p(const char *path, mode_t mode, husk_error **err)
{
	cleanup_free char *p = NULL;
	struct stat there;

	/* Mostly there already (every husk command makes its roots): one
	 * lookup, not a mkdir per component, each taking its parent's lock. */
	if (stat(path, &there) == 0 && S_ISDIR(there.st_mode))
		return 0;
	p = strdup(path);
	if (p == NULL)
		return husk_error_set(err, ENOMEM, "mkdir `%s`", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return husk_error_set(err, errno, "mkdir `%s`", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0) {
		struct stat st;
		if (errno != EEXIST)
			return husk_error_set(err, errno, "mkdir `%s`", p);
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			return husk_error_set(err, ENOTDIR, "mkdir `%s`", p);
	}
	return 0;
}

/* A directory rm -rf must empty, opened without following a symlink. One
 * that refuses entry or change (an image layer's 0555 or 0000 directory, met
 * by an ordinary user) is made 0700 first: through an O_PATH fd, as
 * fchmodat() would follow a symlink planted in its place. */
static int open_dir_for_removal(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 && errno == EACCES) {
		cleanup_close int path =
		    openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		char proc[64];

		if (path < 0)
			return -1;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path);
		if (chmod(proc, 0700) < 0)
			return -1;
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700)
		fchmod(fd, 0700);
	return fd;
}

int rm_rf_at(int dirfd, const char *name)
{
	int fd = open_dir_for_removal(dirfd, name);
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* d_type may be DT_UNKNOWN: unlinking a directory says EISDIR */
		if (de->d_type == DT_DIR || (unlinkat(fd, de->d_name, 0) < 0 && errno == EISDIR))
			rm_rf_at(fd, de->d_name);
	}
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	char *end = NULL;
	long long v;

	if (s == NULL || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int send_fd(int sock, int fd, const void *data, size_t len)
{
	char dummy = 0;
	struct iovec iov = {.iov_base = data ? (void *)data : &dummy, .iov_len = data ? len : 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	if (fd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	for (;;) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

int recv_fd(int sock, int *ret_fd, void *data, size_t len)
{
	char dummy;
	struct iovec iov = {.iov_base = data ? data : &dummy, .iov_len = data ? len : 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c;
	ssize_t n;

	*ret_fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0) {
		errno = ECONNRESET;
		return -1;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfds;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		/* Keep the first fd; close any extra a peer may have sent. */
		nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*ret_fd < 0)
				*ret_fd = fd;
			else
				close(fd);
		}
	}
	return (int)n;
}

static int unix_addr_at(int dirfd, const char *name, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", dirfd, name) >=
	    (int)sizeof(addr->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int unix_listen_at(int dirfd, const char *name, int *ret_fd)
{
	struct sockaddr_un addr;
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || unix_addr_at(dirfd, name, &addr) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0)
		return -1;
	*ret_fd = steal_fd(&fd);
	return 0;
}

int unix_connect_at(int dirfd, const char *name, int *ret_fd)
{
	struct sockaddr_un addr;
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || unix_addr_at(dirfd, name, &addr) < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -1;
	*ret_fd = steal_fd(&fd);
	return 0;
}

bool in_user_namespace(void)
{
	cleanup_free char *map = NULL;
	unsigned long a = 0, b = 0, n = 0;

	if (read_file_at(AT_FDCWD, "/proc/self/uid_map", &map, NULL, NULL) < 0)
		return false;
	return sscanf(map, "%lu %lu %lu", &a, &b, &n) != 3 || a != 0 || b != 0 ||
	       n != 4294967295UL || strchr(map, '\n') != map + strlen(map) - 1;
}

int proc_start_time(pid_t pid, unsigned long long *ret)
{
	char path[64], buf[1024];
	cleanup_close int fd = -1;
	ssize_t n;
	char *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields count from the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	*ret = strtoull(p, NULL, 10);
	return 0;
}
