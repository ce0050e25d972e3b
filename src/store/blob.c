/* SPDX-License-Identifier: MIT */
/* Blobs: written as streams, verified, then renamed to their digest. */
#define _GNU_SOURCE
#include "store_internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

struct husk_blob_writer {
	struct husk_store *s;
	int fd;
	char *tmp; /* its name in blobs/sha256 until committed or dropped */
	struct hasher hash;
	char *expected_digest;
	int64_t expected_size;
	int64_t written;
	bool failed;
};

static void blob_writer_drop(struct husk_blob_writer *w)
{
	closep(&w->fd);
	if (w->tmp != NULL)
		unlinkat(w->s->blobsfd, w->tmp, 0);
	free(w->tmp);
	w->tmp = NULL;
	w->failed = true;
}

void husk_blob_writer_free(struct husk_blob_writer *w)
{
	if (w == NULL)
		return;
	blob_writer_drop(w);
	hasher_free(&w->hash);
	free(w->expected_digest);
	free(w);
}

static void blob_writer_freep(struct husk_blob_writer **w)
{
	husk_blob_writer_free(*w);
}
#define cleanup_blob_writer __attribute__((cleanup(blob_writer_freep)))

int husk_blob_writer_new(struct husk_store *s, const char *expected_digest, int64_t expected_size,
			 struct husk_blob_writer **ret, husk_error **err)
{
	cleanup_blob_writer struct husk_blob_writer *w = NULL;

	if (expected_digest != NULL && digest_check(expected_digest, "blob", err) < 0)
		return -1;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return husk_error_set(err, ENOMEM, "blob");
	w->s = s;
	w->fd = -1;
	w->expected_size = expected_size < 0 ? -1 : expected_size;
	if (expected_digest != NULL && (w->expected_digest = strdup(expected_digest)) == NULL)
		return husk_error_set(err, ENOMEM, "blob");
	if (hasher_init(&w->hash, err) < 0 || store_begin_write(s, err) < 0 ||
	    store_create_temp(s->blobsfd, 0644, &w->tmp, &w->fd, err) < 0)
		return -1;
	*ret = steal_pointer(&w);
	return 0;
}

static const char *blob_name(const struct husk_blob_writer *w)
{
	return w->expected_digest != NULL ? w->expected_digest : "blob";
}

int husk_blob_writer_write(struct husk_blob_writer *w, const void *buf, size_t len,
			   husk_error **err)
{
	if (w->failed)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: write after a failure",
				       blob_name(w));
	if (w->expected_size >= 0 && (uint64_t)w->written + len > (uint64_t)w->expected_size) {
		blob_writer_drop(w);
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s: more data than the declared %lld bytes", blob_name(w),
				       (long long)w->expected_size);
	}
	if (write_all(w->fd, buf, len) < 0) {
		int e = errno;
		blob_writer_drop(w);
		return husk_error_set(err, e, "write %s", blob_name(w));
	}
	hasher_update(&w->hash, buf, len);
	w->written += (int64_t)len;
	return 0;
}

static int blob_writer_verify(struct husk_blob_writer *w, const char *digest, husk_error **err)
{
	if (w->expected_size >= 0 && w->written != w->expected_size)
		return husk_error_fail(
		    err, HUSK_ERR_INVALID, "%s: truncated: %lld bytes of the declared %lld",
		    blob_name(w), (long long)w->written, (long long)w->expected_size);
	if (w->expected_digest != NULL && strcmp(w->expected_digest, digest) != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s: digest mismatch: the content is %s", w->expected_digest,
				       digest);
	return 0;
}

int husk_blob_writer_commit(struct husk_blob_writer *w, char **ret_digest, int64_t *ret_size,
			    husk_error **err)
{
	char digest[HUSK_DIGEST_LEN + 1];
	cleanup_free char *copy = NULL;

	if (w->failed)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: commit after a failure",
				       blob_name(w));
	hasher_final(&w->hash, digest);
	if (blob_writer_verify(w, digest, err) < 0) {
		blob_writer_drop(w);
		return -1;
	}
	if (ret_digest != NULL && (copy = strdup(digest)) == NULL) {
		blob_writer_drop(w);
		return husk_error_set(err, ENOMEM, "blob");
	}
	/* The data reaches the disk before the name does: a crash never
	 * leaves a blob whose content is not its digest's. */
	if (fsync(w->fd) < 0 ||
	    renameat(w->s->blobsfd, w->tmp, w->s->blobsfd, digest_hex(digest)) < 0) {
		int e = errno;
		blob_writer_drop(w);
		return husk_error_set(err, e, "store blob %s", digest);
	}
	free(w->tmp);
	w->tmp = NULL;
	closep(&w->fd);
	w->failed = true; /* done: nothing more to write */
	if (store_fsync_dir(w->s->blobsfd, "blobs/sha256", err) < 0)
		return -1;
	if (ret_digest != NULL)
		*ret_digest = steal_pointer(&copy);
	if (ret_size != NULL)
		*ret_size = w->written;
	return 0;
}

int husk_store_write_blob_fd(struct husk_store *s, int fd, const char *expected_digest,
			     int64_t expected_size, char **ret_digest, int64_t *ret_size,
			     husk_error **err)
{
	cleanup_blob_writer struct husk_blob_writer *w = NULL;
	cleanup_free char *buf = malloc(1 << 17);

	if (buf == NULL)
		return husk_error_set(err, ENOMEM, "blob");
	if (husk_blob_writer_new(s, expected_digest, expected_size, &w, err) < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 17);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_set(err, errno, "read %s", blob_name(w));
		if (n == 0)
			break;
		if (husk_blob_writer_write(w, buf, (size_t)n, err) < 0)
			return -1;
	}
	return husk_blob_writer_commit(w, ret_digest, ret_size, err);
}

int husk_store_write_blob(struct husk_store *s, const void *data, size_t len,
			  const char *expected_digest, char **ret_digest, husk_error **err)
{
	cleanup_blob_writer struct husk_blob_writer *w = NULL;

	if (husk_blob_writer_new(s, expected_digest, (int64_t)len, &w, err) < 0 ||
	    husk_blob_writer_write(w, data, len, err) < 0)
		return -1;
	return husk_blob_writer_commit(w, ret_digest, NULL, err);
}

bool husk_store_has_blob(struct husk_store *s, const char *digest)
{
	struct stat st;

	return husk_digest_valid(digest) &&
	       fstatat(s->blobsfd, digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

int husk_store_open_blob(struct husk_store *s, const char *digest, int *ret_fd, husk_error **err)
{
	int fd;

	if (digest_check(digest, "blob", err) < 0)
		return -1;
	fd = openat(s->blobsfd, digest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "blob %s is not in the store",
				       digest);
	if (fd < 0)
		return husk_error_set(err, errno, "open blob %s", digest);
	*ret_fd = fd;
	return 0;
}

int blob_size(struct husk_store *s, const char *digest, int64_t *ret, husk_error **err)
{
	struct stat st;

	if (digest_check(digest, "blob", err) < 0)
		return -1;
	if (fstatat(s->blobsfd, digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
					       "blob %s is not in the store", digest);
		return husk_error_set(err, errno, "blob %s", digest);
	}
	*ret = st.st_size;
	return 0;
}

int husk_store_read_blob(struct husk_store *s, const char *digest, size_t max_len, char **ret,
			 size_t *ret_len, husk_error **err)
{
	cleanup_close int fd = -1;
	cleanup_free char *buf = NULL;
	cleanup_hasher struct hasher h = {NULL};
	char actual[HUSK_DIGEST_LEN + 1];
	struct stat st;
	ssize_t n;

	if (husk_store_open_blob(s, digest, &fd, err) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return husk_error_set(err, errno, "blob %s", digest);
	if ((uint64_t)st.st_size > max_len)
		return husk_error_fail(err, HUSK_ERR_INVALID, "blob %s: %lld bytes, more than %zu",
				       digest, (long long)st.st_size, max_len);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return husk_error_set(err, ENOMEM, "blob %s", digest);
	n = read_all(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return husk_error_set(err, errno, "read blob %s", digest);
	buf[n] = '\0';
	if (hasher_init(&h, err) < 0)
		return -1;
	hasher_update(&h, buf, (size_t)n);
	hasher_final(&h, actual);
	if (strcmp(actual, digest) != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "blob %s is corrupt: its content is %s", digest, actual);
	*ret = steal_pointer(&buf);
	if (ret_len != NULL)
		*ret_len = (size_t)n;
	return 0;
}

int blob_read_json(struct husk_store *s, const char *digest, size_t max_len, json_t **ret,
		   husk_error **err)
{
	cleanup_free char *data = NULL;
	json_error_t jerr;
	size_t len = 0;
	json_t *j;

	if (husk_store_read_blob(s, digest, max_len, &data, &len, err) < 0)
		return -1;
	j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "blob %s: not JSON: %s (line %d)",
				       digest, jerr.text, jerr.line);
	if (!json_is_object(j)) {
		json_decref(j);
		return husk_error_fail(err, HUSK_ERR_INVALID, "blob %s: not a JSON object", digest);
	}
	*ret = j;
	return 0;
}

int blob_write_json(struct husk_store *s, json_t *doc, char **ret_digest, int64_t *ret_size,
		    husk_error **err)
{
	cleanup_free char *data = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);

	if (data == NULL)
		return husk_error_set(err, ENOMEM, "JSON blob");
	if (ret_size != NULL)
		*ret_size = (int64_t)strlen(data);
	return husk_store_write_blob(s, data, strlen(data), NULL, ret_digest, err);
}

int blob_layer_media_type(struct husk_store *s, const char *digest, const char **ret,
			  husk_error **err)
{
	static const unsigned char gzip[] = {0x1f, 0x8b}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
	static const unsigned char xz[] = {0xfd, '7', 'z', 'X', 'Z'}, bzip2[] = {'B', 'Z', 'h'};
	cleanup_close int fd = -1;
	unsigned char head[8] = {0};

	if (husk_store_open_blob(s, digest, &fd, err) < 0)
		return -1;
	if (read_all(fd, head, sizeof(head)) < 0)
		return husk_error_set(err, errno, "read blob %s", digest);
	if (memcmp(head, gzip, sizeof(gzip)) == 0)
		*ret = MEDIA_OCI_LAYER_GZIP;
	else if (memcmp(head, zstd, sizeof(zstd)) == 0)
		*ret = MEDIA_OCI_LAYER_ZSTD;
	else if (memcmp(head, xz, sizeof(xz)) == 0 || memcmp(head, bzip2, sizeof(bzip2)) == 0)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "an OCI layer is a tar, plain or compressed with gzip or "
				       "zstd (not xz or bzip2)");
	else
		*ret = MEDIA_OCI_LAYER;
	return 0;
}
