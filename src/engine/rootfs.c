/* SPDX-License-Identifier: MIT */
/* The container's rootfs on overlayfs: the kernel's or fuse-overlayfs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork_report.h"
#include "fuse_daemon.h"
#include "layer_shift.h"
#include "overlay_driver.h"
#include "rootfs.h"
#include "userns_auto.h"
#include "util.h"

/* The layer's directory relative to the storage root: "layers/<hex>". Mount
 * options are limited to one page, so relative paths (from the storage root
 * as the working directory) let about 60 layers fit where absolute ones
 * would allow far fewer under a long root. */
static const char *layer_relative(const struct husk_layer *l, husk_error **err)
{
	const char *slash = l->path ? strrchr(l->path, '/') : NULL;

	if (slash == NULL) {
		husk_error_fail(err, HUSK_ERR_NOT_FOUND, "layer %s is not unpacked", l->diff_id);
		return NULL;
	}
	return slash + 1;
}

/*
 * The init layer (Docker's "-init" layer): the mount points the container
 * always gets (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev, /proc,
 * /sys) as empty files and dirs in a lower layer of their own, so that
 * making them never writes to the upper dir: diff and commit read the upper
 * dir alone and see only what the container's processes changed. It is the
 * same for every container: one in the storage root, read-only under every
 * overlay, made at the first mount (each entry as it is missing, so that a
 * mount after a killed one finishes it). Per container, it cost 8 files
 * made and removed in each run's dir.
 */
static const char *const init_layer_dirs[] = {"init-layer", "init-layer/etc", "init-layer/dev",
					      "init-layer/proc", "init-layer/sys"};
static const char *const init_layer_files[] = {"init-layer/etc/hosts", "init-layer/etc/hostname",
					       "init-layer/etc/resolv.conf"};

static bool init_layer_complete(int rootfd)
{
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(init_layer_dirs); i++)
		if (fstatat(rootfd, init_layer_dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(init_layer_files); i++)
		if (fstatat(rootfd, init_layer_files[i], &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			return false;
	return true;
}

static int init_layer_ensure(const char *storage_root, husk_error **err)
{
	cleanup_close int rootfd = open(storage_root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return husk_error_set(err, errno, "open `%s`", storage_root);
	if (init_layer_complete(rootfd))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(init_layer_dirs); i++)
		if (mkdirat(rootfd, init_layer_dirs[i], 0755) < 0 && errno != EEXIST)
			return husk_error_set(err, errno, "mkdir `%s/%s`", storage_root,
					      init_layer_dirs[i]);
	for (size_t i = 0; i < ARRAY_SIZE(init_layer_files); i++) {
		int fd = openat(rootfd, init_layer_files[i],
				O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return husk_error_set(err, errno, "create `%s/%s`", storage_root,
					      init_layer_files[i]);
		close(fd);
	}
	return 0;
}

const char *overlay_kernel_extra_options(void)
{
	/* Whatever the module's defaults: with redirect_dir or metacopy, the
	 * upper dir would no longer hold all a container changed, and diff
	 * and commit read it alone. In a user namespace overlay takes
	 * neither (user xattrs have neither feature). */
	return in_user_namespace() ? "userxattr" : "redirect_dir=off,metacopy=off";
}

/* --userns auto: the overlay's lower layers, each an idmapped clone of its
 * dir (the container's ids seen where the files have the host's), held by
 * fds: the overlay takes its own references, so they are closed after the
 * mount. fds[0] is the init layer's, then the image's from the top. */
struct idmapped_lowers {
	int *fds;
	size_t n;
};

static void idmapped_lowers_clear(struct idmapped_lowers *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->fds[i] >= 0)
			close(l->fds[i]);
	free(l->fds);
	l->fds = NULL;
	l->n = 0;
}

static int idmapped_clone(int dirfd, const char *path, int userns, int *ret, husk_error **err)
{
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
	cleanup_close int fd =
	    (int)syscall(SYS_open_tree, dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (fd < 0)
		return husk_error_set(err, errno, "--userns auto: clone the mount of `%s`", path);
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return husk_error_set(err, errno,
				      "--userns auto: idmap `%s` (does its filesystem support "
				      "idmapped mounts?)",
				      path);
	*ret = steal_fd(&fd);
	return 0;
}

static int idmapped_lowers_make(const char *storage_root, const struct husk_image *img,
				const struct ctr_idmap *m, struct idmapped_lowers *ret,
				husk_error **err)
{
	cleanup_close int userns = -1, rootfd = -1;

	ret->n = 0;
	ret->fds = calloc(img->n_layers + 1, sizeof(int));
	if (ret->fds == NULL)
		return husk_error_set(err, ENOMEM, "idmapped layers");
	rootfd = open(storage_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_error_set(err, errno, "open `%s`", storage_root);
	if ((userns = userns_auto_fd(m, err)) < 0 ||
	    idmapped_clone(rootfd, "init-layer", userns, &ret->fds[ret->n++], err) < 0)
		return -1;
	for (size_t i = img->n_layers; i-- > 0;) {
		cleanup_free char *rel = NULL;
		const char *name = layer_relative(&img->layers[i], err);
		if (name == NULL || asprintf(&rel, "layers/%s", name) < 0)
			return name ? husk_error_set(err, ENOMEM, "idmapped layers") : -1;
		if (idmapped_clone(rootfd, rel, userns, &ret->fds[ret->n++], err) < 0)
			return -1;
	}
	return 0;
}

/* The container's root owns its upper dir: the top of its / */
static int upper_hand_over(const char *container_dir, const struct ctr_idmap *m, husk_error **err)
{
	cleanup_free char *upper = NULL;

	if (asprintf(&upper, "%s/upper", container_dir) < 0)
		return husk_error_set(err, ENOMEM, "upper");
	if (lchown(upper, (uid_t)m->uid, (gid_t)m->gid) < 0)
		return husk_error_set(err, errno, "chown `%s`", upper);
	return 0;
}

/* A container with a user namespace of its own: as root, idmapped clones
 * of the layers; rootless, id-shifted copies (layer_shift.h), which either
 * overlay mounts. Its root owns the upper dir. */
static bool mapping_is_identity(const struct ctr_idmap *m)
{
	for (size_t i = 0; i < m->n_uids; i++)
		if (m->uids[i].inner != m->uids[i].outer)
			return false;
	for (size_t i = 0; i < m->n_gids; i++)
		if (m->gids[i].inner != m->gids[i].outer)
			return false;
	return true;
}

static int lowers_for_mapping(const char *storage_root, const char *container_dir,
			      const struct husk_image *img, enum overlay_driver driver,
			      const struct ctr_idmap *m, struct idmapped_lowers *idm,
			      char **ret_shift_key, husk_error **err)
{
	if (in_user_namespace()) {
		/* keep-id:uid=0,gid=0: the layers' ids are the container's */
		if (!mapping_is_identity(m) && layer_shift_prepare(storage_root, container_dir, img,
								   m, ret_shift_key, err) < 0)
			return -1;
	} else if (driver == OVERLAY_FUSE) {
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "--userns auto: not supported on fuse-overlayfs");
	} else if (idmapped_lowers_make(storage_root, img, m, idm, err) < 0) {
		return -1;
	}
	return upper_hand_over(container_dir, m, err);
}

/* lowerdir=...,upperdir=...,workdir=... and, for the kernel's overlay,
 * overlay_kernel_extra_options(). */
static int overlay_options(const char *container_dir, const struct husk_image *img,
			   enum overlay_driver driver, const struct idmapped_lowers *idm,
			   const char *shift_key, char **ret, husk_error **err)
{
	size_t cap = 4096, len = 0;
	cleanup_free char *o = malloc(cap);
	int n;

	if (o == NULL)
		return husk_error_set(err, ENOMEM, "overlay options");
	if (img->n_layers == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "image %s has no layers", img->id);
	/* the init layer on top of the image's */
	if (idm)
		n = snprintf(o, cap, "lowerdir=/proc/self/fd/%d:", idm->fds[0]);
	else if (shift_key)
		n = snprintf(o, cap, "lowerdir=shifted/%s/init:", shift_key);
	else
		n = snprintf(o, cap, "lowerdir=init-layer:");
	if (n < 0 || (size_t)n >= cap)
		goto too_long;
	len = (size_t)n;
	/* overlay's lowerdir lists the top layer first; the image's, the
	 * bottom one. */
	for (size_t i = img->n_layers; i-- > 0;) {
		const char *rel = layer_relative(&img->layers[i], err);
		if (rel == NULL)
			return -1;
		if (idm)
			n = snprintf(o + len, cap - len, "/proc/self/fd/%d%s",
				     idm->fds[img->n_layers - i], i ? ":" : "");
		else if (shift_key)
			n = snprintf(o + len, cap - len, "shifted/%s/%s%s", shift_key, rel,
				     i ? ":" : "");
		else
			n = snprintf(o + len, cap - len, "layers/%s%s", rel, i ? ":" : "");
		if (n < 0 || (size_t)n >= cap - len)
			goto too_long;
		len += (size_t)n;
	}
	n = snprintf(o + len, cap - len, ",upperdir=%s/upper,workdir=%s/work%s%s", container_dir,
		     container_dir, driver == OVERLAY_KERNEL ? "," : "",
		     driver == OVERLAY_KERNEL ? overlay_kernel_extra_options() : "");
	if (n < 0 || (size_t)n >= cap - len)
		goto too_long;
	*ret = steal_pointer(&o);
	return 0;
too_long:
	return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
			       "image %s: too many layers for one overlay mount (%zu)", img->id,
			       img->n_layers);
}

int overlay_mount_kernel(const char *dir, const char *target, const char *options, husk_error **err)
{
	cleanup_close int saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (saved < 0)
		return husk_error_set(err, errno, "open the working directory");
	if (chdir(dir) < 0)
		return husk_error_set(err, errno, "chdir `%s`", dir);
	if (mount("overlay", target, "overlay", MS_NODEV, options) < 0)
		r = husk_error_set(err, errno, "mount the overlay at `%s`", target);
	if (fchdir(saved) < 0 && r == 0)
		r = husk_error_set(err, errno, "restore the working directory");
	return r;
}

static int make_dir_in(const char *container_dir, const char *name, mode_t mode, husk_error **err)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/%s", container_dir, name) < 0)
		return husk_error_set(err, ENOMEM, "mkdir");
	/* they are there already when a stopped container starts again */
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return husk_error_set(err, errno, "mkdir `%s`", path);
	return 0;
}

/* The child: fuse-overlayfs with the storage root as its working directory
 * (the lowerdirs are relative to it), nothing of ours but stderr, which
 * goes to errfd until it daemonizes. */
static _Noreturn void fuse_child(const char *prog, const char *dir, const char *target,
				 const char *options, int errfd)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	if (chdir(dir) < 0)
		_exit(126);
	execl(prog, "fuse-overlayfs", "-o", options, target, (char *)NULL);
	_exit(127);
}

/* The report's last line after a mount: the daemon's pid. */
#define DAEMON_TAG "husk: fuse-overlayfs daemon "

/* Our only child (the daemon, ours as its subreaper), or -1. */
static pid_t only_child(void)
{
	char path[64], text[64];
	cleanup_close int fd = -1;
	ssize_t n;
	int pid;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return sscanf(text, "%d", &pid) == 1 ? pid : -1;
}

/* Between us and fuse-overlayfs: its daemon is a child of its first
 * process, which exits once the mount is there; as a subreaper this
 * process then has the daemon for a child and reports its pid, last, on
 * reportfd (fuse-overlayfs's stderr before that). Exits as the first
 * process did. */
static _Noreturn void fuse_mounter(const char *prog, const char *dir, const char *target,
				   const char *options, int reportfd)
{
	char line[64];
	pid_t pid, daemon;
	int status, n;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || (pid = fork()) < 0)
		_exit(126);
	if (pid == 0)
		fuse_child(prog, dir, target, options, reportfd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(126);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && (daemon = only_child()) > 0) {
		n = snprintf(line, sizeof(line), "\n" DAEMON_TAG "%d\n", (int)daemon);
		(void)write_all(reportfd, line, (size_t)n);
	}
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

/* What is in the pipe now, its end kept when there is more than fits
 * (notices first, the line that matters last). */
static void read_tail(int fd, char *buf, size_t size)
{
	size_t len = 0, keep = size / 2;
	ssize_t n;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		if (len == size - 1) {
			memmove(buf, buf + len - keep, keep);
			len = keep;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
}

/* Its last line (the first ones may be notices). */
static void last_line(char *buf)
{
	char *nl;

	while ((nl = strrchr(buf, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	if ((nl = strrchr(buf, '\n')) != NULL)
		memmove(buf, nl + 1, strlen(nl + 1) + 1);
}

/* fuse-overlayfs mounts, then daemonizes: its first process exits 0 once
 * the mount is there, and the daemon serves it until it is unmounted. The
 * daemon is recorded in container_dir (fuse_daemon.h). */
static int mount_fuse(const char *dir, const char *container_dir, const char *target,
		      const char *options, husk_error **err)
{
	cleanup_free char *prog = overlay_find_program("fuse-overlayfs");
	cleanup_close int rd = -1;
	char msg[512];
	int status, daemon;
	pid_t pid;

	if (prog == NULL)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "fuse-overlayfs is not installed (Debian: fuse-overlayfs)");
	pid = fork_with_report_pipe(&rd, err);
	if (pid < 0)
		return -1;
	if (pid == 0)
		fuse_mounter(prog, dir, target, options, rd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return husk_error_set(err, errno, "wait for fuse-overlayfs");
	/* the daemon, if any, may hold the pipe's other end: no waiting */
	read_tail(rd, msg, sizeof(msg));
	last_line(msg);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (sscanf(msg, DAEMON_TAG "%d", &daemon) == 1)
			return fuse_daemon_record(container_dir, daemon, err);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "fuse-overlayfs is not installed (Debian: fuse-overlayfs)");
	return husk_error_fail(err, HUSK_ERR_SYSTEM, "fuse-overlayfs failed at `%s` (%s %d)%s%s",
			       target, WIFSIGNALED(status) ? "signal" : "status",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
			       msg[0] ? ": " : "", msg);
}

/* The driver a container's overlay is mounted with. fuse-overlayfs reads
 * an upper dir the kernel's overlay wrote, not the other way round (its
 * opaque dirs and whiteouts may be files and xattrs of its own): a
 * container first mounted with it records so in its dir and stays on it,
 * whatever HUSK_OVERLAY or a new verdict say later. */
int rootfs_driver(const char *storage_root, const char *container_dir, enum overlay_driver *ret,
		  husk_error **err)
{
	cleanup_close int dirfd = open(container_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct overlay_choice c;
	struct stat st;

	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", container_dir);
	if (fstatat(dirfd, "fuse-overlayfs", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		*ret = OVERLAY_FUSE;
		return 0;
	}
	if (errno != ENOENT)
		return husk_error_set(err, errno, "stat `%s/fuse-overlayfs`", container_dir);
	if (overlay_driver_choose(storage_root, &c, err) < 0)
		return -1;
	if (c.driver == OVERLAY_FUSE &&
	    write_file_atomic_at(dirfd, "fuse-overlayfs", "", 0, 0644, err) < 0)
		return -1;
	*ret = c.driver;
	return 0;
}

/* A mount whose fuse-overlayfs died (killed, crashed) answers ENOTCONN:
 * it is dropped before a new one goes on its place. */
static void drop_dead_fuse_mount(const char *target)
{
	struct stat st;

	if (stat(target, &st) < 0 && errno == ENOTCONN)
		umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW);
}

/* A volatile overlay leaves work/work/incompat/volatile, and the kernel
 * refuses to mount it again until it is gone: what it guards against (an
 * upper dir a crash left unsynced) does not matter to a discardable one. */
static void forget_volatile_mark(const char *container_dir)
{
	cleanup_free char *mark = NULL;

	if (asprintf(&mark, "%s/work/work/incompat", container_dir) >= 0)
		rm_rf_at(AT_FDCWD, mark);
}

/* volatile (Linux 5.10): else mounted as before. */
static int overlay_mount_volatile(const char *dir, const char *target, const char *options,
				  husk_error **err)
{
	cleanup_free char *with = NULL;

	if (asprintf(&with, "%s,volatile", options) < 0)
		return husk_error_set(err, ENOMEM, "overlay options");
	if (overlay_mount_kernel(dir, target, with, NULL) == 0)
		return 0;
	return overlay_mount_kernel(dir, target, options, err);
}

int rootfs_mount(const char *storage_root, const char *container_dir, const struct husk_image *img,
		 bool discardable, husk_error **err)
{
	cleanup_free char *options = NULL, *target = NULL, *shift_key = NULL;
	__attribute__((cleanup(idmapped_lowers_clear))) struct idmapped_lowers idm = {0};
	enum overlay_driver driver;
	struct ctr_idmap m;

	if (make_dir_in(container_dir, "upper", 0755, err) < 0 ||
	    make_dir_in(container_dir, "work", 0700, err) < 0 ||
	    init_layer_ensure(storage_root, err) < 0)
		return -1;
	if (asprintf(&target, "%s/rootfs", container_dir) < 0)
		return husk_error_set(err, ENOMEM, "rootfs");
	drop_dead_fuse_mount(target);
	if (make_dir_in(container_dir, "rootfs", 0755, err) < 0 ||
	    rootfs_driver(storage_root, container_dir, &driver, err) < 0 ||
	    userns_auto_read(container_dir, &m, err) < 0)
		return -1;
	if (m.size && lowers_for_mapping(storage_root, container_dir, img, driver, &m, &idm,
					 &shift_key, err) < 0)
		return -1;
	if (overlay_options(container_dir, img, driver, idm.n ? &idm : NULL, shift_key, &options,
			    err) < 0)
		return -1;
	if (driver == OVERLAY_FUSE) {
		/* the callers mount a rootfs that is not mounted here: a
		 * daemon still recorded serves none we can reach */
		fuse_daemon_end(container_dir);
		return mount_fuse(storage_root, container_dir, target, options, err);
	}
	if (discardable) {
		forget_volatile_mark(container_dir);
		return overlay_mount_volatile(storage_root, target, options, err);
	}
	return overlay_mount_kernel(storage_root, target, options, err);
}

static int unmount_target(const char *target, husk_error **err)
{
	if (umount2(target, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOENT)
		return 0; /* not a mount point (any more), or never made */
	if (errno == EBUSY && umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	return husk_error_set(err, errno, "unmount `%s`", target);
}

/* A fuse-overlayfs daemon exits once its mount is gone, but not one whose
 * mount was detached busy (it serves the mount's last users) or is out of
 * our reach: it is ended, however the mount went. */
int rootfs_unmount(const char *container_dir, husk_error **err)
{
	cleanup_free char *target = NULL;

	if (asprintf(&target, "%s/rootfs", container_dir) < 0)
		return husk_error_set(err, ENOMEM, "rootfs");
	if (unmount_target(target, err) < 0)
		return -1;
	fuse_daemon_end(container_dir);
	return 0;
}
