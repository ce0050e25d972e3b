/* SPDX-License-Identifier: MIT */
/* A container's merged rootfs for the verbs that read or write its files. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "rootfs_access.h"
#include "util.h"

/* <dir>/rootfs is a mount point: on another device than the container's
 * dir (the test ctr_mount_rootfs() makes too). */
static bool rootfs_mounted(int dirfd)
{
	struct stat st, parent;

	return fstatat(dirfd, "rootfs", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       fstat(dirfd, &parent) == 0 && st.st_dev != parent.st_dev;
}

/* A mount namespace of our own, where the host's mounts are seen (they
 * propagate to us) but ours do not propagate back. */
static int private_mount_namespace(husk_error **err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return husk_error_set(err, errno, "unshare the mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return husk_error_set(err, errno, "make / a slave mount");
	return 0;
}

/* A kernel overlay in a private namespace goes with this process, however
 * it ends. A fuse-overlayfs daemon would hold such a namespace alive (and
 * itself with it) were this process killed before it unmounts: that one
 * is mounted where a start would mount it, for rm or the next start to
 * find. */
static int mount_for_access(struct engine *e, struct ctr *c, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image *img = NULL;
	enum overlay_driver driver;
	int r;

	if (rootfs_driver(e->paths.storage_root, c->dir, &driver, err) < 0 ||
	    (driver == OVERLAY_KERNEL && private_mount_namespace(err) < 0) ||
	    engine_store_open(e, &s, err) < 0)
		return -1;
	r = husk_store_image_get(s, c->image_digest, &img, err);
	husk_store_close(s);
	if (r == 0)
		r = rootfs_mount(e->paths.storage_root, c->dir, img, c->auto_remove, err);
	husk_image_free(img);
	return r;
}

int ctr_rootfs_open(struct engine *e, struct ctr *c, struct ctr_rootfs *ret, husk_error **err)
{
	cleanup_close int dirfd = -1;
	struct ctr_rootfs r = {.fd = -1, .c = c};

	if (ctr_lock(c, err) < 0)
		return -1;
	dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		ctr_unlock(c);
		return husk_error_set(err, errno, "open `%s`", c->dir);
	}
	if (!rootfs_mounted(dirfd)) {
		if (mount_for_access(e, c, err) < 0) {
			ctr_unlock(c);
			return husk_error_wrap(err, "mount the rootfs of %s", c->id);
		}
		r.mounted = true;
		/* dirfd is of the namespace we left: its lookups would not
		 * see the new mount. */
		closep(&dirfd);
		dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	r.fd =
	    dirfd < 0 ? -1 : openat(dirfd, "rootfs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r.fd < 0) {
		husk_error_set(err, errno, "open the rootfs of %s", c->id);
		ctr_rootfs_release(&r);
		return -1;
	}
	/* A live mount stays usable through our fd even if the container
	 * stops and its monitor unmounts it: no need to keep it from that. */
	if (!r.mounted)
		ctr_unlock(c);
	*ret = r;
	return 0;
}

void ctr_rootfs_release(struct ctr_rootfs *r)
{
	closep(&r->fd);
	if (r->mounted)
		rootfs_unmount(r->c->dir, NULL);
	r->mounted = false;
	ctr_unlock(r->c);
}
