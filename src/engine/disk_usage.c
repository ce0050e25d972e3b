/* SPDX-License-Identifier: MIT */
/* The sizes system df and system prune report. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "disk_usage.h"
#include "util.h"

static uint64_t tree_bytes(int dirfd, dev_t dev, int depth)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	uint64_t total = 0;

	/* fds, not paths: a deep tree costs one fd per level, bounded */
	if (depth > 256 || (d = fdopendir(dirfd)) == NULL) {
		close(dirfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int fd;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
		if (!S_ISDIR(st.st_mode))
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			total += tree_bytes(fd, dev, depth + 1);
	}
	return total;
}

uint64_t dir_bytes(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	return tree_bytes(fd, st.st_dev, 0);
}
