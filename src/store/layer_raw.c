/* SPDX-License-Identifier: MIT */
/*
 * A layer blob's uncompressed bytes (gzip, zstd, ... or none) as a stream:
 * `save` writes docker-archive layers uncompressed, as `docker save` does,
 * and `load` checks a compressed layer against the DiffID its config names.
 * libarchive's raw format with every filter only decompresses.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

struct layer_reader {
	struct archive *a;
	int fd;
	bool eof;
	char *digest; /* for messages */
};

void layer_reader_free(struct layer_reader *r)
{
	if (r == NULL)
		return;
	if (r->a != NULL)
		archive_read_free(r->a);
	closep(&r->fd);
	free(r->digest);
	free(r);
}

static int layer_reader_fail(struct layer_reader *r, husk_error **err)
{
	return husk_error_fail(err, HUSK_ERR_INVALID, "layer %s: %s", r->digest,
			       archive_error_string(r->a) ? archive_error_string(r->a)
							  : "cannot be decompressed");
}

int layer_reader_open(struct husk_store *s, const char *digest, struct layer_reader **ret,
		      husk_error **err)
{
	struct layer_reader *r = calloc(1, sizeof(*r));
	struct archive_entry *e;
	int rc;

	if (r == NULL)
		return husk_error_set(err, ENOMEM, "layer");
	r->fd = -1;
	r->digest = strdup(digest);
	r->a = archive_read_new();
	if (r->digest == NULL || r->a == NULL) {
		layer_reader_free(r);
		return husk_error_set(err, ENOMEM, "layer");
	}
	if (husk_store_open_blob(s, digest, &r->fd, err) < 0)
		goto fail;
	archive_read_support_filter_all(r->a);
	archive_read_support_format_raw(r->a);
	archive_read_support_format_empty(r->a);
	if (archive_read_open_fd(r->a, r->fd, 1 << 17) != ARCHIVE_OK) {
		layer_reader_fail(r, err);
		goto fail;
	}
	rc = archive_read_next_header(r->a, &e);
	if (rc == ARCHIVE_EOF) {
		r->eof = true; /* an empty blob */
	} else if (rc < ARCHIVE_WARN) {
		layer_reader_fail(r, err);
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	layer_reader_free(r);
	return -1;
}

ssize_t layer_reader_read(struct layer_reader *r, void *buf, size_t len, husk_error **err)
{
	la_ssize_t n;

	if (r->eof)
		return 0;
	n = archive_read_data(r->a, buf, len);
	if (n < 0)
		return layer_reader_fail(r, err);
	if (n == 0)
		r->eof = true;
	return n;
}

static void layer_reader_freep(struct layer_reader **r)
{
	layer_reader_free(*r);
}

int layer_blob_diff_id(struct husk_store *s, const char *digest, char out[HUSK_DIGEST_LEN + 1],
		       int64_t *ret_size, husk_error **err)
{
	__attribute__((cleanup(layer_reader_freep))) struct layer_reader *r = NULL;
	cleanup_hasher struct hasher h = {NULL};
	cleanup_free char *buf = malloc(1 << 17);
	int64_t size = 0;
	ssize_t n;

	if (buf == NULL)
		return husk_error_set(err, ENOMEM, "layer");
	if (hasher_init(&h, err) < 0 || layer_reader_open(s, digest, &r, err) < 0)
		return -1;
	while ((n = layer_reader_read(r, buf, 1 << 17, err)) > 0) {
		hasher_update(&h, buf, (size_t)n);
		size += n;
	}
	if (n < 0)
		return -1;
	hasher_final(&h, out);
	if (ret_size != NULL)
		*ret_size = size;
	return 0;
}
