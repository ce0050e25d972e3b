/* SPDX-License-Identifier: MIT */
/* The container's rootfs on overlayfs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "rootfs.h"
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

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * The init layer (Docker's "-init" layer): the mount points the container
 * always gets (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev, /proc,
 * /sys) as empty files and dirs in a lower layer of its own, so that
 * making them never writes to the upper dir: diff and commit read the upper
 * dir alone and see only what the container's processes changed.
 */
static int make_init_layer(const char *container_dir, husk_error **err)
{
	static const char *const dirs[] = {"init-layer", "init-layer/etc", "init-layer/dev",
					   "init-layer/proc", "init-layer/sys"};
	static const char *const files[] = {"init-layer/etc/hosts", "init-layer/etc/hostname",
					    "init-layer/etc/resolv.conf"};
	cleanup_close int dirfd = open(container_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", container_dir);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(dirfd, dirs[i], 0755) < 0 && errno != EEXIST)
			return husk_error_set(err, errno, "mkdir `%s/%s`", container_dir, dirs[i]);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int fd = openat(dirfd, files[i], O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return husk_error_set(err, errno, "create `%s/%s`", container_dir,
					      files[i]);
		close(fd);
	}
	return 0;
}

static int overlay_options(const char *container_dir, const struct husk_image *img, char **ret,
			   husk_error **err)
{
	size_t cap = 4096, len = 0;
	cleanup_free char *o = malloc(cap);
	int n;

	if (o == NULL)
		return husk_error_set(err, ENOMEM, "overlay options");
	if (img->n_layers == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "image %s has no layers", img->id);
	/* the container's init layer on top of the image's */
	n = snprintf(o, cap, "lowerdir=containers/%s/init-layer:", base_name(container_dir));
	if (n < 0 || (size_t)n >= cap)
		goto too_long;
	len = (size_t)n;
	/* overlay's lowerdir lists the top layer first; the image's, the
	 * bottom one. */
	for (size_t i = img->n_layers; i-- > 0;) {
		const char *rel = layer_relative(&img->layers[i], err);
		if (rel == NULL)
			return -1;
		n = snprintf(o + len, cap - len, "layers/%s%s", rel, i ? ":" : "");
		if (n < 0 || (size_t)n >= cap - len)
			goto too_long;
		len += (size_t)n;
	}
	/* Whatever the module's defaults: with redirect_dir or metacopy, the
	 * upper dir would no longer hold all a container changed, and
	 * diff and commit read it alone. */
	n = snprintf(o + len, cap - len, ",upperdir=%s/upper,workdir=%s/work,%s", container_dir,
		     container_dir,
		     /* in a user namespace overlay takes neither (user xattrs have
		      * neither feature) */
		     in_user_namespace() ? "userxattr" : "redirect_dir=off,metacopy=off");
	if (n < 0 || (size_t)n >= cap - len)
		goto too_long;
	*ret = steal_pointer(&o);
	return 0;
too_long:
	return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
			       "image %s: too many layers for one overlay mount (%zu)", img->id,
			       img->n_layers);
}

/* mount(2) with the storage root as the working directory, restored after:
 * the lowerdirs in the options are relative to it. */
static int mount_in(const char *dir, const char *target, const char *options, husk_error **err)
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

int rootfs_mount(const char *storage_root, const char *container_dir, const struct husk_image *img,
		 husk_error **err)
{
	cleanup_free char *options = NULL, *target = NULL;

	if (make_dir_in(container_dir, "upper", 0755, err) < 0 ||
	    make_dir_in(container_dir, "work", 0700, err) < 0 ||
	    make_dir_in(container_dir, "rootfs", 0755, err) < 0 ||
	    make_init_layer(container_dir, err) < 0)
		return -1;
	if (asprintf(&target, "%s/rootfs", container_dir) < 0)
		return husk_error_set(err, ENOMEM, "rootfs");
	if (overlay_options(container_dir, img, &options, err) < 0)
		return -1;
	return mount_in(storage_root, target, options, err);
}

int rootfs_unmount(const char *container_dir, husk_error **err)
{
	cleanup_free char *target = NULL;

	if (asprintf(&target, "%s/rootfs", container_dir) < 0)
		return husk_error_set(err, ENOMEM, "rootfs");
	if (umount2(target, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOENT)
		return 0; /* not a mount point (any more), or never made */
	if (errno == EBUSY && umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	return husk_error_set(err, errno, "unmount `%s`", target);
}
