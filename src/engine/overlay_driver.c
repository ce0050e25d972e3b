/* SPDX-License-Identifier: MIT */
/* Kernel overlayfs or fuse-overlayfs: tried once per storage root. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "overlay_driver.h"
#include "rootfs.h"
#include "util.h"

#define CACHE_FILE "overlay-driver"

const char *overlay_driver_name(enum overlay_driver d)
{
	return d == OVERLAY_FUSE ? "fuse-overlayfs" : "overlay";
}

static bool driver_parse(const char *s, size_t len, enum overlay_driver *ret)
{
	if (len == strlen("kernel") && strncmp(s, "kernel", len) == 0)
		*ret = OVERLAY_KERNEL;
	else if (len == strlen("fuse") && strncmp(s, "fuse", len) == 0)
		*ret = OVERLAY_FUSE;
	else
		return false;
	return true;
}

int overlay_env(bool *ret_set, enum overlay_driver *ret, husk_error **err)
{
	const char *v = getenv("HUSK_OVERLAY");

	*ret_set = v != NULL && v[0] != '\0';
	if (!*ret_set)
		return 0;
	if (!driver_parse(v, strlen(v), ret))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "HUSK_OVERLAY=`%s`: expected `kernel` or `fuse`", v);
	return 0;
}

int overlay_env_check(husk_error **err)
{
	enum overlay_driver d;
	bool set;

	return overlay_env(&set, &d, err);
}

char *overlay_find_program(const char *name)
{
	const char *path = getenv("PATH");
	cleanup_free char *copy = strdup(path ? path : "/usr/bin:/bin");
	char *dir, *rest = copy, *found = NULL;

	while (copy && (dir = strsep(&rest, ":")) != NULL) {
		if (dir[0] == '\0' || asprintf(&found, "%s/%s", dir, name) < 0)
			continue;
		if (access(found, X_OK) == 0)
			return found;
		free(found);
		found = NULL;
	}
	return NULL;
}

/* The cache: "DRIVER\nKERNEL RELEASE\nWHY\n", valid for that release only. */
static bool cache_read(int rootfd, const char *release, struct overlay_choice *ret)
{
	cleanup_free char *text = NULL;
	char *release_line, *why;
	size_t n;

	if (read_file_at(rootfd, CACHE_FILE, &text, NULL, NULL) < 0)
		return false;
	release_line = strchr(text, '\n');
	if (release_line == NULL ||
	    !driver_parse(text, (size_t)(release_line - text), &ret->driver))
		return false;
	release_line++;
	why = strchr(release_line, '\n');
	if (why == NULL || (size_t)(why - release_line) != strlen(release) ||
	    strncmp(release_line, release, strlen(release)) != 0)
		return false;
	why++;
	n = strcspn(why, "\n");
	snprintf(ret->why, sizeof(ret->why), "%.*s", (int)n, why);
	return true;
}

static int cache_write(int rootfd, const char *release, const struct overlay_choice *c,
		       husk_error **err)
{
	cleanup_free char *text = NULL;
	int n = asprintf(&text, "%s\n%s\n%s\n", c->driver == OVERLAY_FUSE ? "fuse" : "kernel",
			 release, c->why);

	if (n < 0)
		return husk_error_set(err, ENOMEM, CACHE_FILE);
	return write_file_atomic_at(rootfd, CACHE_FILE, text, (size_t)n, 0644, err);
}

/* The scratch tree: NAME/{lower/f,upper,work,merged}. */
static int probe_tree(int rootfd, const char *name, husk_error **err)
{
	static const char *const dirs[] = {"", "/lower", "/upper", "/work", "/merged"};
	cleanup_close int fd = -1;

	rm_rf_at(rootfd, name); /* a killed probe's of the same pid */
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		cleanup_free char *d = NULL;
		if (asprintf(&d, "%s%s", name, dirs[i]) < 0)
			return husk_error_set(err, ENOMEM, "overlay probe");
		if (mkdirat(rootfd, d, 0700) < 0)
			return husk_error_set(err, errno, "mkdir `%s`", d);
	}
	{
		cleanup_free char *f = NULL;
		if (asprintf(&f, "%s/lower/f", name) < 0)
			return husk_error_set(err, ENOMEM, "overlay probe");
		fd = openat(rootfd, f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return husk_error_set(err, errno, "create `%s`", f);
	}
	return 0;
}

/* Mounts the scratch overlay as the containers' are mounted, then removes
 * a lower file (a whiteout) and makes a directory through it: what a
 * container does first. 0 with why set either way; -1 only when the
 * scratch tree could not be made (nothing learned). */
static int probe_kernel(const char *storage_root, int rootfd, struct overlay_choice *ret,
			husk_error **err)
{
	bool userns = in_user_namespace();
	const char *where = userns ? "kernel overlay in a user namespace" : "kernel overlay";
	cleanup_free char *name = NULL, *options = NULL, *merged = NULL, *target = NULL;
	cleanup_close int mfd = -1;
	husk_error *e1 = NULL;
	int r = 0;

	if (asprintf(&name, "overlay-probe.%d", (int)getpid()) < 0 ||
	    asprintf(&merged, "%s/merged", name) < 0 ||
	    asprintf(&options, "lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work,%s", name, name,
		     name, overlay_kernel_extra_options()) < 0)
		return husk_error_set(err, ENOMEM, "overlay probe");
	if (probe_tree(rootfd, name, err) < 0) {
		rm_rf_at(rootfd, name);
		return -1;
	}
	if (overlay_mount_kernel(storage_root, merged, options, &e1) < 0) {
		snprintf(ret->why, sizeof(ret->why), "%s: %s", where, e1->msg);
		husk_error_free(&e1);
		ret->driver = OVERLAY_FUSE;
		rm_rf_at(rootfd, name);
		return 0;
	}
	mfd = openat(rootfd, merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0 || unlinkat(mfd, "f", 0) < 0 || mkdirat(mfd, "d", 0755) < 0)
		r = errno;
	closep(&mfd);
	/* merged is relative to the storage root, no longer our working
	 * directory; a scratch tree still mounted is left as it is */
	if (asprintf(&target, "%s/%s", storage_root, merged) < 0)
		return husk_error_set(err, ENOMEM, "overlay probe");
	if (umount2(target, MNT_DETACH) < 0)
		return husk_error_set(err, errno, "unmount `%s`", target);
	ret->driver = r ? OVERLAY_FUSE : OVERLAY_KERNEL;
	if (r)
		snprintf(ret->why, sizeof(ret->why), "%s: mounts, but a whiteout failed: %s", where,
			 strerror(r));
	else
		snprintf(ret->why, sizeof(ret->why), "%s: works", where);
	rm_rf_at(rootfd, name);
	return 0;
}

int overlay_driver_choose(const char *storage_root, struct overlay_choice *ret, husk_error **err)
{
	struct overlay_choice c = {OVERLAY_KERNEL, ""};
	cleanup_close int rootfd = -1;
	struct utsname u;
	bool set;

	if (overlay_env(&set, &c.driver, err) < 0)
		return -1;
	if (set) {
		snprintf(c.why, sizeof(c.why), "HUSK_OVERLAY=%s", getenv("HUSK_OVERLAY"));
		*ret = c;
		return 0;
	}
	rootfd = open(storage_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_error_set(err, errno, "open `%s`", storage_root);
	if (uname(&u) < 0)
		return husk_error_set(err, errno, "uname");
	if (cache_read(rootfd, u.release, ret))
		return 0;
	if (probe_kernel(storage_root, rootfd, &c, err) < 0 ||
	    cache_write(rootfd, u.release, &c, err) < 0)
		return husk_error_wrap(err, "choose the overlay driver");
	*ret = c;
	return 0;
}
