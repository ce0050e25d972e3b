/* SPDX-License-Identifier: MIT */
/*
 * Layers written: a tar stream (pax, numeric owners) made with libarchive
 * straight into a blob writer, and a directory tree packed into one, in a
 * fixed order so that the same tree gives the same digest. The same walk
 * also writes a plain tar to an fd (`export`).
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

struct tar_writer {
	struct archive *a;
	struct husk_blob_writer *blob; /* NULL: the tar goes to out_fd */
	int out_fd;
	husk_error *blob_err; /* why the blob writer (or the fd) refused */
	bool failed;
};

static la_ssize_t tar_write_out(struct archive *a, void *data, const void *buf, size_t len)
{
	struct tar_writer *t = data;

	if (t->blob == NULL && write_all(t->out_fd, buf, len) < 0)
		husk_error_set(&t->blob_err, errno, "write the tar");
	else if (t->blob != NULL)
		husk_blob_writer_write(t->blob, buf, len, &t->blob_err);
	if (t->blob_err != NULL) {
		archive_set_error(a, EIO, "%s", t->blob_err->msg ? t->blob_err->msg : "write");
		return -1;
	}
	return (la_ssize_t)len;
}

void tar_writer_free(struct tar_writer *t)
{
	if (t == NULL)
		return;
	if (t->a != NULL)
		archive_write_free(t->a); /* closes, which may still write */
	husk_blob_writer_free(t->blob);
	husk_error_free(&t->blob_err);
	free(t);
}

static int tar_writer_open(struct tar_writer *t, husk_error **err)
{
	t->a = archive_write_new();
	if (t->a == NULL)
		return husk_error_set(err, ENOMEM, "tar");
	/* pax only where ustar cannot say it (long names, xattrs, big ids),
	 * and no block padding beyond the end marker. */
	if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(t->a, t, NULL, tar_write_out, NULL, NULL) != ARCHIVE_OK)
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "tar: %s", archive_error_string(t->a));
	return 0;
}

int tar_writer_new(struct husk_store *s, struct tar_writer **ret, husk_error **err)
{
	struct tar_writer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return husk_error_set(err, ENOMEM, "layer");
	t->out_fd = -1;
	if (husk_blob_writer_new(s, NULL, -1, &t->blob, err) < 0 || tar_writer_open(t, err) < 0) {
		tar_writer_free(t);
		return -1;
	}
	*ret = t;
	return 0;
}

static int tar_writer_new_fd(int fd, struct tar_writer **ret, husk_error **err)
{
	struct tar_writer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return husk_error_set(err, ENOMEM, "tar");
	t->out_fd = fd;
	if (tar_writer_open(t, err) < 0) {
		tar_writer_free(t);
		return -1;
	}
	*ret = t;
	return 0;
}

static int tar_fail(struct tar_writer *t, const char *path, husk_error **err)
{
	const char *what = t->blob ? "layer" : "tar";

	t->failed = true;
	if (t->blob_err != NULL) {
		husk_error_restore(err, t->blob_err->kind, t->blob_err->code, t->blob_err->msg);
		return husk_error_wrap(err, "%s entry `%s`", what, path);
	}
	return husk_error_fail(err, HUSK_ERR_SYSTEM, "%s entry `%s`: %s", what, path,
			       archive_error_string(t->a));
}

/* The file's first size bytes; zeros if it shrank meanwhile (a container
 * still running), so the entry keeps the size its header declared. */
static int tar_copy_fd(struct tar_writer *t, struct archive_entry *e, int fd, husk_error **err)
{
	int64_t left = archive_entry_size(e);
	static char zeros[65536];
	char buf[65536];

	while (left > 0) {
		size_t want = left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = read(fd, buf, want);
		const char *src = buf;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_set(err, errno, "read `%s`", archive_entry_pathname(e));
		if (n == 0) {
			src = zeros;
			n = (ssize_t)(want < sizeof(zeros) ? want : sizeof(zeros));
		}
		if (archive_write_data(t->a, src, (size_t)n) != n)
			return tar_fail(t, archive_entry_pathname(e), err);
		left -= n;
	}
	return 0;
}

int tar_writer_add(struct tar_writer *t, struct archive_entry *e, int fd, const void *data,
		   husk_error **err)
{
	const char *path = archive_entry_pathname(e);
	int64_t size = archive_entry_size(e);

	if (t->failed)
		return husk_error_fail(err, HUSK_ERR_INVALID, "layer: write after a failure");
	if (archive_write_header(t->a, e) < ARCHIVE_WARN)
		return tar_fail(t, path, err);
	if (fd >= 0 && size > 0)
		return tar_copy_fd(t, e, fd, err);
	if (data != NULL && size > 0 && archive_write_data(t->a, data, (size_t)size) != size)
		return tar_fail(t, path, err);
	return 0;
}

int tar_writer_finish(struct tar_writer *t, struct husk_layer *ret, husk_error **err)
{
	cleanup_free char *digest = NULL, *diff_id = NULL, *media = NULL;
	int64_t size = 0;

	if (t->failed)
		return husk_error_fail(err, HUSK_ERR_INVALID, "layer: finish after a failure");
	if (archive_write_close(t->a) != ARCHIVE_OK)
		return tar_fail(t, "(end)", err);
	if (husk_blob_writer_commit(t->blob, &digest, &size, err) < 0)
		return -1;
	diff_id = strdup(digest);
	media = strdup(MEDIA_OCI_LAYER);
	if (diff_id == NULL || media == NULL)
		return husk_error_set(err, ENOMEM, "layer");
	*ret = (struct husk_layer){.digest = steal_pointer(&digest),
				   .diff_id = steal_pointer(&diff_id),
				   .media_type = steal_pointer(&media),
				   .size = size};
	return 0;
}

void husk_layer_clear(struct husk_layer *l)
{
	free(l->digest);
	free(l->diff_id);
	free(l->media_type);
	free(l->path);
	*l = (struct husk_layer){NULL};
}

/* --- A directory tree packed --------------------------------------------- */

struct hardlink_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct pack {
	struct tar_writer *t;
	const struct husk_pack_opts *opts;
	struct hardlink_seen *links;
	size_t n_links;
};

static void entry_freep(struct archive_entry **e)
{
	if (*e != NULL)
		archive_entry_free(*e);
}
#define cleanup_entry __attribute__((cleanup(entry_freep)))

/* The xattrs of fd into e, sorted by name, overlay's (and fuse-overlayfs's)
 * own left out. */
static int pack_xattrs(int fd, struct archive_entry *e, const char *path, husk_error **err)
{
	cleanup_free char *list = NULL;
	cleanup_free char **names = NULL;
	ssize_t len = flistxattr(fd, NULL, 0);
	size_t n = 0;

	if (len < 0)
		return errno == ENOTSUP || errno == EOPNOTSUPP
			   ? 0
			   : husk_error_set(err, errno, "xattrs of `%s`", path);
	if (len == 0)
		return 0;
	list = malloc((size_t)len);
	names = calloc((size_t)len, sizeof(char *));
	if (list == NULL || names == NULL)
		return husk_error_set(err, ENOMEM, "xattrs of `%s`", path);
	len = flistxattr(fd, list, (size_t)len);
	if (len < 0)
		return husk_error_set(err, errno, "xattrs of `%s`", path);
	for (char *p = list; p < list + len; p += strlen(p) + 1)
		if (!husk_overlay_xattr(p))
			names[n++] = p;
	qsort(names, n, sizeof(char *), store_compare_strings);
	for (size_t i = 0; i < n; i++) {
		char value[65536];
		ssize_t vlen = fgetxattr(fd, names[i], value, sizeof(value));
		if (vlen < 0)
			return husk_error_set(err, errno, "xattr %s of `%s`", names[i], path);
		archive_entry_xattr_add_entry(e, names[i], value, (size_t)vlen);
	}
	return 0;
}

/* An upper dir entry whose content is partly in the lower layers (a
 * directory renamed with redirect_dir, a file copied up metadata only with
 * metacopy) cannot be packed from the upper dir alone: refused rather than
 * packed wrong. */
static int check_whole_in_upper(struct pack *p, int fd, const char *path, husk_error **err)
{
	static const char *const partial[] = {"trusted.overlay.redirect", "user.overlay.redirect",
					      "trusted.overlay.metacopy", "user.overlay.metacopy"};

	if (!p->opts->overlay_upper)
		return 0;
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++)
		if (fgetxattr(fd, partial[i], NULL, 0) >= 0)
			return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					       "`%s` is partly in the lower layers (%s): mount "
					       "the overlay with redirect_dir=off,metacopy=off",
					       path, partial[i]);
	return 0;
}

static struct archive_entry *pack_entry_new(struct pack *p, const char *path, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();

	if (e == NULL)
		return NULL;
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(
	    e, (la_int64_t)husk_id_inner(p->opts->uids, p->opts->n_uids, st->st_uid));
	archive_entry_set_gid(
	    e, (la_int64_t)husk_id_inner(p->opts->gids, p->opts->n_gids, st->st_gid));
	if (p->opts->mtime >= 0)
		archive_entry_set_mtime(e, (time_t)p->opts->mtime, 0);
	else
		archive_entry_set_mtime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	return e;
}

/* An empty regular file named path: a whiteout in OCI's terms. */
static int pack_marker(struct pack *p, const char *path, const struct stat *like, husk_error **err)
{
	struct stat st = *like;
	cleanup_entry struct archive_entry *e = NULL;

	st.st_mode = S_IFREG | 0;
	e = pack_entry_new(p, path, &st);
	if (e == NULL)
		return husk_error_set(err, ENOMEM, "layer entry `%s`", path);
	archive_entry_set_size(e, 0);
	return tar_writer_add(p->t, e, -1, NULL, err);
}

/* A hardlink entry when (dev, ino) was packed already, else remembers it. */
static int pack_hardlink_seen(struct pack *p, const struct stat *st, const char *path,
			      const char **ret_first, husk_error **err)
{
	struct hardlink_seen *n;

	*ret_first = NULL;
	for (size_t i = 0; i < p->n_links; i++)
		if (p->links[i].dev == st->st_dev && p->links[i].ino == st->st_ino) {
			*ret_first = p->links[i].path;
			return 0;
		}
	n = realloc(p->links, (p->n_links + 1) * sizeof(*n));
	if (n == NULL)
		return husk_error_set(err, ENOMEM, "layer");
	p->links = n;
	n[p->n_links].dev = st->st_dev;
	n[p->n_links].ino = st->st_ino;
	n[p->n_links].path = strdup(path);
	if (n[p->n_links].path == NULL)
		return husk_error_set(err, ENOMEM, "layer");
	p->n_links++;
	return 0;
}

static int pack_regular(struct pack *p, int dirfd, const char *name, const char *path,
			const struct stat *st, husk_error **err)
{
	cleanup_entry struct archive_entry *e = pack_entry_new(p, path, st);
	cleanup_close int fd = -1;
	const char *first = NULL;

	if (e == NULL)
		return husk_error_set(err, ENOMEM, "layer entry `%s`", path);
	if (st->st_nlink > 1 && pack_hardlink_seen(p, st, path, &first, err) < 0)
		return -1;
	if (first != NULL) {
		archive_entry_set_hardlink(e, first);
		archive_entry_set_size(e, 0);
		return tar_writer_add(p->t, e, -1, NULL, err);
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	archive_entry_set_size(e, st->st_size);
	if (check_whole_in_upper(p, fd, path, err) < 0 || pack_xattrs(fd, e, path, err) < 0)
		return -1;
	return tar_writer_add(p->t, e, fd, NULL, err);
}

static int pack_symlink(struct pack *p, int dirfd, const char *name, const char *path,
			const struct stat *st, husk_error **err)
{
	cleanup_entry struct archive_entry *e = pack_entry_new(p, path, st);
	char target[4097];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (e == NULL)
		return husk_error_set(err, ENOMEM, "layer entry `%s`", path);
	if (n < 0)
		return husk_error_set(err, errno, "readlink `%s`", path);
	target[n] = '\0';
	archive_entry_set_symlink(e, target);
	archive_entry_set_size(e, 0);
	return tar_writer_add(p->t, e, -1, NULL, err);
}

static int pack_node(struct pack *p, const char *path, const struct stat *st, husk_error **err)
{
	cleanup_entry struct archive_entry *e = NULL;

	if (S_ISSOCK(st->st_mode))
		return 0;
	e = pack_entry_new(p, path, st);
	if (e == NULL)
		return husk_error_set(err, ENOMEM, "layer entry `%s`", path);
	archive_entry_set_rdev(e, st->st_rdev);
	archive_entry_set_size(e, 0);
	return tar_writer_add(p->t, e, -1, NULL, err);
}

static int pack_tree(struct pack *p, int dirfd, const char *prefix, husk_error **err);

static int pack_dir(struct pack *p, int dirfd, const char *name, const char *path,
		    const struct stat *st, husk_error **err)
{
	cleanup_entry struct archive_entry *e = pack_entry_new(p, path, st);
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_free char *opq = NULL;

	if (e == NULL)
		return husk_error_set(err, ENOMEM, "layer entry `%s`", path);
	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	archive_entry_set_size(e, 0);
	if (check_whole_in_upper(p, fd, path, err) < 0 || pack_xattrs(fd, e, path, err) < 0 ||
	    tar_writer_add(p->t, e, -1, NULL, err) < 0)
		return -1;
	if (p->opts->overlay_upper && husk_upper_dir_opaque(fd)) {
		if (asprintf(&opq, "%s/.wh..wh..opq", path) < 0)
			return husk_error_set(err, ENOMEM, "layer entry `%s`", path);
		if (pack_marker(p, opq, st, err) < 0)
			return -1;
	}
	return pack_tree(p, fd, path, err);
}

/* An upper dir's whiteout of prefix/name, in OCI's terms. */
static int pack_whiteout(struct pack *p, const char *prefix, const char *name,
			 const struct stat *st, husk_error **err)
{
	cleanup_free char *wh = NULL;

	if (asprintf(&wh, "%s%s.wh.%s", prefix ? prefix : "", prefix ? "/" : "", name) < 0)
		return husk_error_set(err, ENOMEM, "layer entry `%s`", name);
	return pack_marker(p, wh, st, err);
}

static int pack_one(struct pack *p, int dirfd, const char *name, const char *prefix,
		    husk_error **err)
{
	cleanup_free char *path = NULL;
	const char *deleted;
	struct stat st;

	if (asprintf(&path, "%s%s%s", prefix ? prefix : "", prefix ? "/" : "", name) < 0)
		return husk_error_set(err, ENOMEM, "layer");
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return husk_error_set(err, errno, "stat `%s`", path);
	if (p->opts->overlay_upper)
		switch (husk_upper_entry_kind(name, &st, &deleted)) {
		case HUSK_UPPER_INTERNAL:
			return 0;
		case HUSK_UPPER_WHITEOUT:
			return pack_whiteout(p, prefix, deleted, &st, err);
		case HUSK_UPPER_PLAIN:
			break;
		}
	if (S_ISDIR(st.st_mode))
		return pack_dir(p, dirfd, name, path, &st, err);
	if (S_ISREG(st.st_mode))
		return pack_regular(p, dirfd, name, path, &st, err);
	if (S_ISLNK(st.st_mode))
		return pack_symlink(p, dirfd, name, path, &st, err);
	return pack_node(p, path, &st, err);
}

static int read_sorted_names(int dirfd, char ***ret, husk_error **err)
{
	cleanup_strv char **names = calloc(1, sizeof(char *));
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (names == NULL || fd < 0 || (d = fdopendir(fd)) == NULL) {
		int e = names == NULL ? ENOMEM : errno;
		if (fd >= 0)
			close(fd);
		return husk_error_set(err, e, "read a directory");
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		char *copy;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		copy = strdup(de->d_name);
		if (copy == NULL || strv_append(&names, copy) < 0) {
			closedir(d);
			return husk_error_set(err, ENOMEM, "read a directory");
		}
	}
	if (errno != 0) {
		int e = errno;
		closedir(d);
		return husk_error_set(err, e, "read a directory");
	}
	closedir(d);
	store_strv_sort(names);
	*ret = steal_pointer(&names);
	return 0;
}

static int pack_tree(struct pack *p, int dirfd, const char *prefix, husk_error **err)
{
	cleanup_strv char **names = NULL;

	if (read_sorted_names(dirfd, &names, err) < 0)
		return -1;
	for (size_t i = 0; names[i]; i++)
		if (pack_one(p, dirfd, names[i], prefix, err) < 0)
			return -1;
	return 0;
}

static const struct husk_pack_opts pack_defaults = {.mtime = -1};

static void pack_clear(struct pack *p)
{
	tar_writer_free(p->t);
	for (size_t i = 0; i < p->n_links; i++)
		free(p->links[i].path);
	free(p->links);
}

int husk_store_pack_dir(struct husk_store *s, int dirfd, const struct husk_pack_opts *opts,
			struct husk_layer *ret, husk_error **err)
{
	struct pack p = {.opts = opts ? opts : &pack_defaults};
	int r = -1;

	if (husk_store_archive_load(err) < 0)
		return -1;

	if (tar_writer_new(s, &p.t, err) == 0 && pack_tree(&p, dirfd, NULL, err) == 0)
		r = tar_writer_finish(p.t, ret, err);
	pack_clear(&p);
	return r < 0 ? husk_error_wrap(err, "pack a layer") : 0;
}

int husk_tar_dir(int dirfd, int fd, const struct husk_pack_opts *opts, husk_error **err)
{
	struct pack p = {.opts = opts ? opts : &pack_defaults};
	int r = -1;

	if (tar_writer_new_fd(fd, &p.t, err) == 0 && pack_tree(&p, dirfd, NULL, err) == 0) {
		r = archive_write_close(p.t->a) == ARCHIVE_OK ? 0 : tar_fail(p.t, "(end)", err);
	}
	pack_clear(&p);
	return r;
}
