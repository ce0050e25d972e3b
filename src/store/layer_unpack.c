/* SPDX-License-Identifier: MIT */
/*
 * Unpacking a layer blob into layers/<diffid>/.
 *
 * libarchive only parses: every file is created here, relative to the layer
 * directory's fd, one path component at a time with O_NOFOLLOW, so an entry
 * can never be written through a symlink (an earlier entry's, or one planted
 * to point at the host) and never outside the layer. Two libarchive readers
 * are chained: the outer one decompresses (gzip, zstd, ...) and its bytes are
 * hashed on their way to the inner tar reader, which gives the DiffID in the
 * same pass.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

/* Deeper trees cannot be removed or packed with a bounded number of fds. */
#define MAX_DEPTH 256

/* Directories get their mode and mtime once all entries are in: a child
 * created later would change the mtime, and a read-only mode would stop the
 * children of a rootless unpack. */
struct deferred_dir {
	char *path;
	mode_t mode;
	struct timespec mtime;
};

struct unpack {
	struct husk_store *s;
	int rootfd; /* the layer's temporary directory */
	struct archive *outer, *inner;
	struct hasher diff;
	bool outer_eof;
	/* The parent directory of the last entry: tar lists a directory's
	 * entries together, so most entries reuse it. */
	char *parent_path;
	int parent_fd;
	struct deferred_dir *dirs;
	size_t n_dirs, cap_dirs;
	const char *entry; /* as the archive names it, for messages */
};

/* Names come from the archive: a newline or an escape sequence in one must
 * not break the one-line error or the terminal that shows it. */
static void replace_control_chars(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

__attribute__((format(printf, 3, 4))) static int entry_fail(struct unpack *u, husk_error **err,
							    const char *fmt, ...)
{
	cleanup_free char *msg = NULL, *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (asprintf(&line, "layer entry `%s`: %s", u->entry, msg ? msg : fmt) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "layer entry: %s", fmt);
	replace_control_chars(line);
	return husk_error_fail(err, HUSK_ERR_INVALID, "%s", line);
}

static int entry_syserr(struct unpack *u, husk_error **err, const char *what)
{
	int e = errno;
	cleanup_free char *line = NULL;

	if (asprintf(&line, "layer entry `%s`: %s", u->entry, what) < 0)
		return husk_error_set(err, e, "layer entry: %s", what);
	replace_control_chars(line);
	return husk_error_set(err, e, "%s", line);
}

/* The entry's path without `.` components and repeated slashes; "" is the
 * layer's root. Absolute paths and `..` are refused, not cleaned: a layer
 * that has them was made to escape. */
static int clean_path(struct unpack *u, const char *raw, char **ret, husk_error **err)
{
	cleanup_free char *out = malloc(strlen(raw) + 1);
	const char *p = raw;
	size_t len = 0, depth = 0;

	if (out == NULL)
		return husk_error_set(err, ENOMEM, "layer entry");
	if (raw[0] == '/')
		return entry_fail(u, err, "an absolute path");
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return entry_fail(u, err, "`..` leads out of the layer");
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (++depth > MAX_DEPTH || len + n + 1 >= PATH_MAX)
				return entry_fail(u, err, "path too deep or too long");
			if (len > 0)
				out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
		p += strspn(p, "/");
	}
	out[len] = '\0';
	*ret = steal_pointer(&out);
	return 0;
}

static void parent_cache_drop(struct unpack *u)
{
	free(u->parent_path);
	u->parent_path = NULL;
	closep(&u->parent_fd);
}

static bool is_whiteout_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
	       st.st_rdev == makedev(0, 0);
}

static int walk_error(struct unpack *u, int dirfd, const char *comp, const char *prefix, int errnum,
		      husk_error **err)
{
	struct stat st;

	if (errnum == ENOENT)
		return entry_fail(u, err, "`%s` is not in the layer", prefix);
	if ((errnum == ELOOP || errnum == ENOTDIR) &&
	    fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return entry_fail(
			    u, err, "`%s` is a symlink: nothing is written through one", prefix);
		return entry_fail(u, err, "`%s` is not a directory", prefix);
	}
	errno = errnum;
	return entry_syserr(u, err, prefix);
}

static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* One step of a walk: the directory comp in dirfd, made (0755) if create
 * and it is missing or is a whiteout (of a lower layer's entry that this
 * layer makes again). Fails with errno set. */
static int walk_step(int dirfd, const char *comp, bool create)
{
	int fd = open_dir_at(dirfd, comp), e = errno;

	if (fd >= 0 || !create)
		return fd;
	if (e == ENOTDIR && is_whiteout_at(dirfd, comp)) {
		if (unlinkat(dirfd, comp, 0) < 0)
			return -1;
	} else if (e != ENOENT) {
		errno = e;
		return -1;
	}
	if (mkdirat(dirfd, comp, 0755) < 0)
		return -1;
	fd = open_dir_at(dirfd, comp);
	if (fd >= 0 && fchmod(fd, 0755) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* An fd on the directory dir ("" is the root), never through a symlink. */
static int walk_dir(struct unpack *u, const char *dir, bool create, int *ret_fd, husk_error **err)
{
	cleanup_free char *copy = strdup(dir);
	cleanup_close int fd = openat(u->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *save = NULL;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "layer entry");
	if (fd < 0)
		return entry_syserr(u, err, "open the layer directory");
	for (char *comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next = walk_step(fd, comp, create);
		if (next < 0) {
			cleanup_free char *prefix =
			    strndup(dir, (size_t)(comp - copy) + strlen(comp));
			return walk_error(u, fd, comp, prefix ? prefix : dir, errno, err);
		}
		closep(&fd);
		fd = next;
	}
	*ret_fd = steal_fd(&fd);
	return 0;
}

/* The directory that will hold path's last component (borrowed: do not
 * close it), made if missing; *ret_name is that component. */
static int open_parent(struct unpack *u, const char *path, int *ret_fd, const char **ret_name,
		       husk_error **err)
{
	const char *slash = strrchr(path, '/');
	cleanup_free char *dir = NULL;
	int fd;

	if (slash == NULL) {
		*ret_fd = u->rootfd;
		*ret_name = path;
		return 0;
	}
	*ret_name = slash + 1;
	dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return husk_error_set(err, ENOMEM, "layer entry");
	if (u->parent_path == NULL || strcmp(u->parent_path, dir) != 0) {
		if (walk_dir(u, dir, true, &fd, err) < 0)
			return -1;
		parent_cache_drop(u);
		u->parent_fd = fd;
		u->parent_path = steal_pointer(&dir);
	}
	*ret_fd = u->parent_fd;
	return 0;
}

static bool path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Makes room for the entry path (name in dirfd): a later entry replaces an
 * earlier one, except that a directory stays a directory (*ret_kept). */
static int clear_slot(struct unpack *u, int dirfd, const char *name, const char *path,
		      bool want_dir, bool *ret_kept, husk_error **err)
{
	struct stat st;

	if (ret_kept != NULL)
		*ret_kept = false;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : entry_syserr(u, err, "stat");
	if (want_dir && S_ISDIR(st.st_mode)) {
		*ret_kept = true;
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0)
			return entry_syserr(u, err, "replace");
		return 0;
	}
	if (u->parent_path != NULL && path_is_under(u->parent_path, path))
		parent_cache_drop(u);
	if (rm_rf_at(dirfd, name) < 0)
		return entry_syserr(u, err, "replace a directory");
	return 0;
}

static void entry_mtime(struct archive_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(e);
}

static int apply_xattrs(struct unpack *u, struct archive_entry *e, int fd, husk_error **err)
{
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		/* A layer must not forge overlay's (or fuse-overlayfs's) own
		 * metadata (opaque, redirect, metacopy): only whiteout
		 * entries turn into it. */
		if (name == NULL || husk_overlay_xattr(name))
			continue;
		if (fsetxattr(fd, name, value, size, 0) == 0)
			continue;
		/* A filesystem without xattrs, or trusted.* (security.*) when
		 * rootless, even as root in a user namespace. */
		if (errno == ENOTSUP || errno == EOPNOTSUPP || (errno == EPERM && u->s->rootless))
			continue;
		return entry_syserr(u, err, name);
	}
	return 0;
}

static int apply_owner_fd(struct unpack *u, struct archive_entry *e, int fd, husk_error **err)
{
	if (u->s->chown && fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
		return entry_syserr(u, err, "chown");
	return 0;
}

static int apply_owner_at(struct unpack *u, struct archive_entry *e, int dirfd, const char *name,
			  husk_error **err)
{
	if (u->s->chown && fchownat(dirfd, name, (uid_t)archive_entry_uid(e),
				    (gid_t)archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
		return entry_syserr(u, err, "chown");
	return 0;
}

static int defer_dir(struct unpack *u, const char *path, struct archive_entry *e, husk_error **err)
{
	struct timespec ts[2];

	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
		struct deferred_dir *d = realloc(u->dirs, cap * sizeof(*d));
		if (d == NULL)
			return husk_error_set(err, ENOMEM, "layer entry");
		u->dirs = d;
		u->cap_dirs = cap;
	}
	entry_mtime(e, ts);
	u->dirs[u->n_dirs].path = strdup(path);
	if (u->dirs[u->n_dirs].path == NULL)
		return husk_error_set(err, ENOMEM, "layer entry");
	u->dirs[u->n_dirs].mode = archive_entry_perm(e) & 07777;
	u->dirs[u->n_dirs].mtime = ts[1];
	u->n_dirs++;
	return 0;
}

static int unpack_root(struct unpack *u, struct archive_entry *e, husk_error **err)
{
	if (archive_entry_filetype(e) != AE_IFDIR)
		return entry_fail(u, err, "the layer's root is not a directory");
	if (apply_owner_fd(u, e, u->rootfd, err) < 0 || apply_xattrs(u, e, u->rootfd, err) < 0)
		return -1;
	return defer_dir(u, "", e, err);
}

static int unpack_dir(struct unpack *u, struct archive_entry *e, const char *path, husk_error **err)
{
	cleanup_close int fd = -1;
	const char *name;
	int dirfd;
	bool kept;

	if (open_parent(u, path, &dirfd, &name, err) < 0 ||
	    clear_slot(u, dirfd, name, path, true, &kept, err) < 0)
		return -1;
	if (!kept && mkdirat(dirfd, name, 0700) < 0)
		return entry_syserr(u, err, "mkdir");
	fd = open_dir_at(dirfd, name);
	if (fd < 0)
		return entry_syserr(u, err, "open");
	if (apply_owner_fd(u, e, fd, err) < 0 || apply_xattrs(u, e, fd, err) < 0)
		return -1;
	return defer_dir(u, path, e, err);
}

static int archive_fail(struct archive *a, const char *what, husk_error **err)
{
	const char *msg = archive_error_string(a);

	return husk_error_fail(err, HUSK_ERR_INVALID, "%s: %s", what, msg ? msg : "unreadable");
}

static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The entry's data into fd; sparse entries come as blocks at offsets. */
static int copy_entry_data(struct unpack *u, struct archive_entry *e, int fd, husk_error **err)
{
	int64_t declared = archive_entry_size(e);

	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(u->inner, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return archive_fail(u->inner, u->entry, err);
		if (off < 0 || (int64_t)size > declared || off > declared - (int64_t)size)
			return entry_fail(u, err, "data beyond its declared size");
		if (pwrite_all(fd, buf, size, off) < 0)
			return entry_syserr(u, err, "write");
	}
	if (ftruncate(fd, declared) < 0)
		return entry_syserr(u, err, "truncate");
	return 0;
}

static int unpack_file(struct unpack *u, struct archive_entry *e, const char *path,
		       husk_error **err)
{
	cleanup_close int fd = -1;
	struct timespec ts[2];
	const char *name;
	int dirfd;

	if (open_parent(u, path, &dirfd, &name, err) < 0 ||
	    clear_slot(u, dirfd, name, path, false, NULL, err) < 0)
		return -1;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return entry_syserr(u, err, "create");
	if (copy_entry_data(u, e, fd, err) < 0)
		return -1;
	/* chown clears setuid and file capabilities: mode and xattrs after it. */
	if (apply_owner_fd(u, e, fd, err) < 0)
		return -1;
	if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
		return entry_syserr(u, err, "chmod");
	if (apply_xattrs(u, e, fd, err) < 0)
		return -1;
	entry_mtime(e, ts);
	if (futimens(fd, ts) < 0)
		return entry_syserr(u, err, "set times");
	return 0;
}

static int unpack_symlink(struct unpack *u, struct archive_entry *e, const char *path,
			  husk_error **err)
{
	const char *target = archive_entry_symlink(e), *name;
	struct timespec ts[2];
	int dirfd;

	/* The target may be anything: it is resolved in the container. */
	if (target == NULL)
		return entry_fail(u, err, "a symlink without a target");
	if (open_parent(u, path, &dirfd, &name, err) < 0 ||
	    clear_slot(u, dirfd, name, path, false, NULL, err) < 0)
		return -1;
	if (symlinkat(target, dirfd, name) < 0)
		return entry_syserr(u, err, "symlink");
	if (apply_owner_at(u, e, dirfd, name, err) < 0)
		return -1;
	entry_mtime(e, ts);
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_syserr(u, err, "set times");
	return 0;
}

static int unpack_hardlink(struct unpack *u, const char *path, const char *raw_target,
			   husk_error **err)
{
	cleanup_free char *target = NULL, *tdir = NULL;
	cleanup_close int tfd = -1;
	const char *tname, *slash, *name;
	int dirfd;

	if (raw_target[0] == '/' || clean_path(u, raw_target, &target, NULL) < 0)
		return entry_fail(u, err, "hardlink to `%s` leads out of the layer", raw_target);
	if (strcmp(target, path) == 0)
		return 0;
	slash = strrchr(target, '/');
	tname = slash ? slash + 1 : target;
	tdir = strndup(target, slash ? (size_t)(slash - target) : 0);
	if (tdir == NULL)
		return husk_error_set(err, ENOMEM, "layer entry");
	if (target[0] == '\0')
		return entry_fail(u, err, "a hardlink to the layer's root");
	if (walk_dir(u, tdir, false, &tfd, err) < 0)
		return -1;
	if (open_parent(u, path, &dirfd, &name, err) < 0 ||
	    clear_slot(u, dirfd, name, path, false, NULL, err) < 0)
		return -1;
	/* flags 0: a symlink target is linked itself, never followed. */
	if (linkat(tfd, tname, dirfd, name, 0) < 0) {
		if (errno == ENOENT)
			return entry_fail(u, err, "hardlink to `%s`, which is not in the layer",
					  raw_target);
		return entry_syserr(u, err, "hardlink");
	}
	return 0;
}

static int unpack_node(struct unpack *u, struct archive_entry *e, const char *path,
		       husk_error **err)
{
	mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e) & 07777;
	struct timespec ts[2];
	const char *name;
	int dirfd;

	if ((type == AE_IFCHR || type == AE_IFBLK) && !u->s->allow_devices)
		return entry_fail(u, err, "a device node, not allowed in a rootless store");
	if (open_parent(u, path, &dirfd, &name, err) < 0 ||
	    clear_slot(u, dirfd, name, path, false, NULL, err) < 0)
		return -1;
	if (mknodat(dirfd, name, type | perm, archive_entry_rdev(e)) < 0)
		return entry_syserr(u, err, "mknod");
	if (apply_owner_at(u, e, dirfd, name, err) < 0)
		return -1;
	if (fchmodat(dirfd, name, perm, 0) < 0)
		return entry_syserr(u, err, "chmod");
	entry_mtime(e, ts);
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_syserr(u, err, "set times");
	return 0;
}

/*
 * A backing file system that refuses overlay's whiteouts (an overlayfs
 * itself refuses 0/0 devices and trusted.overlay.* xattrs: husk in a
 * container) cannot hold a kernel overlay's upper dir either, so husk runs
 * on fuse-overlayfs there (overlay_driver.h), which reads its own markers:
 * a `.wh.NAME` file for a whiteout, a `.wh..wh..opq` file in an opaque
 * directory.
 */
static bool refused_by_backing_fs(int errnum)
{
	return errnum == EPERM || errnum == EOPNOTSUPP || errnum == EINVAL;
}

static int marker_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);

	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 0;
}

static int unpack_opaque(struct unpack *u, const char *path, husk_error **err)
{
	const char *slash = strrchr(path, '/');
	const char *xattr = u->s->rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
	cleanup_free char *dir = strndup(path, slash ? (size_t)(slash - path) : 0);
	cleanup_close int fd = -1;

	if (dir == NULL)
		return husk_error_set(err, ENOMEM, "layer entry");
	if (walk_dir(u, dir, true, &fd, err) < 0)
		return -1;
	if (fsetxattr(fd, xattr, "y", 1, 0) == 0)
		return 0;
	if (refused_by_backing_fs(errno) && marker_file(fd, ".wh..wh..opq") == 0)
		return 0;
	return entry_syserr(u, err, xattr);
}

/* OCI whiteouts become overlay's: `.wh.NAME` a 0/0 character device NAME
 * (anyone may make one since Linux 5.8), `.wh..wh..opq` the opaque xattr on
 * its directory; fuse-overlayfs's where the backing file system refuses
 * those (refused_by_backing_fs()). */
static int unpack_whiteout(struct unpack *u, const char *path, const char *base, husk_error **err)
{
	const char *hidden = base + strlen(".wh."), *name;
	struct stat st;
	int dirfd;

	if (strcmp(base, ".wh..wh..opq") == 0)
		return unpack_opaque(u, path, err);
	if (strncmp(base, ".wh..wh.", strlen(".wh..wh.")) == 0)
		return 0; /* aufs bookkeeping (.wh..wh.plnk, ...) */
	if (hidden[0] == '\0' || strcmp(hidden, ".") == 0 || strcmp(hidden, "..") == 0)
		return entry_fail(u, err, "a whiteout of nothing");
	if (open_parent(u, path, &dirfd, &name, err) < 0)
		return -1;
	/* A whiteout hides lower layers only: what this layer has stays. */
	if (fstatat(dirfd, hidden, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (mknodat(dirfd, hidden, S_IFCHR | 0, makedev(0, 0)) == 0)
		return 0;
	if (refused_by_backing_fs(errno) && marker_file(dirfd, base) == 0)
		return 0;
	return entry_syserr(u, err, "whiteout");
}

static int unpack_entry(struct unpack *u, struct archive_entry *e, husk_error **err)
{
	const char *raw = archive_entry_pathname(e), *hardlink, *base;
	cleanup_free char *path = NULL;

	u->entry = raw ? raw : "?";
	if (raw == NULL)
		return entry_fail(u, err, "no readable name");
	if (clean_path(u, raw, &path, err) < 0)
		return -1;
	if (path[0] == '\0')
		return unpack_root(u, e, err);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (strncmp(base, ".wh.", strlen(".wh.")) == 0)
		return unpack_whiteout(u, path, base, err);
	hardlink = archive_entry_hardlink(e);
	if (hardlink != NULL)
		return unpack_hardlink(u, path, hardlink, err);
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return unpack_dir(u, e, path, err);
	case AE_IFREG:
		return unpack_file(u, e, path, err);
	case AE_IFLNK:
		return unpack_symlink(u, e, path, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return unpack_node(u, e, path, err);
	case AE_IFSOCK:
		return 0; /* a socket is a live thing, never content */
	default:
		return entry_fail(u, err, "an entry of unknown type");
	}
}

static int apply_deferred_dir(struct unpack *u, const struct deferred_dir *d, husk_error **err)
{
	struct timespec ts[2] = {d->mtime, d->mtime};
	husk_error *walk_err = NULL;
	cleanup_close int fd = -1;

	u->entry = d->path;
	if (walk_dir(u, d->path, false, &fd, &walk_err) < 0) {
		/* INVALID: a later entry replaced it with a non-directory. */
		bool replaced = husk_error_is(walk_err, HUSK_ERR_INVALID);
		if (!replaced && err != NULL && *err == NULL)
			*err = steal_pointer(&walk_err);
		husk_error_free(&walk_err);
		return replaced ? 0 : -1;
	}
	if (fchmod(fd, d->mode) < 0)
		return entry_syserr(u, err, "chmod");
	if (futimens(fd, ts) < 0)
		return entry_syserr(u, err, "set times");
	return 0;
}

static int apply_deferred_dirs(struct unpack *u, husk_error **err)
{
	parent_cache_drop(u);
	if (fchmod(u->rootfd, 0755) < 0)
		return husk_error_set(err, errno, "chmod the layer directory");
	/* In archive order: when a directory is listed twice, the last wins. */
	for (size_t i = 0; i < u->n_dirs; i++)
		if (apply_deferred_dir(u, &u->dirs[i], err) < 0)
			return -1;
	return 0;
}

/* The inner (tar) reader's input: the outer reader's decompressed bytes,
 * hashed on the way. */
static la_ssize_t read_decompressed(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;

	while (!u->outer_eof) {
		size_t size = 0;
		la_int64_t off;
		int r = archive_read_data_block(u->outer, buf, &size, &off);
		if (r == ARCHIVE_EOF) {
			u->outer_eof = true;
			break;
		}
		if (r < ARCHIVE_WARN) {
			archive_set_error(a, archive_errno(u->outer), "%s",
					  archive_error_string(u->outer));
			return -1;
		}
		if (size > 0) {
			hasher_update(&u->diff, *buf, size);
			return (la_ssize_t)size;
		}
	}
	return 0;
}

static int open_readers(struct unpack *u, int blobfd, husk_error **err)
{
	struct archive_entry *raw;
	int r;

	u->outer = archive_read_new();
	u->inner = archive_read_new();
	if (u->outer == NULL || u->inner == NULL)
		return husk_error_set(err, ENOMEM, "layer");
	archive_read_support_filter_all(u->outer);
	archive_read_support_format_raw(u->outer);
	archive_read_support_format_empty(u->outer);
	if (archive_read_open_fd(u->outer, blobfd, 1 << 17) != ARCHIVE_OK)
		return archive_fail(u->outer, "layer", err);
	r = archive_read_next_header(u->outer, &raw);
	if (r == ARCHIVE_EOF)
		u->outer_eof = true; /* an empty blob */
	else if (r < ARCHIVE_WARN)
		return archive_fail(u->outer, "layer", err);
	archive_read_support_format_tar(u->inner);
	archive_read_support_format_empty(u->inner);
	if (archive_read_open(u->inner, u, NULL, read_decompressed, NULL) != ARCHIVE_OK)
		return archive_fail(u->inner, "layer", err);
	return 0;
}

/* After the tar's end marker: the rest (padding) belongs to the DiffID. */
static int drain_outer(struct unpack *u, husk_error **err)
{
	const void *buf;

	for (;;) {
		la_ssize_t n = read_decompressed(u->inner, u, &buf);
		if (n == 0)
			return 0;
		if (n < 0)
			return archive_fail(u->inner, "layer", err);
	}
}

static int unpack_all(struct unpack *u, int blobfd, char diff_id[HUSK_DIGEST_LEN + 1],
		      husk_error **err)
{
	if (hasher_init(&u->diff, err) < 0 || open_readers(u, blobfd, err) < 0)
		return -1;
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(u->inner, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return archive_fail(u->inner, "layer", err);
		if (unpack_entry(u, e, err) < 0)
			return -1;
	}
	if (drain_outer(u, err) < 0 || apply_deferred_dirs(u, err) < 0)
		return -1;
	hasher_final(&u->diff, diff_id);
	return 0;
}

static void unpack_clear(struct unpack *u)
{
	parent_cache_drop(u);
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	if (u->inner)
		archive_read_free(u->inner);
	if (u->outer)
		archive_read_free(u->outer);
	hasher_free(&u->diff);
	closep(&u->rootfd);
}

char *husk_store_layer_path(struct husk_store *s, const char *diff_id)
{
	char *path = NULL;

	if (!husk_digest_valid(diff_id) ||
	    asprintf(&path, "%s/layers/%s", s->root, digest_hex(diff_id)) < 0)
		return NULL;
	return path;
}

static bool layer_exists(struct husk_store *s, const char *diff_id)
{
	struct stat st;

	return fstatat(s->layersfd, digest_hex(diff_id), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int layer_result(struct husk_store *s, const char *diff_id, char **ret_diff_id,
			char **ret_path, husk_error **err)
{
	cleanup_free char *id = ret_diff_id ? strdup(diff_id) : NULL;
	cleanup_free char *path = ret_path ? husk_store_layer_path(s, diff_id) : NULL;

	if ((ret_diff_id && id == NULL) || (ret_path && path == NULL))
		return husk_error_set(err, ENOMEM, "layer");
	if (ret_diff_id)
		*ret_diff_id = steal_pointer(&id);
	if (ret_path)
		*ret_path = steal_pointer(&path);
	return 0;
}

/* Unpacks into the temporary directory tmp; *diff_id is what it hashed to. */
static int unpack_to_temp(struct husk_store *s, const char *blob_digest, const char *tmp,
			  const char *expected, char diff_id[HUSK_DIGEST_LEN + 1], husk_error **err)
{
	struct unpack u = {.s = s, .parent_fd = -1};
	cleanup_close int blobfd = -1;
	int r = -1;

	if (husk_store_open_blob(s, blob_digest, &blobfd, err) < 0)
		return -1;
	u.rootfd = open_dir_at(s->layersfd, tmp);
	if (u.rootfd < 0)
		r = husk_error_set(err, errno, "open `layers/%s`", tmp);
	else if (unpack_all(&u, blobfd, diff_id, err) < 0)
		r = -1;
	else if (expected != NULL && strcmp(expected, diff_id) != 0)
		r = husk_error_fail(err, HUSK_ERR_INVALID, "DiffID mismatch: expected %s, got %s",
				    expected, diff_id);
	/* One syncfs flushes every file of the layer before its name appears. */
	else if (syncfs(u.rootfd) < 0)
		r = husk_error_set(err, errno, "sync the layer");
	else
		r = 0;
	unpack_clear(&u);
	return r;
}

int husk_store_unpack_layer(struct husk_store *s, const char *blob_digest, const char *diff_id,
			    char **ret_diff_id, char **ret_path, husk_error **err)
{
	char computed[HUSK_DIGEST_LEN + 1];
	cleanup_free char *tmp = NULL;

	if (husk_store_archive_load(err) < 0 || digest_check(blob_digest, "layer", err) < 0 ||
	    (diff_id != NULL && digest_check(diff_id, "layer DiffID", err) < 0) ||
	    store_begin_write(s, err) < 0)
		return -1;
	if (diff_id != NULL && layer_exists(s, diff_id))
		return layer_result(s, diff_id, ret_diff_id, ret_path, err);
	if (store_create_temp_dir(s->layersfd, &tmp, err) < 0)
		return -1;
	if (unpack_to_temp(s, blob_digest, tmp, diff_id, computed, err) < 0) {
		rm_rf_at(s->layersfd, tmp);
		return husk_error_wrap(err, "layer %s", blob_digest);
	}
	/* A directory is renamed only onto an empty one: when another writer
	 * made the same layer first, keep theirs. */
	if (renameat(s->layersfd, tmp, s->layersfd, digest_hex(computed)) < 0) {
		int e = errno;
		rm_rf_at(s->layersfd, tmp);
		if (e != EEXIST && e != ENOTEMPTY)
			return husk_error_set(err, e, "layer %s", computed);
	}
	if (store_fsync_dir(s->layersfd, "layers", err) < 0)
		return -1;
	return layer_result(s, computed, ret_diff_id, ret_path, err);
}
