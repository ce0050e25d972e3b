/* SPDX-License-Identifier: MIT */
/*
 * husk diff CONTAINER: what changed in its filesystem, as Docker prints it:
 * "A /path" added, "C /path" changed, "D /path" deleted, in path order.
 *
 * Read from the overlay's upper dir (running or not, nothing mounted): a
 * whiteout there (a 0/0 character device; fuse-overlayfs's may be a
 * `.wh.NAME` file, see husk_upper_entry_kind()) is deleted; anything else was
 * added, or changed when the image's layers (the lower dirs) have that
 * path. An opaque directory hides all the layers have below it: what they
 * had there and the upper dir does not is deleted.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "record.h"
#include "util.h"

/* The image's unpacked layers, top first. */
struct lowers {
	int *fds;
	size_t n;
};

static void lowers_clear(struct lowers *l)
{
	for (size_t i = 0; i < l->n; i++)
		close(l->fds[i]);
	free(l->fds);
	*l = (struct lowers){NULL};
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* dirfd may be O_PATH: xattrs need a real open. */
static bool is_opaque(int dirfd)
{
	cleanup_close int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd >= 0 && husk_upper_dir_opaque(fd);
}

static int lowers_open(struct engine *e, const struct ctr *c, struct lowers *ret, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image *img = NULL;
	struct lowers l = {NULL};
	int r;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = husk_store_image_get(s, c->image_digest, &img, err);
	husk_store_close(s);
	if (r < 0)
		return husk_error_wrap(err, "the image of %s", c->id);
	l.fds = calloc(img->n_layers + 1, sizeof(int));
	for (size_t i = img->n_layers; l.fds && i-- > 0;) {
		const char *path = img->layers[i].path;
		int fd = path ? open(path, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
		if (fd < 0) {
			r = husk_error_set(err, path ? errno : ENOENT, "layer %s",
					   img->layers[i].diff_id);
			break;
		}
		l.fds[l.n++] = fd;
	}
	if (l.fds == NULL)
		r = husk_error_set(err, ENOMEM, "diff");
	husk_image_free(img);
	if (r < 0) {
		lowers_clear(&l);
		return -1;
	}
	*ret = l;
	return 0;
}

enum presence { ABSENT, PRESENT, HIDDEN };

/* A `.wh.NAME` file: a layer unpacked where the backing file system
 * refuses 0/0 devices (fuse-overlayfs's whiteout). */
static bool has_whiteout_file(int dirfd, const char *name)
{
	cleanup_free char *wh = NULL;
	struct stat st;

	return asprintf(&wh, ".wh.%s", name) >= 0 &&
	       fstatat(dirfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* What one layer says of path ("a/b/c"): has it, hides it from the layers
 * below (a whiteout, a non-directory or an opaque directory on the way),
 * or knows nothing of it. Never follows a symlink. */
static enum presence layer_has(int layerfd, const char *path)
{
	cleanup_free char *copy = strdup(path);
	cleanup_close int dir = -1;
	bool opaque = false;
	char *save = NULL;
	int at = layerfd;

	if (copy == NULL)
		return ABSENT;
	for (char *name = strtok_r(copy, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		bool last = save == NULL || *save == '\0';
		struct stat st;
		int fd;
		if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return opaque || has_whiteout_file(at, name) ? HIDDEN : ABSENT;
		if (is_whiteout(&st))
			return HIDDEN;
		if (last)
			return PRESENT;
		if (!S_ISDIR(st.st_mode))
			return HIDDEN;
		fd = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return HIDDEN;
		closep(&dir);
		at = dir = fd;
		opaque = opaque || is_opaque(dir);
	}
	return PRESENT;
}

/* Whether the image (its layers merged) has path. */
static bool lowers_have(const struct lowers *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++) {
		enum presence p = layer_has(l->fds[i], path);
		if (p != ABSENT)
			return p == PRESENT;
	}
	return false;
}

/* The names in dirfd, sorted, "." and ".." left out; appended to *names. */
static int read_names(int dirfd, char ***names, husk_error **err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return husk_error_set(err, e, "read a directory");
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strv_contains(*names, de->d_name))
			continue;
		if (strv_append(names, strdup(de->d_name)) < 0) {
			closedir(d);
			return husk_error_set(err, ENOMEM, "diff");
		}
	}
	closedir(d);
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every name the layers have in the directory path (candidates: each is
 * checked with lowers_have()). */
static int lower_names(const struct lowers *l, const char *path, char ***names, husk_error **err)
{
	for (size_t i = 0; i < l->n; i++) {
		cleanup_close int fd = -1;
		if (layer_has(l->fds[i], path) != PRESENT)
			continue;
		fd = openat(l->fds[i], path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && read_names(fd, names, err) < 0)
			return -1;
	}
	return 0;
}

static int diff_dir(const struct lowers *l, int dirfd, const char *path, bool opaque,
		    husk_error **err);

static int diff_entry(const struct lowers *l, int dirfd, const char *name, const char *path,
		      husk_error **err)
{
	cleanup_close int fd = -1;
	const char *deleted;
	struct stat st;
	bool existed;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_error_set(err, errno, "stat `%s`", path);
	switch (husk_upper_entry_kind(name, &st, &deleted)) {
	case HUSK_UPPER_INTERNAL:
		return 0;
	case HUSK_UPPER_WHITEOUT:
		/* fuse-overlayfs's `.wh.NAME` file deletes NAME */
		printf("D /%.*s%s\n", (int)(strlen(path) - strlen(name)), path, deleted);
		return 0;
	case HUSK_UPPER_PLAIN:
		break;
	}
	existed = lowers_have(l, path);
	printf("%c /%s\n", existed ? 'C' : 'A', path);
	if (!S_ISDIR(st.st_mode))
		return 0;
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	return diff_dir(l, fd, path, existed && is_opaque(fd), err);
}

/* The entries of a directory of the upper dir; for an opaque one, what the
 * layers had there too (those the upper dir lacks are deleted). */
static int diff_dir(const struct lowers *l, int dirfd, const char *path, bool opaque,
		    husk_error **err)
{
	cleanup_strv char **names = calloc(1, sizeof(char *));

	if (names == NULL)
		return husk_error_set(err, ENOMEM, "diff");
	if (read_names(dirfd, &names, err) < 0 || (opaque && lower_names(l, path, &names, err) < 0))
		return -1;
	qsort(names, strv_length(names), sizeof(char *), compare_names);
	for (size_t i = 0; names[i]; i++) {
		cleanup_free char *child = NULL;
		struct stat st;
		if (asprintf(&child, "%s%s%s", path, *path ? "/" : "", names[i]) < 0)
			return husk_error_set(err, ENOMEM, "diff");
		/* Only the layers have it: hidden by the opaque dir, deleted
		 * (unless a layer's own whiteout had already removed it). */
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return husk_error_set(err, errno, "stat `%s`", child);
			/* (a layer's own whiteout files are no entries) */
			if (strncmp(names[i], ".wh.", 4) != 0 && lowers_have(l, child))
				printf("D /%s\n", child);
			continue;
		}
		if (diff_entry(l, dirfd, names[i], child, err) < 0)
			return -1;
	}
	return 0;
}

/* The upper dir, or -1 when there is none yet. */
static int open_upper(const struct ctr *c, int *ret, husk_error **err)
{
	cleanup_close int dir = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	*ret = -1;
	if (dir < 0)
		return husk_error_set(err, errno, "open `%s`", c->dir);
	*ret = openat(dir, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*ret < 0 && errno != ENOENT)
		return husk_error_set(err, errno, "open `%s/upper`", c->dir);
	return 0;
}

int cmd_diff(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	cleanup_close int upper = -1;
	struct lowers l = {NULL};
	husk_error *err = NULL;
	int r;

	if (argc != 2 || argv[1][0] == '-') {
		if (argc >= 2 && argv[1][0] == '-')
			engine_error("diff: flag `%s` is unknown", argv[1]);
		else
			engine_error("diff: takes one container");
		return EXIT_ENGINE;
	}
	if (ctr_lookup(e, argv[1], &c, &err) < 0)
		return engine_fail(err);
	if (open_upper(c, &upper, &err) < 0)
		return engine_fail(err);
	if (upper < 0)
		return 0; /* never mounted: nothing changed */
	if (lowers_open(e, c, &l, &err) < 0)
		return engine_fail(err);
	r = diff_dir(&l, upper, "", false, &err);
	lowers_clear(&l);
	return r < 0 ? engine_fail(err) : 0;
}
