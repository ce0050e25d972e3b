/* SPDX-License-Identifier: MIT */
/* The container's filesystem: safe path resolution, mounts, pivot_root. */
#define _GNU_SOURCE
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

#include "devices.h"
#include "util.h"

#define MAX_SYMLINKS 40
#define MAX_DEPTH    256

static const char *fd_path(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

/* Walk state: a stack of O_PATH fds from the root, so ".." never leaves it. */
struct walk {
	int fds[MAX_DEPTH];
	int depth;
};

static void walk_release(struct walk *w)
{
	for (int i = 1; i <= w->depth; i++)
		close(w->fds[i]);
	w->depth = 0;
}

/* Prepends `target` + "/" to the unwalked rest of the path. */
static char *splice_link(const char *target, const char *rest)
{
	char *s = NULL;

	if (asprintf(&s, "%s/%s", target, rest ? rest : "") < 0)
		return NULL;
	return s;
}

static int open_component(int dirfd, const char *name, bool create, bool last_is_file, bool last,
			  int *ret)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (last && last_is_file) {
			int f = openat(dirfd, name,
				       O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (f < 0 && errno != EEXIST)
				return -1;
			if (f >= 0)
				close(f);
		} else if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
			return -1;
		}
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	*ret = fd;
	return 0;
}

static int walk_in_root(int rootfd, const char *path, bool create, bool file, int *ret_fd,
			husk_error **err)
{
	struct walk w = {.depth = 0};
	cleanup_free char *buf = strdup(path);
	char *rest = buf, *name;
	int links = 0, e;

	if (buf == NULL)
		return husk_error_set(err, ENOMEM, "resolve `%s`", path);
	w.fds[0] = rootfd;
	while (rest != NULL) {
		struct stat st;
		int fd;
		bool last;

		while (*rest == '/')
			rest++;
		if (*rest == '\0')
			break;
		name = rest;
		rest = strchr(rest, '/');
		if (rest)
			*rest++ = '\0';
		last = rest == NULL || rest[strspn(rest, "/")] == '\0';
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			if (w.depth > 0)
				close(w.fds[w.depth--]);
			continue;
		}
		if (w.depth + 1 >= MAX_DEPTH) {
			e = ENAMETOOLONG;
			goto fail;
		}
		if (open_component(w.fds[w.depth], name, create, file, last, &fd) < 0) {
			e = errno;
			goto fail;
		}
		if (fstat(fd, &st) < 0) {
			e = errno;
			close(fd);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
			char *spliced;
			close(fd);
			if (n < 0 || ++links > MAX_SYMLINKS) {
				e = n < 0 ? errno : ELOOP;
				goto fail;
			}
			target[n] = '\0';
			if (target[0] == '/') /* absolute links restart at the root */
				walk_release(&w);
			spliced = splice_link(target, rest);
			if (spliced == NULL) {
				e = ENOMEM;
				goto fail;
			}
			free(buf);
			buf = rest = spliced;
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			close(fd);
			e = ENOTDIR;
			goto fail;
		}
		w.fds[++w.depth] = fd;
	}
	*ret_fd = w.depth > 0 ? w.fds[w.depth] : openat(rootfd, ".", O_PATH | O_CLOEXEC);
	if (w.depth > 0)
		w.depth--;
	walk_release(&w);
	return *ret_fd < 0 ? husk_error_set(err, errno, "open `%s` in rootfs", path) : 0;
fail:
	walk_release(&w);
	return husk_error_set(err, e, "resolve `%s` in rootfs", path);
}

/* One openat2(RESOLVE_IN_ROOT) does the whole walk on Linux 5.6+; returns
 * -errno, with -ENOSYS when the kernel lacks it (then walk by hand). */
static int open_in_root_fast(int rootfd, const char *path, int *ret_fd)
{
	static bool unsupported;
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd;

	if (unsupported)
		return -ENOSYS;
	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0) {
		if (errno == ENOSYS || errno == EPERM) /* EPERM: seccomp of an outer sandbox */
			unsupported = true;
		return unsupported ? -ENOSYS : -errno;
	}
	*ret_fd = fd;
	return 0;
}

int husk_path_open_in_root(int rootfd, const char *path, int *ret_fd, husk_error **err)
{
	int r = open_in_root_fast(rootfd, path, ret_fd);

	if (r == 0)
		return 0;
	if (r != -ENOSYS)
		return husk_error_set(err, -r, "resolve `%s` in rootfs", path);
	return walk_in_root(rootfd, path, false, false, ret_fd, err);
}

int husk_path_create_in_root(int rootfd, const char *path, bool file, int *ret_fd, husk_error **err)
{
	if (open_in_root_fast(rootfd, path, ret_fd) == 0)
		return 0;
	return walk_in_root(rootfd, path, true, file, ret_fd, err);
}

/* Flags a mount carries that a user namespace may not clear on remount. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Re-resolves dest so the fd points at the new mount's root, then remounts. */
static int remount_bind(int rootfd, const char *dest, unsigned long flags, unsigned long clear,
			husk_error **err)
{
	cleanup_close int fd = -1;
	char p[32];
	unsigned long keep;

	if (husk_path_open_in_root(rootfd, dest, &fd, err) < 0)
		return -1;
	keep = locked_flags(fd_path(fd, p)) & ~clear & ~MS_RDONLY;
	if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags | keep, NULL) < 0)
		return husk_error_set(err, errno, "remount `%s`", dest);
	return 0;
}

static char *bind_source(const struct husk_spec *spec, const char *src)
{
	char *s = NULL;

	if (src[0] == '/')
		return strdup(src);
	if (asprintf(&s, "%s/%s", spec->bundle, src) < 0)
		return NULL;
	return s;
}

#define MS_BIND_FLAGS  (MS_BIND | MS_REC)
#define MS_PROPAGATION (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

int husk_rootfs_open_bind_sources(const struct husk_spec *spec, int **ret_fds, husk_error **err)
{
	int *fds;

	*ret_fds = NULL;
	if (!spec->ns[HUSK_NS_USER].enabled || !spec->ns[HUSK_NS_MOUNT].enabled ||
	    spec->n_mounts == 0)
		return 0;
	fds = malloc(spec->n_mounts * sizeof(int));
	if (fds == NULL)
		return husk_error_set(err, ENOMEM, "mounts");
	for (size_t i = 0; i < spec->n_mounts; i++)
		fds[i] = -1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct husk_mount *m = &spec->mounts[i];
		cleanup_free char *src = NULL;
		if (!m->bind)
			continue;
		src = bind_source(spec, m->source);
		if (src == NULL) {
			husk_rootfs_close_bind_sources(fds, spec->n_mounts);
			return husk_error_set(err, ENOMEM, "mounts");
		}
		fds[i] = (int)syscall(SYS_open_tree, AT_FDCWD, src,
				      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					  ((m->flags & MS_REC) ? AT_RECURSIVE : 0));
		if (fds[i] >= 0)
			continue;
		/* Before Linux 5.2, or without CAP_SYS_ADMIN (rootless): the
		 * container mounts by path. */
		if (errno == ENOSYS || errno == EPERM)
			break;
		husk_error_set(err, errno, "mounts[%zu]: bind source `%s`", i, m->source);
		husk_rootfs_close_bind_sources(fds, spec->n_mounts);
		return -1;
	}
	*ret_fds = fds;
	return 0;
}

void husk_rootfs_close_bind_sources(int *fds, size_t n)
{
	for (size_t i = 0; fds && i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

/* Attaches a tree the runtime cloned (husk_rootfs_open_bind_sources), or
 * binds the source by path. */
static int attach_bind(const struct husk_mount *m, const char *src, int tree, int dest,
		       husk_error **err)
{
	char p[32];

	if (tree >= 0) {
		if (syscall(SYS_move_mount, tree, "", dest, "",
			    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			return husk_error_set(err, errno, "bind mount `%s` on `%s`", m->source,
					      m->destination);
		return 0;
	}
	if (mount(src, fd_path(dest, p), NULL, m->flags & MS_BIND_FLAGS, NULL) < 0)
		return husk_error_set(err, errno, "bind mount `%s` on `%s`", m->source,
				      m->destination);
	return 0;
}

static int mount_bind(struct husk_rootfs_ctx *ctx, const struct husk_mount *m, int tree,
		      husk_error **err)
{
	cleanup_free char *src = bind_source(ctx->spec, m->source);
	cleanup_close int fd = -1;
	unsigned long extra = m->flags & ~(MS_BIND_FLAGS | MS_REMOUNT);
	struct stat st;

	if (src == NULL)
		return husk_error_set(err, ENOMEM, "mount");
	if ((tree >= 0 ? fstat(tree, &st) : stat(src, &st)) < 0)
		return husk_error_set(err, errno, "mount source `%s`", m->source);
	if (husk_path_create_in_root(ctx->rootfd, m->destination, !S_ISDIR(st.st_mode), &fd, err) <
	    0)
		return -1;
	if (attach_bind(m, src, tree, fd, err) < 0)
		return -1;
	if (extra)
		return remount_bind(ctx->rootfd, m->destination, extra, m->clear_flags, err);
	return 0;
}

/* The container's cgroup directories at the destination (a tmpfs of binds on
 * v1; cgroup2 itself when there is a cgroup namespace on v2). */
/* One v1 hierarchy at DEST/NAME: in a cgroup namespace the hierarchy itself
 * (its root is the container's cgroup), else a bind of the container's dir. */
static int mount_v1_hierarchy(struct husk_rootfs_ctx *ctx, const struct husk_mount *m,
			      const struct husk_cgroup_dir *d, unsigned long flags,
			      husk_error **err)
{
	cleanup_free char *dest = NULL;
	cleanup_close int sub = -1;
	char p[32];

	flags |= MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (asprintf(&dest, "%s/%s", m->destination, d->name) < 0)
		return husk_error_set(err, ENOMEM, "mount");
	if (husk_path_create_in_root(ctx->rootfd, dest, false, &sub, err) < 0)
		return -1;
	/* A hybrid host's unified hierarchy is cgroup2, without options. */
	bool v2 = strcmp(d->name, "unified") == 0;
	if (ctx->cgroupns && !ctx->in_userns &&
	    mount("cgroup", fd_path(sub, p), v2 ? "cgroup2" : "cgroup", flags,
		  v2 ? NULL : d->name) == 0)
		return 0;
	if (mount(d->dir, fd_path(sub, p), NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_set(err, errno, "bind cgroup `%s`", d->name);
	return remount_bind(ctx->rootfd, dest, flags, 0, err);
}

static int mount_cgroup(struct husk_rootfs_ctx *ctx, const struct husk_mount *m, int fd,
			husk_error **err)
{
	unsigned long flags = m->flags & ~MS_PROPAGATION;
	const struct husk_cgroup *cg = ctx->cgroup;
	const char *unified = cg ? husk_cgroup_unified_dir(cg) : NULL;
	char p[32];

	if (unified && ctx->cgroupns) {
		if (mount("cgroup2", fd_path(fd, p), "cgroup2", flags, NULL) == 0)
			return 0;
	}
	if (unified) {
		if (mount(unified, fd_path(fd, p), NULL, MS_BIND | MS_REC, NULL) < 0)
			return husk_error_set(err, errno, "bind cgroup on `%s`", m->destination);
		return remount_bind(ctx->rootfd, m->destination, flags, 0, err);
	}
	if (mount("tmpfs", fd_path(fd, p), "tmpfs",
		  (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		return husk_error_set(err, errno, "mount tmpfs on `%s`", m->destination);
	for (size_t i = 0; cg && i < cg->n; i++)
		if (mount_v1_hierarchy(ctx, m, &cg->dirs[i], flags, err) < 0)
			return -1;
	if (flags & MS_RDONLY) {
		cleanup_close int top = -1;
		if (husk_path_open_in_root(ctx->rootfd, m->destination, &top, err) < 0)
			return -1;
		if (mount(NULL, fd_path(top, p), NULL,
			  MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=755") < 0)
			return husk_error_set(err, errno, "remount `%s` read-only", m->destination);
	}
	return 0;
}

/* Kernel filesystems a user namespace may not mount get a bind of the host's. */
static int mount_fallback_bind(struct husk_rootfs_ctx *ctx, const struct husk_mount *m,
			       const char *host, int fd, husk_error **err)
{
	char p[32];

	if (mount(host, fd_path(fd, p), NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_set(err, errno, "bind `%s` on `%s`", host, m->destination);
	return remount_bind(ctx->rootfd, m->destination,
			    m->flags & ~(MS_BIND_FLAGS | MS_PROPAGATION | MS_REMOUNT), 0, err);
}

static int mount_fs(struct husk_rootfs_ctx *ctx, const struct husk_mount *m, husk_error **err)
{
	cleanup_close int fd = -1;
	unsigned long flags = m->flags & ~MS_PROPAGATION;
	char p[32];

	if (husk_path_create_in_root(ctx->rootfd, m->destination, false, &fd, err) < 0)
		return -1;
	if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)
		return mount_cgroup(ctx, m, fd, err);
	if (mount(m->source ? m->source : m->type, fd_path(fd, p), m->type, flags, m->data) == 0)
		return 0;
	if (errno == EPERM || errno == EACCES) {
		if (strcmp(m->type, "sysfs") == 0)
			return mount_fallback_bind(ctx, m, "/sys", fd, err);
		if (strcmp(m->type, "mqueue") == 0)
			return mount_fallback_bind(ctx, m, "/dev/mqueue", fd, err);
	}
	if (errno == EINVAL && strcmp(m->type, "devpts") == 0 && m->data &&
	    strstr(m->data, "gid=")) {
		/* gid=5 is not mapped in this user namespace: let devpts pick. */
		cleanup_free char *data = strdup(m->data);
		char *g = data ? strstr(data, "gid=") : NULL;
		if (g != NULL) {
			char *end = strchr(g, ',');
			memmove(g, end ? end + 1 : g + strlen(g), strlen(end ? end + 1 : "") + 1);
			if (mount("devpts", p, "devpts", flags, data) == 0)
				return 0;
		}
	}
	return husk_error_set(err, errno, "mount %s on `%s`", m->type, m->destination);
}

static int mount_one(struct husk_rootfs_ctx *ctx, size_t i, husk_error **err)
{
	const struct husk_mount *m = &ctx->spec->mounts[i];
	int tree = ctx->bind_fds ? ctx->bind_fds[i] : -1;
	int r = m->bind ? mount_bind(ctx, m, tree, err) : mount_fs(ctx, m, err);

	if (r < 0)
		return r;
	if (m->propagation) {
		cleanup_close int fd = -1;
		char p[32];
		if (husk_path_open_in_root(ctx->rootfd, m->destination, &fd, err) < 0)
			return -1;
		if (mount(NULL, fd_path(fd, p), NULL, m->propagation, NULL) < 0)
			return husk_error_set(err, errno, "set propagation of `%s`",
					      m->destination);
	}
	return 0;
}

static bool dev_is_bind_mounted(const struct husk_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (strcmp(spec->mounts[i].destination, "/dev") == 0 && spec->mounts[i].bind)
			return true;
	return false;
}

/* CVE-2025-31133: masks bind the host's /dev/null, opened and checked
 * before pivot_root, never a /dev/null the container could swap for a
 * symlink. */
static int open_host_devnull(int *ret, husk_error **err)
{
	struct stat st;
	int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return husk_error_set(err, errno, "open /dev/null");
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "/dev/null of the host is not the null device");
	}
	*ret = fd;
	return 0;
}

static int mask_path(int rootfd, int devnull, const char *path, husk_error **err)
{
	char n[32];

	cleanup_close int fd = -1;
	struct stat st;
	char p[32];

	if (husk_path_open_in_root(rootfd, path, &fd, NULL) < 0)
		return 0; /* nothing to mask */
	if (fstat(fd, &st) < 0)
		return husk_error_set(err, errno, "stat masked path `%s`", path);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", fd_path(fd, p), "tmpfs", MS_RDONLY, "size=0,mode=0555") < 0)
			return husk_error_set(err, errno, "mask `%s`", path);
	} else if (mount(fd_path(devnull, n), fd_path(fd, p), NULL, MS_BIND, NULL) < 0) {
		return husk_error_set(err, errno, "mask `%s`", path);
	}
	return 0;
}

/* process.cwd is created now, before the rootfs may become read-only. */
static int create_cwd(struct husk_rootfs_ctx *ctx, husk_error **err)
{
	cleanup_close int fd = -1;

	if (!ctx->spec->has_process)
		return 0;
	if (husk_path_create_in_root(ctx->rootfd, ctx->spec->process.cwd, false, &fd, err) < 0)
		return husk_error_wrap(err, "process.cwd");
	return 0;
}

static int mount_id(const char *path, uint64_t *ret)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
		return -1;
	if (!(stx.stx_mask & STATX_MNT_ID)) {
		errno = ENOSYS;
		return -1;
	}
	*ret = stx.stx_mnt_id;
	return 0;
}

/* pivot_root refuses a new root whose parent mount is shared, and a mount
 * made in a shared mount propagates to its peers (the host): the mount
 * that holds root.path becomes a slave (or private), in the container's
 * namespace. */
static int unshare_rootfs_parent(const char *root, unsigned long prop, husk_error **err)
{
	cleanup_free char *cur = strdup(root);
	uint64_t id, up;

	if (cur == NULL)
		return husk_error_set(err, ENOMEM, "rootfs");
	if (mount_id(cur, &id) < 0)
		return husk_error_set(err, errno, "the mount of rootfs `%s`", root);
	while (strcmp(cur, "/") != 0) {
		char *slash = strrchr(cur, '/');
		char saved = slash[1];
		if (slash == cur)
			slash[1] = '\0'; /* the parent is "/" */
		else
			*slash = '\0';
		if (mount_id(cur, &up) < 0 || up != id) {
			if (slash == cur)
				slash[1] = saved;
			else
				*slash = '/';
			break;
		}
	}
	if (mount(NULL, cur, NULL, prop, NULL) < 0)
		return husk_error_set(err, errno, "make `%s` a %s mount", cur,
				      prop == MS_PRIVATE ? "private" : "slave");
	return 0;
}

/* Before anything is mounted. The container's namespace starts as a copy
 * of the host's: rootfsPropagation decides how the copies stay tied to the
 * host's mounts (shared: both ways, which Kubernetes' Bidirectional volumes
 * need; slave: from the host only; private: not at all), and without it
 * they become slaves, so that nothing mounted here reaches the host. */
static int set_initial_propagation(const struct husk_spec *spec, husk_error **err)
{
	unsigned long prop = spec->rootfs_propagation;

	if (!(prop & (MS_SHARED | MS_SLAVE | MS_PRIVATE)))
		prop = MS_SLAVE | MS_REC; /* unbindable is applied after pivot_root */
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return husk_error_set(err, errno, "linux.rootfsPropagation: set it on /");
	/* Shared, or not recursive (the host's shared mounts stay shared). */
	if ((prop & MS_SHARED) || !(prop & MS_REC))
		return unshare_rootfs_parent(spec->root_path,
					     (prop & MS_PRIVATE) ? MS_PRIVATE : MS_SLAVE, err);
	return 0;
}

int husk_rootfs_prepare(struct husk_rootfs_ctx *ctx, husk_error **err)
{
	const struct husk_spec *spec = ctx->spec;

	if (set_initial_propagation(spec, err) < 0)
		return -1;
	if (mount(spec->root_path, spec->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_set(err, errno, "bind mount rootfs `%s`", spec->root_path);
	if (spec->masked_paths && open_host_devnull(&ctx->devnull, err) < 0)
		return -1;
	ctx->rootfd = open(spec->root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->rootfd < 0)
		return husk_error_set(err, errno, "open rootfs `%s`", spec->root_path);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (mount_one(ctx, i, err) < 0)
			return husk_error_wrap(err, "mounts[%zu]", i);
	if (!dev_is_bind_mounted(spec) &&
	    husk_devices_setup(ctx->rootfd, spec, ctx->in_userns, err) < 0)
		return -1;
	/* Masks now, while the host's /dev/null is in our mount namespace. */
	for (size_t i = 0; spec->masked_paths && spec->masked_paths[i]; i++)
		if (mask_path(ctx->rootfd, ctx->devnull, spec->masked_paths[i], err) < 0)
			return -1;
	return create_cwd(ctx, err);
}

/* pivot_root(".", ".") stacks the old root on the new one, and the old root
 * is then detached, through an fd opened before: "." names the new root to
 * mount(2) after the pivot. With rootfsPropagation shared, the old root's
 * mounts are peers of the host's, and detaching them would unmount the
 * host's /proc, /sys, ... too: they become slaves first. */
static int pivot_into_cwd(husk_error **err)
{
	cleanup_close int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (oldroot < 0)
		return husk_error_set(err, errno, "open the old root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return husk_error_set(err, errno, "pivot_root");
	if (fchdir(oldroot) < 0)
		return husk_error_set(err, errno, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return husk_error_set(err, errno, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return husk_error_set(err, errno, "detach old root");
	return 0;
}

int husk_rootfs_pivot(struct husk_rootfs_ctx *ctx, bool no_pivot, husk_error **err)
{
	if (fchdir(ctx->rootfd) < 0)
		return husk_error_set(err, errno, "chdir to rootfs");
	if (no_pivot) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return husk_error_set(err, errno, "move rootfs to /");
		if (chroot(".") < 0)
			return husk_error_set(err, errno, "chroot");
	} else if (pivot_into_cwd(err) < 0) {
		return -1;
	}
	if (chdir("/") < 0)
		return husk_error_set(err, errno, "chdir /");
	close(ctx->rootfd);
	ctx->rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->rootfd < 0)
		return husk_error_set(err, errno, "open /");
	return 0;
}

static int readonly_path(int rootfd, const char *path, husk_error **err)
{
	cleanup_close int fd = -1;
	char p[32];

	if (husk_path_open_in_root(rootfd, path, &fd, NULL) < 0)
		return 0;
	if (mount(fd_path(fd, p), p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return husk_error_set(err, errno, "bind read-only path `%s`", path);
	return remount_bind(rootfd, path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, err);
}

int husk_rootfs_finalize(struct husk_rootfs_ctx *ctx, husk_error **err)
{
	const struct husk_spec *spec = ctx->spec;

	for (size_t i = 0; spec->readonly_paths && spec->readonly_paths[i]; i++)
		if (readonly_path(ctx->rootfd, spec->readonly_paths[i], err) < 0)
			return -1;
	if (spec->root_readonly &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), NULL) < 0)
		return husk_error_set(err, errno, "remount / read-only");
	if (spec->rootfs_propagation && mount(NULL, "/", NULL, spec->rootfs_propagation, NULL) < 0)
		return husk_error_set(err, errno, "set rootfs propagation");
	return 0;
}

int husk_rootfs_bind_console(int rootfd, int slave_fd, husk_error **err)
{
	cleanup_close int fd = -1;
	char p[32], s[32];

	if (husk_path_create_in_root(rootfd, "/dev/console", true, &fd, err) < 0)
		return -1;
	if (mount(fd_path(slave_fd, s), fd_path(fd, p), NULL, MS_BIND, NULL) < 0)
		return husk_error_set(err, errno, "bind terminal on /dev/console");
	return 0;
}
