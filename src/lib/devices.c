/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "rootfs.h"
#include "util.h"

static const struct husk_device default_devices[] = {
    {.path = "/dev/null", .type = 'c', .major = 1, .minor = 3, .has_mode = true, .mode = 0666},
    {.path = "/dev/zero", .type = 'c', .major = 1, .minor = 5, .has_mode = true, .mode = 0666},
    {.path = "/dev/full", .type = 'c', .major = 1, .minor = 7, .has_mode = true, .mode = 0666},
    {.path = "/dev/random", .type = 'c', .major = 1, .minor = 8, .has_mode = true, .mode = 0666},
    {.path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9, .has_mode = true, .mode = 0666},
    {.path = "/dev/tty", .type = 'c', .major = 5, .minor = 0, .has_mode = true, .mode = 0666},
};

static const struct {
	const char *target, *link;
} default_links[] = {
    {"/proc/self/fd", "fd"},
    {"/proc/self/fd/0", "stdin"},
    {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"},
};

static mode_t device_type_bits(char type)
{
	switch (type) {
	case 'b':
		return S_IFBLK;
	case 'p':
		return S_IFIFO;
	default:
		return S_IFCHR;
	}
}

static int bind_host_device(int rootfd, const struct husk_device *d, husk_error **err)
{
	cleanup_close int fd = -1;
	char p[32];

	if (husk_path_create_in_root(rootfd, d->path, true, &fd, err) < 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (mount(d->path, p, NULL, MS_BIND, NULL) < 0)
		return husk_error_set(err, errno, "bind device `%s` from the host", d->path);
	return 0;
}

static int split_parent(int rootfd, const char *path, int *ret_dirfd, const char **ret_name,
			husk_error **err)
{
	cleanup_free char *parent = strdup(path);
	char *slash = parent ? strrchr(parent, '/') : NULL;

	if (slash == NULL)
		return husk_error_set(err, ENOMEM, "device `%s`", path);
	*slash = '\0';
	*ret_name = path + (slash - parent) + 1;
	if (husk_path_create_in_root(rootfd, parent[0] ? parent : "/", false, ret_dirfd, err) < 0)
		return -1;
	return 0;
}

/* A directory fd (not O_PATH: mknodat needs a real one) for `path`. */
static int open_dir_in_root(int rootfd, const char *path, int *ret, husk_error **err)
{
	cleanup_close int pathfd = -1;
	char p[32];

	if (husk_path_create_in_root(rootfd, path, false, &pathfd, err) < 0)
		return -1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pathfd);
	*ret = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*ret < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	return 0;
}

static int make_device(int rootfd, int devfd, const struct husk_device *d, bool in_userns,
		       husk_error **err)
{
	cleanup_close int pathfd = -1, own_dirfd = -1;
	mode_t mode = (d->has_mode ? d->mode : 0666) & 07777;
	const char *name = NULL;
	int dirfd = devfd;

	if (in_userns)
		return bind_host_device(rootfd, d, err);
	if (strncmp(d->path, "/dev/", 5) == 0 && strchr(d->path + 5, '/') == NULL) {
		name = d->path + 5;
	} else {
		char p[32];
		if (split_parent(rootfd, d->path, &pathfd, &name, err) < 0)
			return -1;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", pathfd);
		dirfd = own_dirfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			return husk_error_set(err, errno, "open parent of `%s`", d->path);
	}
	unlinkat(dirfd, name, 0);
	if (mknodat(dirfd, name, mode | device_type_bits(d->type),
		    makedev((unsigned)d->major, (unsigned)d->minor)) < 0) {
		if (errno == EPERM)
			return bind_host_device(rootfd, d, err);
		return husk_error_set(err, errno, "mknod `%s`", d->path);
	}
	if (fchmodat(dirfd, name, mode, 0) < 0)
		return husk_error_set(err, errno, "chmod `%s`", d->path);
	if ((d->has_uid || d->has_gid) &&
	    fchownat(dirfd, name, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return husk_error_set(err, errno, "chown `%s`", d->path);
	return 0;
}

static bool spec_has_device(const struct husk_spec *spec, const char *path)
{
	for (size_t i = 0; i < spec->n_devices; i++)
		if (strcmp(spec->devices[i].path, path) == 0)
			return true;
	return false;
}

static int make_links(int dev, husk_error **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(default_links); i++)
		if (symlinkat(default_links[i].target, dev, default_links[i].link) < 0 &&
		    errno != EEXIST)
			return husk_error_set(err, errno, "symlink /dev/%s", default_links[i].link);
	/* With a devpts instance of its own, /dev/ptmx must be its ptmx. */
	if (faccessat(dev, "pts/ptmx", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		struct stat st;
		if (fstatat(dev, "ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
			unlinkat(dev, "ptmx", 0);
		if (symlinkat("pts/ptmx", dev, "ptmx") < 0 && errno != EEXIST)
			return husk_error_set(err, errno, "symlink /dev/ptmx");
	}
	return 0;
}

int husk_devices_setup(int rootfd, const struct husk_spec *spec, bool in_userns, husk_error **err)
{
	cleanup_close int devfd = -1;
	mode_t old;
	int r = 0;

	if (open_dir_in_root(rootfd, "/dev", &devfd, err) < 0)
		return husk_error_wrap(err, "devices");
	old = umask(0);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(default_devices); i++)
		if (!spec_has_device(spec, default_devices[i].path))
			r = make_device(rootfd, devfd, &default_devices[i], in_userns, err);
	for (size_t i = 0; r == 0 && i < spec->n_devices; i++)
		r = make_device(rootfd, devfd, &spec->devices[i], in_userns, err);
	if (r == 0)
		r = make_links(devfd, err);
	umask(old);
	return r < 0 ? husk_error_wrap(err, "devices") : 0;
}
