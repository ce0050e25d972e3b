/* SPDX-License-Identifier: MIT */
#pragma once

/* What the files of the image store share; the layout is in husk/store.h. */

#include <husk/store.h>
#include <stdio.h>

#include "util.h"

struct archive;
struct archive_entry;

struct husk_store {
	char *root;
	int rootfd, blobsfd, layersfd, holdsfd;
	int lockfd;    /* `lock` */
	bool writing;  /* this handle holds `lock` shared */
	bool rootless; /* no devices, user.overlay.* xattrs */
	bool chown;    /* root in its namespace: owners are applied */
	bool allow_devices;
};

#define TEMP_PREFIX                                                                                \
	"."                                                                                        \
	"tmp-"
#define INDEX_FILE "images.json"

#define MEDIA_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_OCI_INDEX	      "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define MEDIA_OCI_LAYER	      "application/vnd.oci.image.layer.v1.tar"
#define MEDIA_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define MEDIA_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"
#define MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MEDIA_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define MEDIA_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Limits for the JSON blobs read whole. */
#define MANIFEST_MAX (4u << 20)
#define CONFIG_MAX   (32u << 20)

/* store.c */
/* Takes `lock` shared for the rest of the handle's life (gc waits for it). */
/* libarchive, loaded on first use (archive_dl.c): why it cannot be. */
int husk_store_archive_load(husk_error **err);
int store_begin_write(struct husk_store *s, husk_error **err);
/* Exclusive `index.lock`: *ret_fd holds it until closed. */
int store_lock_index(struct husk_store *s, int *ret_fd, husk_error **err);
bool store_is_temp_name(const char *name);
/* A new file `.tmp-XXXXXX` in dirfd, opened for writing. */
int store_create_temp(int dirfd, mode_t mode, char **ret_name, int *ret_fd, husk_error **err);
/* A new directory `.tmp-XXXXXX` in dirfd. */
int store_create_temp_dir(int dirfd, char **ret_name, husk_error **err);
int store_fsync_dir(int dirfd, const char *what, husk_error **err);
/* Writes name in dirfd all-or-nothing: temp, fsync, rename, fsync dir. */
int store_write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
			    husk_error **err);
/* The same without the syncs: whole to whoever reads it, not durable yet
 * (after a crash, gone or empty). */
int store_write_file_whole(int dirfd, const char *name, const void *data, size_t len,
			   husk_error **err);
/* Removes every `.tmp-*` in dirfd; adds their number to *count. */
void store_remove_temps(int dirfd, unsigned *count);
/* The sorted names in dirfd, without `.`, `..` and temps. */
int store_list_dir(int dirfd, char ***ret, husk_error **err);
int store_compare_strings(const void *a, const void *b);
void store_strv_sort(char **v); /* NULL is fine */
/* "amd64", "arm64", ...: what image platforms call this machine. */
const char *store_host_arch(void);

/* digest.c */
struct hasher {
	struct sha256_state *ctx; /* digest.c's */
};
int hasher_init(struct hasher *h, husk_error **err);
void hasher_update(struct hasher *h, const void *buf, size_t len);
/* out: "sha256:<hex>" and a NUL. */
void hasher_final(struct hasher *h, char out[HUSK_DIGEST_LEN + 1]);
void hasher_free(struct hasher *h);
static inline void hasher_freep(struct hasher *h)
{
	hasher_free(h);
}
#define cleanup_hasher __attribute__((cleanup(hasher_freep)))
/* Valid and of an algorithm we know (sha256), or an error of the right kind. */
int digest_check(const char *digest, const char *what, husk_error **err);
/* The 64 hex digits of a valid digest. */
static inline const char *digest_hex(const char *digest)
{
	return digest + sizeof("sha256:") - 1;
}
/* The digest of a file's whole content. */
int digest_fd(int fd, char out[HUSK_DIGEST_LEN + 1], husk_error **err);

/* blob.c */
/* The stored size of a blob. */
int blob_size(struct husk_store *s, const char *digest, int64_t *ret, husk_error **err);
/* A blob holding a JSON document, read whole and verified. */
int blob_read_json(struct husk_store *s, const char *digest, size_t max_len, json_t **ret,
		   husk_error **err);

/* A JSON document as a blob: compact, keys sorted (the same bytes for the
 * same document). ret_size may be NULL. */
int blob_write_json(struct husk_store *s, json_t *doc, char **ret_digest, int64_t *ret_size,
		    husk_error **err);
/* A layer blob's media type, from its first bytes: a tar, gzip or zstd
 * (xz and bzip2 are no OCI layer types). */
int blob_layer_media_type(struct husk_store *s, const char *digest, const char **ret,
			  husk_error **err);

/* layer_pack.c: a tar layer written as a blob */
struct tar_writer;
int tar_writer_new(struct husk_store *s, struct tar_writer **ret, husk_error **err);
/* Adds an entry; its data from fd (read to the entry's size) or from data. */
int tar_writer_add(struct tar_writer *t, struct archive_entry *e, int fd, const void *data,
		   husk_error **err);
int tar_writer_finish(struct tar_writer *t, struct husk_layer *ret, husk_error **err);
void tar_writer_free(struct tar_writer *t);

/* layer_raw.c: a layer blob's uncompressed bytes */
struct layer_reader;
int layer_reader_open(struct husk_store *s, const char *digest, struct layer_reader **ret,
		      husk_error **err);
/* Up to len bytes; 0 at the end. */
ssize_t layer_reader_read(struct layer_reader *r, void *buf, size_t len, husk_error **err);
void layer_reader_free(struct layer_reader *r);
/* The sha256 of the blob's uncompressed bytes (its DiffID) and their number. */
int layer_blob_diff_id(struct husk_store *s, const char *digest, char out[HUSK_DIGEST_LEN + 1],
		       int64_t *ret_size, husk_error **err);

/* index.c */
/* images.json as it is now ({"version":1,"images":{},"tags":{}} when absent). */
int index_read(struct husk_store *s, json_t **ret, husk_error **err);
/* Under index.lock: reads the index, calls change, and writes the index back
 * when change returned > 0. */
typedef int (*index_change_fn)(struct husk_store *s, json_t *index, void *arg, husk_error **err);
int index_modify(struct husk_store *s, index_change_fn change, void *arg, husk_error **err);
int index_resolve(json_t *index, const char *ref, char **ret_manifest_digest, husk_error **err);
/* The sorted names of the image whose manifest is digest. */
char **index_tags_of(json_t *index, const char *manifest_digest);

/* manifest.c */
struct manifest {
	char *media_type;
	char *config_digest;
	int64_t config_size;
	size_t n_layers;
	struct husk_layer *layers; /* digest, media_type, size */
	json_t *json;
};
void manifest_clear(struct manifest *m);
/* {mediaType, digest, size} */
json_t *manifest_descriptor(const char *media_type, const char *digest, int64_t size);
/* Reads and parses an image manifest (OCI or Docker schema 2). */
int manifest_load(struct husk_store *s, const char *digest, struct manifest *ret, husk_error **err);
/* An index or a manifest list: the digest of this platform's manifest;
 * anything else: digest itself. */
int manifest_select_platform(struct husk_store *s, const char *digest, char **ret,
			     husk_error **err);
/* Reads the config and fills img (id, config, created, os, architecture,
 * layer diff_ids) from it; the layers must be set. */
int image_config_load(struct husk_store *s, const char *config_digest, struct husk_image *img,
		      husk_error **err);
void image_config_clear(struct husk_image_config *c);

/* image.c */
/* The image of a manifest (not an index), without its names; layer paths
 * set where unpacked. ret_config_size (may be NULL): as the manifest says. */
int image_load(struct husk_store *s, const char *manifest_digest, struct husk_image **ret,
	       int64_t *ret_config_size, husk_error **err);
static inline void image_freep(struct husk_image **img)
{
	husk_image_free(*img);
}
#define cleanup_image __attribute__((cleanup(image_freep)))
/* What an image needs before the index may name it: the manifest (an index
 * picks this platform's), its config and layer blobs there as it declares
 * them, its layers unpacked. */
int image_prepare(struct husk_store *s, const char *manifest_digest, struct husk_image **ret,
		  husk_error **err);
struct image_record {
	const struct husk_image *img; /* prepared */
	const char *const *names;     /* normalized, NULL-terminated; may be NULL */
	/* out: the manifest the index names it by: img's, or the one an image
	 * of the same id (config) was recorded with before */
	char recorded[HUSK_DIGEST_LEN + 1];
};
/* Adds the images and their names to images.json in one change: all or none. */
int image_record(struct husk_store *s, struct image_record *list, size_t n, husk_error **err);

/* holds.c */
/* The holders of an image (sorted), NULL when none. */
int holds_of(struct husk_store *s, const char *manifest_digest, char ***ret, husk_error **err);
/* Every held manifest digest. */
int holds_all(struct husk_store *s, char ***ret, husk_error **err);
