/* SPDX-License-Identifier: MIT */
/* Copies on fds, never following a symlink (see copy_tree.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "copy_tree.h"
#include "util.h"

#define NOFOLLOW_FLAGS (O_NOFOLLOW | O_CLOEXEC)

static unsigned long id_across(unsigned long id, const struct husk_id_extent *e, size_t n,
			       bool inward)
{
	return inward ? husk_id_outer(e, n, id) : husk_id_inner(e, n, id);
}

static uid_t owner_uid(const struct stat *st, const struct copy_opts *o)
{
	return o->keep_owner ? (uid_t)id_across(st->st_uid, o->uids, o->n_uids, o->ids_inward)
			     : o->uid;
}

static gid_t owner_gid(const struct stat *st, const struct copy_opts *o)
{
	return o->keep_owner ? (gid_t)id_across(st->st_gid, o->gids, o->n_gids, o->ids_inward)
			     : o->gid;
}

/* Owners, then mode (a chown clears set-id bits), then times, of what fd
 * is open on. Ownership is set as root; otherwise the files stay the
 * caller's, as with cp(1). */
static int finish_fd(int fd, const struct stat *st, const struct copy_opts *o, const char *what,
		     husk_error **err)
{
	const struct timespec times[2] = {st->st_atim, st->st_mtim};

	(void)!fchown(fd, owner_uid(st, o), owner_gid(st, o));
	if (fchmod(fd, st->st_mode & 07777) < 0)
		return husk_error_set(err, errno, "chmod `%s`", what);
	if (futimens(fd, times) < 0)
		return husk_error_set(err, errno, "set the times of `%s`", what);
	return 0;
}

/* The same for dir/name, not followed (symlinks: no mode of their own). */
static int finish_at(int dir, const char *name, const struct stat *st, const struct copy_opts *o,
		     husk_error **err)
{
	const struct timespec times[2] = {st->st_atim, st->st_mtim};

	(void)!fchownat(dir, name, owner_uid(st, o), owner_gid(st, o), AT_SYMLINK_NOFOLLOW);
	if (!S_ISLNK(st->st_mode) && fchmodat(dir, name, st->st_mode & 07777, 0) < 0)
		return husk_error_set(err, errno, "chmod `%s`", name);
	if (utimensat(dir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_error_set(err, errno, "set the times of `%s`", name);
	return 0;
}

/* Makes room for a new dst_dir/name: nothing there, or a non-directory
 * removed. *ret_is_dir: a directory is there (merged into when want_dir). */
static int make_room(int dst_dir, const char *name, bool want_dir, bool *ret_is_dir,
		     husk_error **err)
{
	struct stat st;

	*ret_is_dir = false;
	if (fstatat(dst_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : husk_error_set(err, errno, "stat `%s`", name);
	if (S_ISDIR(st.st_mode)) {
		*ret_is_dir = true;
		return want_dir ? 0
				: husk_error_fail(err, HUSK_ERR_INVALID,
						  "cannot overwrite directory `%s` with a "
						  "non-directory",
						  name);
	}
	if (unlinkat(dst_dir, name, 0) < 0)
		return husk_error_set(err, errno, "replace `%s`", name);
	return 0;
}

/* The user.* xattrs of in on out (overlay's user.overlay.opaque of a
 * rootless layer); a file system without xattrs has none to copy. */
static int copy_user_xattrs(int in, int out, const char *name, husk_error **err)
{
	char names[4096], value[4096];
	ssize_t len = flistxattr(in, names, sizeof(names));

	if (len < 0)
		return errno == ENOTSUP ? 0 : husk_error_set(err, errno, "xattrs of `%s`", name);
	for (char *x = names; x < names + len; x += strlen(x) + 1) {
		ssize_t n;
		if (strncmp(x, "user.", 5) != 0)
			continue;
		n = fgetxattr(in, x, value, sizeof(value));
		if (n < 0 || fsetxattr(out, x, value, (size_t)n, 0) < 0)
			return husk_error_set(err, errno, "xattr %s of `%s`", x, name);
	}
	return 0;
}

static int copy_bytes(int in, int out, const char *name, husk_error **err)
{
	char buf[65536];

	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return husk_error_set(err, errno, "copy `%s`", name);
		break; /* not between these file systems: by hand */
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_set(err, errno, "read `%s`", name);
		if (n == 0)
			return 0;
		if (write_all(out, buf, (size_t)n) < 0)
			return husk_error_set(err, errno, "write `%s`", name);
	}
}

static int copy_regular(int src_dir, const char *src_name, int open_flags, int dst_dir,
			const char *dst_name, const struct copy_opts *o, husk_error **err)
{
	cleanup_close int in = openat(src_dir, src_name, O_RDONLY | open_flags);
	cleanup_close int out = -1;
	struct stat st;
	bool is_dir;

	if (in < 0)
		return husk_error_set(err, errno, "open `%s`", src_name);
	if (fstat(in, &st) < 0)
		return husk_error_set(err, errno, "stat `%s`", src_name);
	if (!S_ISREG(st.st_mode)) /* changed meanwhile */
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s` changed while copied",
				       src_name);
	if (make_room(dst_dir, dst_name, false, &is_dir, err) < 0)
		return -1;
	out = openat(dst_dir, dst_name, O_WRONLY | O_CREAT | O_EXCL | NOFOLLOW_FLAGS, 0600);
	if (out < 0)
		return husk_error_set(err, errno, "create `%s`", dst_name);
	if (copy_bytes(in, out, src_name, err) < 0 ||
	    (o->xattrs && copy_user_xattrs(in, out, src_name, err) < 0))
		return -1;
	return finish_fd(out, &st, o, dst_name, err);
}

static int copy_symlink(int src_dir, const char *src_name, const struct stat *st, int dst_dir,
			const char *dst_name, const struct copy_opts *o, husk_error **err)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(src_dir, src_name, target, sizeof(target) - 1);
	bool is_dir;

	if (n < 0)
		return husk_error_set(err, errno, "readlink `%s`", src_name);
	target[n] = '\0';
	if (make_room(dst_dir, dst_name, false, &is_dir, err) < 0)
		return -1;
	if (symlinkat(target, dst_dir, dst_name) < 0)
		return husk_error_set(err, errno, "symlink `%s`", dst_name);
	return finish_at(dst_dir, dst_name, st, o, err);
}

static int copy_node(const struct stat *st, int dst_dir, const char *dst_name,
		     const struct copy_opts *o, husk_error **err)
{
	bool is_dir;

	if (S_ISSOCK(st->st_mode))
		return 0;
	if (make_room(dst_dir, dst_name, false, &is_dir, err) < 0)
		return -1;
	if (mknodat(dst_dir, dst_name, st->st_mode, st->st_rdev) < 0)
		return husk_error_set(err, errno, "mknod `%s`", dst_name);
	return finish_at(dst_dir, dst_name, st, o, err);
}

static int copy_dir(int src_dir, const char *src_name, int open_flags, int dst_dir,
		    const char *dst_name, const struct copy_opts *o, husk_error **err)
{
	cleanup_close int in = openat(src_dir, src_name, O_RDONLY | O_DIRECTORY | open_flags);
	cleanup_close int out = -1;
	struct stat st;
	bool exists;

	if (in < 0)
		return husk_error_set(err, errno, "open `%s`", src_name);
	if (fstat(in, &st) < 0)
		return husk_error_set(err, errno, "stat `%s`", src_name);
	if (make_room(dst_dir, dst_name, true, &exists, err) < 0)
		return -1;
	if (!exists && mkdirat(dst_dir, dst_name, 0700) < 0)
		return husk_error_set(err, errno, "mkdir `%s`", dst_name);
	out = openat(dst_dir, dst_name, O_RDONLY | O_DIRECTORY | NOFOLLOW_FLAGS);
	if (out < 0)
		return husk_error_set(err, errno, "open `%s`", dst_name);
	if (copy_dir_contents(in, out, o, err) < 0)
		return husk_error_wrap(err, "%s", src_name);
	if (o->xattrs && copy_user_xattrs(in, out, src_name, err) < 0)
		return -1;
	return finish_fd(out, &st, o, dst_name, err);
}

static int copy_one(int src_dir, const char *src_name, bool follow, int dst_dir,
		    const char *dst_name, const struct copy_opts *o, husk_error **err)
{
	int flags = follow ? O_CLOEXEC : NOFOLLOW_FLAGS;
	struct stat st;

	if (fstatat(src_dir, src_name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return husk_error_set(err, errno, "stat `%s`", src_name);
	if (S_ISDIR(st.st_mode))
		return copy_dir(src_dir, src_name, flags, dst_dir, dst_name, o, err);
	if (S_ISREG(st.st_mode))
		return copy_regular(src_dir, src_name, flags, dst_dir, dst_name, o, err);
	if (S_ISLNK(st.st_mode))
		return copy_symlink(src_dir, src_name, &st, dst_dir, dst_name, o, err);
	return copy_node(&st, dst_dir, dst_name, o, err);
}

int copy_entry(int src_dir, const char *src_name, int dst_dir, const char *dst_name,
	       const struct copy_opts *o, husk_error **err)
{
	return copy_one(src_dir, src_name, o->follow, dst_dir, dst_name, o, err);
}

int copy_dir_contents(int src, int dst, const struct copy_opts *o, husk_error **err)
{
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_dir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return husk_error_set(err, errno, "read a directory");
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (copy_one(dirfd(d), de->d_name, false, dst, de->d_name, o, err) < 0)
			return -1;
	}
	return errno ? husk_error_set(err, errno, "read a directory") : 0;
}
