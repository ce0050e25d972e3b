/* SPDX-License-Identifier: MIT */
/*
 * `save`: images written as a tar with libarchive, in one of two layouts.
 *
 *   docker-archive (as `docker save`):  <diffid-hex>/layer.tar (uncompressed),
 *     <config-hex>.json, manifest.json [{Config, RepoTags, Layers}],
 *     repositories {repo: {tag: <top diffid-hex>}}
 *   oci-archive (an OCI image layout): oci-layout, blobs/sha256/<hex> (the
 *     blobs as stored), index.json naming each manifest (annotations
 *     org.opencontainers.image.ref.name and io.containerd.image.name)
 *
 * Every entry is owned by 0:0 and dated 0: the same images give the same
 * bytes. Every blob is hashed as it is copied and must match its digest (a
 * layer written uncompressed, its DiffID): a store gone bad fails the save.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#define COPY_BUF (1 << 17)

struct save_image {
	struct husk_image *img;
	char **names; /* normalized names given for it; NULL: saved by id */
};

struct saver {
	struct husk_store *s;
	struct archive *a;
	json_t *written; /* entry paths already in the archive */
	struct save_image *images;
	size_t n_images;
	char *buf; /* COPY_BUF bytes */
};

int husk_archive_format_parse(const char *name, enum husk_archive_format *ret, husk_error **err)
{
	if (name != NULL && strcmp(name, "docker-archive") == 0)
		*ret = HUSK_ARCHIVE_DOCKER;
	else if (name != NULL && strcmp(name, "oci-archive") == 0)
		*ret = HUSK_ARCHIVE_OCI;
	else
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "unknown archive format `%s` (docker-archive or oci-archive)",
		    name ? name : "");
	return 0;
}

static void saver_clear(struct saver *sv, bool failed)
{
	for (size_t i = 0; i < sv->n_images; i++) {
		husk_image_free(sv->images[i].img);
		strv_free(sv->images[i].names);
	}
	free(sv->images);
	/* A failed save gets no end-of-archive marker, so that what it wrote
	 * (to a pipe) cannot pass for a whole archive. */
	if (sv->a != NULL && failed)
		archive_write_fail(sv->a);
	if (sv->a != NULL)
		archive_write_free(sv->a);
	json_decref(sv->written);
	free(sv->buf);
}

/* --- What to save -------------------------------------------------------- */

static struct save_image *saver_find(struct saver *sv, const char *manifest_digest)
{
	for (size_t i = 0; i < sv->n_images; i++)
		if (strcmp(sv->images[i].img->manifest_digest, manifest_digest) == 0)
			return &sv->images[i];
	return NULL;
}

/* The ref's name when it is one the index has, else NULL (an id). */
static char *ref_name(json_t *index, const char *ref)
{
	cleanup_free char *name = NULL;

	if (strchr(ref, '@') != NULL || husk_store_normalize_name(ref, &name, NULL) < 0 ||
	    json_object_get(json_object_get(index, "tags"), name) == NULL)
		return NULL;
	return steal_pointer(&name);
}

static int saver_add(struct saver *sv, json_t *index, const char *ref, husk_error **err)
{
	cleanup_free char *digest = NULL, *name = NULL;
	struct save_image *si;

	if (index_resolve(index, ref, &digest, err) < 0)
		return -1;
	name = ref_name(index, ref);
	si = saver_find(sv, digest);
	if (si == NULL) {
		si = &sv->images[sv->n_images];
		if (image_load(sv->s, digest, &si->img, NULL, err) < 0)
			return husk_error_wrap(err, "image %s", ref);
		sv->n_images++;
	}
	if (name != NULL && !strv_contains(si->names, name) &&
	    strv_append(&si->names, steal_pointer(&name)) < 0)
		return husk_error_set(err, ENOMEM, "save");
	return 0;
}

static int saver_resolve(struct saver *sv, const char *const *refs, size_t n, husk_error **err)
{
	cleanup_json json_t *index = NULL;

	if (n == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "save: no image named");
	sv->images = calloc(n, sizeof(*sv->images));
	if (sv->images == NULL)
		return husk_error_set(err, ENOMEM, "save");
	if (index_read(sv->s, &index, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (saver_add(sv, index, refs[i], err) < 0)
			return -1;
	return 0;
}

/* --- Entries ------------------------------------------------------------- */

static int archive_fail(struct saver *sv, const char *path, husk_error **err)
{
	const char *msg = archive_error_string(sv->a);
	int e = archive_errno(sv->a);

	if (e > 0)
		return husk_error_set(err, e, "write `%s`", path);
	return husk_error_fail(err, HUSK_ERR_SYSTEM, "write `%s`: %s", path, msg ? msg : "failed");
}

static bool is_written(struct saver *sv, const char *path)
{
	return json_object_get(sv->written, path) != NULL;
}

static int mark_written(struct saver *sv, const char *path, husk_error **err)
{
	if (json_object_set_new(sv->written, path, json_true()) < 0)
		return husk_error_set(err, ENOMEM, "save");
	return 0;
}

static int write_header(struct saver *sv, const char *path, mode_t type, int64_t size,
			husk_error **err)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	if (e == NULL)
		return husk_error_set(err, ENOMEM, "save");
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFDIR ? 0 : size);
	archive_entry_set_mtime(e, 0, 0);
	r = archive_write_header(sv->a, e);
	archive_entry_free(e);
	return r < ARCHIVE_WARN ? archive_fail(sv, path, err) : 0;
}

static int write_dir(struct saver *sv, const char *path, husk_error **err)
{
	if (is_written(sv, path))
		return 0;
	if (mark_written(sv, path, err) < 0)
		return -1;
	return write_header(sv, path, AE_IFDIR, 0, err);
}

static int write_data(struct saver *sv, const char *path, const void *data, size_t len,
		      husk_error **err)
{
	if (len > 0 && archive_write_data(sv->a, data, len) != (la_ssize_t)len)
		return archive_fail(sv, path, err);
	return 0;
}

static int write_json(struct saver *sv, const char *path, json_t *doc, husk_error **err)
{
	cleanup_free char *data = json_dumps(doc, JSON_COMPACT);

	if (data == NULL)
		return husk_error_set(err, ENOMEM, "save");
	if (write_header(sv, path, AE_IFREG, (int64_t)strlen(data), err) < 0)
		return -1;
	return write_data(sv, path, data, strlen(data), err);
}

static int check_copied(const char *path, struct hasher *h, const char *expected, int64_t left,
			husk_error **err)
{
	char actual[HUSK_DIGEST_LEN + 1];

	if (left != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: the blob changed size", path);
	hasher_final(h, actual);
	if (strcmp(actual, expected) != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "`%s`: the store's blob is corrupt: %s, not %s", path,
				       actual, expected);
	return 0;
}

/* A stored blob, as is, hashed on the way. */
static int write_blob(struct saver *sv, const char *path, const char *digest, husk_error **err)
{
	cleanup_hasher struct hasher h = {NULL};
	cleanup_close int fd = -1;
	int64_t size, left;

	if (is_written(sv, path))
		return 0;
	if (mark_written(sv, path, err) < 0 || hasher_init(&h, err) < 0 ||
	    husk_store_open_blob(sv->s, digest, &fd, err) < 0 ||
	    blob_size(sv->s, digest, &size, err) < 0 ||
	    write_header(sv, path, AE_IFREG, size, err) < 0)
		return -1;
	for (left = size; left > 0;) {
		ssize_t n = read(fd, sv->buf, left < COPY_BUF ? (size_t)left : COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_set(err, errno, "read blob %s", digest);
		if (n == 0)
			break;
		hasher_update(&h, sv->buf, (size_t)n);
		if (write_data(sv, path, sv->buf, (size_t)n, err) < 0)
			return -1;
		left -= n;
	}
	return check_copied(path, &h, digest, left, err);
}

static void layer_reader_freep(struct layer_reader **r)
{
	layer_reader_free(*r);
}

/* A compressed layer blob, decompressed: a first pass tells the size the tar
 * header needs, the second writes. */
static int write_decompressed(struct saver *sv, const char *path, const struct husk_layer *l,
			      husk_error **err)
{
	__attribute__((cleanup(layer_reader_freep))) struct layer_reader *r = NULL;
	cleanup_hasher struct hasher h = {NULL};
	char diff_id[HUSK_DIGEST_LEN + 1];
	int64_t size, left;
	ssize_t n;

	if (layer_blob_diff_id(sv->s, l->digest, diff_id, &size, err) < 0)
		return -1;
	if (strcmp(diff_id, l->diff_id) != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "layer %s: its content is %s, not the DiffID %s", l->digest,
				       diff_id, l->diff_id);
	if (hasher_init(&h, err) < 0 || layer_reader_open(sv->s, l->digest, &r, err) < 0 ||
	    write_header(sv, path, AE_IFREG, size, err) < 0)
		return -1;
	for (left = size; left > 0; left -= n) {
		n = layer_reader_read(r, sv->buf, left < COPY_BUF ? (size_t)left : COPY_BUF, err);
		if (n <= 0)
			return n < 0 ? -1 : check_copied(path, &h, l->diff_id, left, err);
		hasher_update(&h, sv->buf, (size_t)n);
		if (write_data(sv, path, sv->buf, (size_t)n, err) < 0)
			return -1;
	}
	return check_copied(path, &h, l->diff_id, left, err);
}

/* --- docker-archive ------------------------------------------------------ */

static int docker_write_layer(struct saver *sv, const struct husk_layer *l, char **ret_path,
			      husk_error **err)
{
	cleanup_free char *dir = NULL, *path = NULL;
	const char *media = NULL;

	if (asprintf(&dir, "%s/", digest_hex(l->diff_id)) < 0 ||
	    asprintf(&path, "%slayer.tar", dir) < 0)
		return husk_error_set(err, ENOMEM, "save");
	if (write_dir(sv, dir, err) < 0)
		return -1;
	if (!is_written(sv, path)) {
		if (blob_layer_media_type(sv->s, l->digest, &media, err) < 0)
			return -1;
		/* an uncompressed layer's blob is its DiffID's content */
		if (strcmp(media, MEDIA_OCI_LAYER) == 0 && strcmp(l->digest, l->diff_id) == 0) {
			if (write_blob(sv, path, l->digest, err) < 0)
				return -1;
		} else if (mark_written(sv, path, err) < 0 ||
			   write_decompressed(sv, path, l, err) < 0) {
			return -1;
		}
	}
	*ret_path = steal_pointer(&path);
	return 0;
}

static json_t *strv_to_json(char **v)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && v != NULL && v[i]; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* repositories: {"busybox": {"latest": "<top layer>"}}, as docker's. */
static int docker_add_repositories(json_t *repos, const struct save_image *si, husk_error **err)
{
	const struct husk_image *img = si->img;
	const char *top = img->n_layers ? digest_hex(img->layers[img->n_layers - 1].diff_id) : "";

	for (size_t i = 0; si->names != NULL && si->names[i]; i++) {
		cleanup_free char *repo = strdup(si->names[i]);
		char *colon = repo ? strrchr(repo, ':') : NULL;
		json_t *tags;
		if (colon == NULL)
			return husk_error_set(err, ENOMEM, "save");
		*colon = '\0';
		tags = json_object_get(repos, repo);
		if (tags == NULL && (json_object_set_new(repos, repo, tags = json_object()) < 0))
			return husk_error_set(err, ENOMEM, "save");
		if (json_object_set_new(tags, colon + 1, json_string(top)) < 0)
			return husk_error_set(err, ENOMEM, "save");
	}
	return 0;
}

static int docker_write_image(struct saver *sv, const struct save_image *si, json_t *manifest,
			      husk_error **err)
{
	const struct husk_image *img = si->img;
	cleanup_json json_t *layers = json_array();
	cleanup_free char *config = NULL;
	json_t *item;

	if (layers == NULL || asprintf(&config, "%s.json", digest_hex(img->id)) < 0)
		return husk_error_set(err, ENOMEM, "save");
	for (size_t i = 0; i < img->n_layers; i++) {
		char *path = NULL;
		if (docker_write_layer(sv, &img->layers[i], &path, err) < 0)
			return husk_error_wrap(err, "image %s", img->id);
		if (json_array_append_new(layers, json_string(path)) < 0) {
			free(path);
			return husk_error_set(err, ENOMEM, "save");
		}
		free(path);
	}
	if (write_blob(sv, config, img->id, err) < 0)
		return -1;
	item = json_pack("{s:s, s:o, s:O}", "Config", config, "RepoTags",
			 si->names ? strv_to_json(si->names) : json_null(), "Layers", layers);
	if (item == NULL || json_array_append_new(manifest, item) < 0)
		return husk_error_set(err, ENOMEM, "save");
	return 0;
}

static int docker_write(struct saver *sv, husk_error **err)
{
	cleanup_json json_t *manifest = json_array(), *repos = json_object();

	if (manifest == NULL || repos == NULL)
		return husk_error_set(err, ENOMEM, "save");
	for (size_t i = 0; i < sv->n_images; i++)
		if (docker_write_image(sv, &sv->images[i], manifest, err) < 0 ||
		    docker_add_repositories(repos, &sv->images[i], err) < 0)
			return -1;
	if (write_json(sv, "manifest.json", manifest, err) < 0)
		return -1;
	return json_object_size(repos) ? write_json(sv, "repositories", repos, err) : 0;
}

/* --- oci-archive --------------------------------------------------------- */

static int oci_write_blob(struct saver *sv, const char *digest, husk_error **err)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "blobs/sha256/%s", digest_hex(digest)) < 0)
		return husk_error_set(err, ENOMEM, "save");
	return write_blob(sv, path, digest, err);
}

static json_t *oci_index_entry(struct saver *sv, const struct husk_image *img, const char *name,
			       husk_error **err)
{
	json_t *d;
	int64_t size;

	if (blob_size(sv->s, img->manifest_digest, &size, err) < 0)
		return NULL;
	d = manifest_descriptor(img->media_type, img->manifest_digest, size);
	if (d != NULL && name != NULL &&
	    json_object_set_new(d, "annotations",
				json_pack("{s:s, s:s}", "io.containerd.image.name", name,
					  "org.opencontainers.image.ref.name", name)) < 0) {
		json_decref(d);
		d = NULL;
	}
	if (d == NULL)
		husk_error_set(err, ENOMEM, "save");
	return d;
}

static int oci_write_image(struct saver *sv, const struct save_image *si, json_t *manifests,
			   husk_error **err)
{
	const struct husk_image *img = si->img;
	size_t n = strv_length(si->names);

	for (size_t i = 0; i < img->n_layers; i++)
		if (oci_write_blob(sv, img->layers[i].digest, err) < 0)
			return husk_error_wrap(err, "image %s", img->id);
	if (oci_write_blob(sv, img->id, err) < 0 ||
	    oci_write_blob(sv, img->manifest_digest, err) < 0)
		return -1;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		json_t *d = oci_index_entry(sv, img, n ? si->names[i] : NULL, err);
		if (d == NULL)
			return -1;
		if (json_array_append_new(manifests, d) < 0)
			return husk_error_set(err, ENOMEM, "save");
	}
	return 0;
}

static int oci_write(struct saver *sv, husk_error **err)
{
	cleanup_json json_t *layout = json_pack("{s:s}", "imageLayoutVersion", "1.0.0");
	cleanup_json json_t *manifests = json_array(), *index = NULL;

	if (layout == NULL || manifests == NULL)
		return husk_error_set(err, ENOMEM, "save");
	if (write_json(sv, "oci-layout", layout, err) < 0 || write_dir(sv, "blobs/", err) < 0 ||
	    write_dir(sv, "blobs/sha256/", err) < 0)
		return -1;
	for (size_t i = 0; i < sv->n_images; i++)
		if (oci_write_image(sv, &sv->images[i], manifests, err) < 0)
			return -1;
	index = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType", MEDIA_OCI_INDEX,
			  "manifests", manifests);
	if (index == NULL)
		return husk_error_set(err, ENOMEM, "save");
	return write_json(sv, "index.json", index, err);
}

/* --- The whole ----------------------------------------------------------- */

static int saver_open(struct saver *sv, int fd, husk_error **err)
{
	sv->written = json_object();
	sv->buf = malloc(COPY_BUF);
	sv->a = archive_write_new();
	if (sv->written == NULL || sv->buf == NULL || sv->a == NULL)
		return husk_error_set(err, ENOMEM, "save");
	/* ustar headers, pax ones only where ustar cannot say it */
	if (archive_write_set_format_pax_restricted(sv->a) != ARCHIVE_OK ||
	    archive_write_open_fd(sv->a, fd) != ARCHIVE_OK)
		return archive_fail(sv, "(archive)", err);
	return 0;
}

int husk_store_save(struct husk_store *s, const char *const *refs, size_t n_refs,
		    enum husk_archive_format format, int fd, husk_error **err)
{
	struct saver sv = {.s = s};
	int r = -1;

	/* `lock` shared: gc cannot take a blob from under the copy. */
	if (store_begin_write(s, err) == 0 && saver_resolve(&sv, refs, n_refs, err) == 0 &&
	    saver_open(&sv, fd, err) == 0 &&
	    (format == HUSK_ARCHIVE_OCI ? oci_write(&sv, err) : docker_write(&sv, err)) == 0) {
		r = archive_write_close(sv.a) == ARCHIVE_OK ? 0 : archive_fail(&sv, "(end)", err);
	}
	saver_clear(&sv, r < 0);
	return r < 0 ? husk_error_wrap(err, "save") : 0;
}
