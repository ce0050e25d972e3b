/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared by the image store's tests: a store in a fresh temporary directory,
 * tar archives written from a table of entries (any name, hostile ones
 * included), and small file helpers. Include tap.h first.
 */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <husk/store.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util.h"

static char test_dir[] = "/tmp/husk-test-store-XXXXXX";
static unsigned test_store_count;

static inline void test_cleanup(void)
{
	rm_rf_at(AT_FDCWD, test_dir);
}

static inline void test_setup(void)
{
	if (mkdtemp(test_dir) == NULL)
		TAP_BAIL_OUT("mkdtemp: %m");
	atexit(test_cleanup);
}

/* A new store root under the test directory. */
static inline char *test_root(const char *name)
{
	char *root = NULL;

	if (asprintf(&root, "%s/%s-%u", test_dir, name, test_store_count++) < 0)
		TAP_BAIL_OUT("asprintf");
	return root;
}

static inline struct husk_store *test_open_at(const char *root, bool rootless)
{
	struct husk_store_opts o = {.root = root, .rootless = rootless};
	struct husk_store *s = NULL;
	husk_error *err = NULL;

	if (husk_store_open(&o, &s, &err) < 0)
		TAP_BAIL_OUT("open store %s: %s", root, err->msg);
	return s;
}

static inline struct husk_store *test_open(const char *name, bool rootless)
{
	cleanup_free char *root = test_root(name);

	return test_open_at(root, rootless);
}

/* Entries of a test tar. type: 'f' file (data), 'd' dir, 'l' symlink
 * (data = target), 'h' hardlink (data = target), 'c'/'b' device (rdev), 'p'
 * fifo. */
struct tentry {
	char type;
	const char *path;
	const char *data;
	mode_t mode; /* 0: 0644 for files, 0755 for dirs */
	dev_t rdev;
	int64_t size; /* > 0: the declared size, whatever data holds */
	const char *xattr_name, *xattr_value;
};

enum tcomp { T_NONE, T_GZIP, T_ZSTD };

struct tbuf {
	char *data;
	size_t len, cap;
};

static inline la_ssize_t tbuf_write(struct archive *a, void *p, const void *buf, size_t len)
{
	struct tbuf *b = p;

	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		char *n = realloc(b->data, cap);
		if (n == NULL)
			return -1;
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return (la_ssize_t)len;
}

static inline mode_t tentry_type(char t)
{
	switch (t) {
	case 'd':
		return AE_IFDIR;
	case 'l':
		return AE_IFLNK;
	case 'c':
		return AE_IFCHR;
	case 'b':
		return AE_IFBLK;
	case 'p':
		return AE_IFIFO;
	default:
		return AE_IFREG;
	}
}

static inline void tar_add(struct archive *a, const struct tentry *t)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = t->type == 'f' && t->data ? strlen(t->data) : 0;

	archive_entry_set_pathname(e, t->path);
	archive_entry_set_mode(e, tentry_type(t->type) |
				      (t->mode ? t->mode : (t->type == 'd' ? 0755 : 0644)));
	archive_entry_set_mtime(e, 1000000000, 0);
	archive_entry_set_size(e, t->size > 0 ? t->size : (int64_t)len);
	if (t->type == 'l')
		archive_entry_set_symlink(e, t->data);
	if (t->type == 'h') {
		archive_entry_set_hardlink(e, t->data);
		archive_entry_set_size(e, 0);
	}
	if (t->type == 'c' || t->type == 'b')
		archive_entry_set_rdev(e, t->rdev);
	if (t->xattr_name)
		archive_entry_xattr_add_entry(e, t->xattr_name, t->xattr_value,
					      strlen(t->xattr_value));
	if (archive_write_header(a, e) != ARCHIVE_OK)
		TAP_BAIL_OUT("tar header %s: %s", t->path, archive_error_string(a));
	if (len > 0)
		archive_write_data(a, t->data, len);
	archive_entry_free(e);
}

/* A tar of the entries (ending at one whose path is NULL). */
static inline struct tbuf make_tar(const struct tentry *entries, enum tcomp comp)
{
	struct archive *a = archive_write_new();
	struct tbuf b = {NULL};

	archive_write_set_format_pax_restricted(a);
	/* No padding: the same tar whether compressed or not. */
	archive_write_set_bytes_in_last_block(a, 1);
	if (comp == T_GZIP)
		archive_write_add_filter_gzip(a);
	if (comp == T_ZSTD && archive_write_add_filter_zstd(a) != ARCHIVE_OK)
		TAP_BAIL_OUT("zstd: %s", archive_error_string(a));
	archive_write_open2(a, &b, NULL, tbuf_write, NULL, NULL);
	for (const struct tentry *t = entries; t->path; t++)
		tar_add(a, t);
	archive_write_close(a);
	archive_write_free(a);
	return b;
}

/* The tar written as a blob; returns its digest (static buffer). */
static inline const char *store_tar(struct husk_store *s, const struct tentry *entries,
				    enum tcomp comp)
{
	static char digest[HUSK_DIGEST_LEN + 1];
	struct tbuf b = make_tar(entries, comp);
	husk_error *err = NULL;
	char *d = NULL;

	if (husk_store_write_blob(s, b.data, b.len, NULL, &d, &err) < 0)
		TAP_BAIL_OUT("write tar blob: %s", err->msg);
	snprintf(digest, sizeof(digest), "%s", d);
	free(d);
	free(b.data);
	return digest;
}

/* Entries in dir (not . and ..), -1 if it cannot be read. */
static inline int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static inline int count_in(struct husk_store *s, const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", husk_store_root(s), sub);
	return count_entries(path);
}

static inline char *path_in(const char *dir, const char *rel)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		TAP_BAIL_OUT("asprintf");
	return p;
}

static inline bool lexists(const char *dir, const char *rel)
{
	cleanup_free char *p = path_in(dir, rel);
	struct stat st;

	return lstat(p, &st) == 0;
}

static inline mode_t lmode(const char *dir, const char *rel)
{
	cleanup_free char *p = path_in(dir, rel);
	struct stat st;

	return lstat(p, &st) == 0 ? st.st_mode : 0;
}

static inline char *read_text(const char *dir, const char *rel)
{
	cleanup_free char *p = path_in(dir, rel);
	char *data = NULL;

	if (read_file_at(AT_FDCWD, p, &data, NULL, NULL) < 0)
		return NULL;
	return data;
}

static inline void write_text(const char *dir, const char *rel, const char *text, mode_t mode)
{
	cleanup_free char *p = path_in(dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		TAP_BAIL_OUT("write %s: %m", p);
	close(fd);
}

static inline void make_dir(const char *dir, const char *rel, mode_t mode)
{
	cleanup_free char *p = strcmp(rel, ".") == 0 ? strdup(dir) : path_in(dir, rel);

	if (mkdir(p, mode) < 0 || chmod(p, mode) < 0)
		TAP_BAIL_OUT("mkdir %s: %m", p);
}

static inline const char *err_msg(const husk_error *e)
{
	return e ? e->msg : "(no error)";
}
