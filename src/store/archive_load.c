/* SPDX-License-Identifier: MIT */
/*
 * `load`: a docker-archive or an oci-archive (see archive_save.c) read as a
 * stream with libarchive, whichever it is and in whatever order its files
 * come. Every regular file goes into a blob as it is read (one named
 * blobs/sha256/<hex> is verified against that digest and its declared size);
 * manifest.json, index.json and oci-layout are kept in memory. Only at the
 * end does the layout say which blobs make which images: each is checked,
 * its layers unpacked, and then all of them are recorded in images.json in
 * one change. Until that last step nothing names an image: a corrupt archive
 * or a killed load leaves the index as it was, and the blobs it wrote are
 * garbage for gc. Files are never written from an archive path: paths are
 * only keys, so no entry can reach outside the store.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#define COPY_BUF	(1 << 17)
#define MAX_LINKS	16
#define OCI_REF_NAME	"org.opencontainers.image.ref.name"
#define CONTAINERD_NAME "io.containerd.image.name"

struct loader {
	struct husk_store *s;
	struct archive *a;
	json_t *files; /* path → {"digest", "size"} or {"link": path} */
	json_t *docs;  /* manifest.json, index.json, oci-layout, parsed */
	char *buf;     /* COPY_BUF bytes */
};

/* An image to record: a manifest (or an index) in the store, its names. */
struct pending {
	char *digest;
	char **names; /* normalized; NULL when none */
	struct husk_image *img;
};

struct pendings {
	struct pending *v;
	size_t n;
};

void husk_load_result_clear(struct husk_load_result *r)
{
	strv_free(r->names);
	strv_free(r->ids);
	*r = (struct husk_load_result){NULL};
}

static void pendings_clear(struct pendings *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].digest);
		strv_free(p->v[i].names);
		husk_image_free(p->v[i].img);
	}
	free(p->v);
	*p = (struct pendings){NULL};
}

/* --- Names --------------------------------------------------------------- */

/* docker.io/library/busybox:latest → busybox:latest, as Docker shows it. */
static int familiar_name(const char *raw, char **ret, husk_error **err)
{
	static const char *const prefixes[] = {"docker.io/library/", "docker.io/"};
	const char *name = raw;

	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(raw, prefixes[i], strlen(prefixes[i])) == 0) {
			name = raw + strlen(prefixes[i]);
			break;
		}
	return husk_store_normalize_name(name, ret, err);
}

static int pending_add(struct pendings *p, const char *digest, const char *raw_name,
		       husk_error **err)
{
	cleanup_free char *name = NULL;
	struct pending *found = NULL, *grown;

	if (raw_name != NULL && familiar_name(raw_name, &name, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n && found == NULL; i++)
		if (strcmp(p->v[i].digest, digest) == 0)
			found = &p->v[i];
	if (found == NULL) {
		grown = realloc(p->v, (p->n + 1) * sizeof(*p->v));
		if (grown == NULL)
			return husk_error_set(err, ENOMEM, "load");
		p->v = grown;
		found = &p->v[p->n];
		*found = (struct pending){.digest = strdup(digest)};
		if (found->digest == NULL)
			return husk_error_set(err, ENOMEM, "load");
		p->n++;
	}
	if (name != NULL && !strv_contains(found->names, name) &&
	    strv_append(&found->names, steal_pointer(&name)) < 0)
		return husk_error_set(err, ENOMEM, "load");
	return 0;
}

/* --- Paths and files ----------------------------------------------------- */

/* path with "", "." and ".." components resolved, from base (a directory of
 * the archive, "" for its root) unless it is absolute; NULL when it climbs
 * out of the archive. */
static char *path_clean(const char *base, const char *path)
{
	size_t cap = strlen(base) + strlen(path) + 2, len = 0;
	cleanup_free char *joined = NULL;
	char *out = calloc(1, cap), *save = NULL;

	if (out == NULL || asprintf(&joined, "%s/%s", path[0] == '/' ? "" : base, path) < 0) {
		free(out);
		return NULL;
	}
	for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			char *slash;
			if (len == 0) {
				free(out);
				return NULL;
			}
			slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "/" : "", c);
	}
	return out;
}

/* The directory of a cleaned path ("" at the root). */
static char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strndup(path, slash ? (size_t)(slash - path) : 0);
}

static int file_link(struct loader *l, const char *path, const char *target, husk_error **err)
{
	if (json_object_set_new(l->files, path, json_pack("{s:s}", "link", target)) < 0)
		return husk_error_set(err, ENOMEM, "load");
	return 0;
}

/* The blob holding the file at path, symlinks and hardlinks followed. */
static int file_blob(struct loader *l, const char *path, const char **ret_digest, int64_t *ret_size,
		     husk_error **err)
{
	json_t *f = json_object_get(l->files, path);

	for (int hops = 0; f != NULL && json_object_get(f, "link") != NULL; hops++) {
		if (hops == MAX_LINKS)
			return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: too many links", path);
		f = json_object_get(l->files, json_string_value(json_object_get(f, "link")));
	}
	if (f == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s` is not in the archive", path);
	*ret_digest = json_string_value(json_object_get(f, "digest"));
	if (ret_size != NULL)
		*ret_size = json_integer_value(json_object_get(f, "size"));
	return 0;
}

/* --- Reading the stream -------------------------------------------------- */

static int archive_fail(struct loader *l, husk_error **err)
{
	const char *msg = archive_error_string(l->a);

	return husk_error_fail(err, HUSK_ERR_INVALID, "the archive is corrupt or truncated: %s",
			       msg ? msg : "read error");
}

static bool is_doc(const char *path)
{
	return strcmp(path, "manifest.json") == 0 || strcmp(path, "index.json") == 0 ||
	       strcmp(path, "oci-layout") == 0;
}

/* What only the Docker of before 1.10 read: repositories, <id>/json and
 * <id>/VERSION. Not kept (they would be blobs for gc to remove). */
static bool is_legacy(const char *path)
{
	const char *slash = strchr(path, '/');

	if (slash == NULL)
		return strcmp(path, "repositories") == 0;
	return strchr(slash + 1, '/') == NULL &&
	       (strcmp(slash + 1, "json") == 0 || strcmp(slash + 1, "VERSION") == 0);
}

/* blobs/sha256/<hex>: the digest the content must have. */
static char *named_digest(const char *path)
{
	static const char prefix[] = "blobs/sha256/";
	char *digest = NULL;

	if (strncmp(path, prefix, strlen(prefix)) != 0 ||
	    asprintf(&digest, "sha256:%s", path + strlen(prefix)) < 0)
		return NULL;
	if (!husk_digest_valid(digest)) {
		free(digest);
		return NULL;
	}
	return digest;
}

static int read_doc(struct loader *l, const char *path, int64_t size, husk_error **err)
{
	cleanup_free char *data = NULL;
	json_error_t jerr;
	size_t len = 0;
	json_t *j;

	if (size < 0 || size > (int64_t)MANIFEST_MAX)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: too large", path);
	data = malloc((size_t)size + 1);
	if (data == NULL)
		return husk_error_set(err, ENOMEM, "load");
	while (len < (size_t)size) {
		la_ssize_t n = archive_read_data(l->a, data + len, (size_t)size - len);
		if (n < 0)
			return archive_fail(l, err);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	j = json_loadb(data, len, 0, &jerr);
	if (j == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: not JSON: %s", path,
				       jerr.text);
	if (json_object_set_new(l->docs, path, j) < 0)
		return husk_error_set(err, ENOMEM, "load");
	return 0;
}

static void blob_writer_freep(struct husk_blob_writer **w)
{
	husk_blob_writer_free(*w);
}

/* The entry's data into a blob, verified when its name is a digest (the
 * blob writer's errors then name that digest). */
static int read_blob(struct loader *l, const char *path, int64_t size, husk_error **err)
{
	__attribute__((cleanup(blob_writer_freep))) struct husk_blob_writer *w = NULL;
	cleanup_free char *expected = named_digest(path), *digest = NULL;
	int64_t written = 0;
	la_ssize_t n;

	if (husk_blob_writer_new(l->s, expected, size, &w, err) < 0)
		goto fail;
	while ((n = archive_read_data(l->a, l->buf, COPY_BUF)) > 0)
		if (husk_blob_writer_write(w, l->buf, (size_t)n, err) < 0)
			goto fail;
	if (n < 0)
		return archive_fail(l, err);
	if (husk_blob_writer_commit(w, &digest, &written, err) < 0)
		goto fail;
	if (json_object_set_new(
		l->files, path,
		json_pack("{s:s, s:I}", "digest", digest, "size", (json_int_t)written)) < 0)
		return husk_error_set(err, ENOMEM, "load");
	return 0;
fail:
	return expected ? -1 : husk_error_wrap(err, "`%s`", path);
}

static int read_link(struct loader *l, struct archive_entry *e, const char *path, husk_error **err)
{
	const char *hard = archive_entry_hardlink(e);
	cleanup_free char *dir = path_dir(path), *target = NULL;

	if (dir == NULL)
		return husk_error_set(err, ENOMEM, "load");
	/* a hardlink names an archive path; a symlink, one relative to itself */
	target = hard ? path_clean("", hard) : path_clean(dir, archive_entry_symlink(e));
	if (target == NULL)
		return 0; /* a link out of the archive leads to no file of it */
	return file_link(l, path, target, err);
}

static int read_entry(struct loader *l, struct archive_entry *e, husk_error **err)
{
	const char *raw = archive_entry_pathname(e);
	cleanup_free char *path = raw ? path_clean("", raw) : NULL;
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;

	if (path == NULL || path[0] == '\0')
		return 0; /* the root, or a path out of the archive: no file of it */
	if (archive_entry_hardlink(e) != NULL ||
	    (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e) != NULL))
		return read_link(l, e, path, err);
	if (archive_entry_filetype(e) != AE_IFREG || is_legacy(path))
		return 0;
	return is_doc(path) ? read_doc(l, path, size, err) : read_blob(l, path, size, err);
}

static int loader_read(struct loader *l, int fd, husk_error **err)
{
	struct archive_entry *e;
	int r;

	l->files = json_object();
	l->docs = json_object();
	l->buf = malloc(COPY_BUF);
	l->a = archive_read_new();
	if (l->files == NULL || l->docs == NULL || l->buf == NULL || l->a == NULL)
		return husk_error_set(err, ENOMEM, "load");
	archive_read_support_filter_all(l->a); /* `docker save | gzip` */
	archive_read_support_format_tar(l->a);
	archive_read_support_format_empty(l->a);
	if (archive_read_open_fd(l->a, fd, COPY_BUF) != ARCHIVE_OK)
		return archive_fail(l, err);
	while ((r = archive_read_next_header(l->a, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return archive_fail(l, err);
		if (read_entry(l, e, err) < 0)
			return -1;
	}
	return 0;
}

/* --- docker-archive ------------------------------------------------------ */

/* An uncompressed layer's blob is its DiffID's content; a compressed one is
 * decompressed to check. */
static int docker_check_layer(struct loader *l, const char *path, const char *digest,
			      const char *diff_id, const char **ret_media, husk_error **err)
{
	char actual[HUSK_DIGEST_LEN + 1];

	if (blob_layer_media_type(l->s, digest, ret_media, err) < 0)
		return husk_error_wrap(err, "layer `%s`", path);
	if (strcmp(*ret_media, MEDIA_OCI_LAYER) == 0)
		snprintf(actual, sizeof(actual), "%s", digest);
	else if (layer_blob_diff_id(l->s, digest, actual, NULL, err) < 0)
		return husk_error_wrap(err, "layer `%s`", path);
	if (strcmp(actual, diff_id) != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "layer `%s`: digest mismatch: its content is %s, the "
				       "config's DiffID %s",
				       path, actual, diff_id);
	return 0;
}

static int docker_layers(struct loader *l, json_t *paths, json_t *diff_ids, json_t *out,
			 husk_error **err)
{
	size_t n = json_array_size(paths);

	if (!json_is_array(paths) || !json_is_array(diff_ids) || json_array_size(diff_ids) != n)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "manifest.json: Layers do not match the config's "
				       "rootfs.diff_ids");
	for (size_t i = 0; i < n; i++) {
		const char *path = json_string_value(json_array_get(paths, i)), *digest, *media;
		const char *diff_id = json_string_value(json_array_get(diff_ids, i));
		cleanup_free char *clean = path ? path_clean("", path) : NULL;
		int64_t size;
		if (clean == NULL)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "manifest.json: layer %zu: a bad path", i + 1);
		if (digest_check(diff_id, "config: rootfs.diff_ids", err) < 0 ||
		    file_blob(l, clean, &digest, &size, err) < 0 ||
		    docker_check_layer(l, clean, digest, diff_id, &media, err) < 0)
			return -1;
		if (json_array_append_new(out, manifest_descriptor(media, digest, size)) < 0)
			return husk_error_set(err, ENOMEM, "load");
	}
	return 0;
}

/* The manifest a docker-archive leaves implicit, written as an OCI one: the
 * same bytes as husk_store_create_image() writes for the same blobs. */
static int docker_manifest(struct loader *l, json_t *item, char **ret_digest, husk_error **err)
{
	const char *config_path = json_string_value(json_object_get(item, "Config")), *config;
	cleanup_free char *clean = config_path ? path_clean("", config_path) : NULL;
	cleanup_json json_t *doc = NULL, *cfg = NULL, *layers = json_array();
	int64_t config_size;

	if (layers == NULL)
		return husk_error_set(err, ENOMEM, "load");
	if (clean == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "manifest.json: no Config");
	if (file_blob(l, clean, &config, &config_size, err) < 0 ||
	    blob_read_json(l->s, config, CONFIG_MAX, &cfg, err) < 0 ||
	    docker_layers(l, json_object_get(item, "Layers"),
			  json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), layers,
			  err) < 0)
		return -1;
	doc = json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", MEDIA_OCI_MANIFEST,
			"config", manifest_descriptor(MEDIA_OCI_CONFIG, config, config_size),
			"layers", layers);
	if (doc == NULL)
		return husk_error_set(err, ENOMEM, "load");
	return blob_write_json(l->s, doc, ret_digest, NULL, err);
}

static int docker_images(struct loader *l, json_t *manifest, struct pendings *p, husk_error **err)
{
	json_t *item, *tag;
	size_t i, t;

	if (!json_is_array(manifest))
		return husk_error_fail(err, HUSK_ERR_INVALID, "manifest.json: not an array");
	json_array_foreach (manifest, i, item) {
		cleanup_free char *digest = NULL;
		json_t *tags = json_object_get(item, "RepoTags");
		if (docker_manifest(l, item, &digest, err) < 0 ||
		    pending_add(p, digest, NULL, err) < 0)
			return husk_error_wrap(err, "image %zu of manifest.json", i + 1);
		json_array_foreach (tags, t, tag) {
			if (!json_is_string(tag))
				return husk_error_fail(
				    err, HUSK_ERR_INVALID,
				    "manifest.json: RepoTags holds a non-string");
			if (pending_add(p, digest, json_string_value(tag), err) < 0)
				return husk_error_wrap(err, "manifest.json: RepoTags");
		}
	}
	return 0;
}

/* --- oci-archive --------------------------------------------------------- */

/* The name an index entry gives: containerd's annotation, or a ref.name that
 * is a whole reference (a bare tag such as "latest" names no repository). */
static const char *oci_entry_name(json_t *d)
{
	json_t *ann = json_object_get(d, "annotations");
	const char *name = json_string_value(json_object_get(ann, CONTAINERD_NAME));
	const char *ref = json_string_value(json_object_get(ann, OCI_REF_NAME));

	if (name != NULL)
		return name;
	if (ref != NULL && (strchr(ref, ':') != NULL || strchr(ref, '/') != NULL))
		return ref;
	return NULL;
}

static int oci_entry(struct loader *l, json_t *d, size_t i, struct pendings *p, husk_error **err)
{
	const char *digest = json_string_value(json_object_get(d, "digest"));
	json_t *size = json_object_get(d, "size");
	int64_t actual;

	if (digest_check(digest, "index.json", err) < 0)
		return -1;
	if (!husk_store_has_blob(l->s, digest))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "index.json: manifest %s is not in the archive", digest);
	if (blob_size(l->s, digest, &actual, err) < 0)
		return -1;
	if (!json_is_integer(size) || json_integer_value(size) != actual)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "index.json: manifest %s: %lld bytes, the index says %lld",
				       digest, (long long)actual,
				       (long long)json_integer_value(size));
	if (pending_add(p, digest, oci_entry_name(d), err) < 0)
		return husk_error_wrap(err, "index.json: entry %zu", i + 1);
	return 0;
}

static int oci_images(struct loader *l, json_t *index, struct pendings *p, husk_error **err)
{
	json_t *layout = json_object_get(l->docs, "oci-layout");
	json_t *manifests = json_object_get(index, "manifests"), *d;
	size_t i;

	if (layout != NULL && !json_is_string(json_object_get(layout, "imageLayoutVersion")))
		return husk_error_fail(err, HUSK_ERR_INVALID, "oci-layout: no imageLayoutVersion");
	if (!json_is_array(manifests))
		return husk_error_fail(err, HUSK_ERR_INVALID, "index.json: no manifests array");
	json_array_foreach (manifests, i, d) {
		if (oci_entry(l, d, i, p, err) < 0)
			return -1;
	}
	return 0;
}

/* --- Recording ----------------------------------------------------------- */

static int record_all(struct husk_store *s, struct pendings *p, husk_error **err)
{
	cleanup_free struct image_record *list = calloc(p->n ? p->n : 1, sizeof(*list));

	if (list == NULL)
		return husk_error_set(err, ENOMEM, "load");
	if (p->n == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "the archive holds no image");
	for (size_t i = 0; i < p->n; i++) {
		if (image_prepare(s, p->v[i].digest, &p->v[i].img, err) < 0)
			return husk_error_wrap(err, "image %s", p->v[i].digest);
		list[i] = (struct image_record){.img = p->v[i].img,
						.names = (const char *const *)p->v[i].names};
	}
	return image_record(s, list, p->n, err);
}

static int append_copy(char ***v, const char *s)
{
	char *copy = strdup(s);

	return copy != NULL ? strv_append(v, copy) : -ENOMEM;
}

static int result_fill(struct pendings *p, struct husk_load_result *ret, husk_error **err)
{
	struct husk_load_result out = {NULL};

	for (size_t i = 0; i < p->n; i++) {
		for (size_t t = 0; p->v[i].names && p->v[i].names[t]; t++)
			if (append_copy(&out.names, p->v[i].names[t]) < 0)
				goto nomem;
		if (p->v[i].names == NULL && append_copy(&out.ids, p->v[i].img->id) < 0)
			goto nomem;
	}
	store_strv_sort(out.names);
	*ret = out;
	return 0;
nomem:
	husk_load_result_clear(&out);
	return husk_error_set(err, ENOMEM, "load");
}

static void loader_clear(struct loader *l)
{
	if (l->a != NULL)
		archive_read_free(l->a);
	json_decref(l->files);
	json_decref(l->docs);
	free(l->buf);
}

static int load_images(struct loader *l, struct pendings *p, husk_error **err)
{
	json_t *manifest = json_object_get(l->docs, "manifest.json");
	json_t *index = json_object_get(l->docs, "index.json");

	/* Docker 25's archives have both: its manifest.json names the blobs. */
	if (manifest != NULL)
		return docker_images(l, manifest, p, err);
	if (index != NULL)
		return oci_images(l, index, p, err);
	return husk_error_fail(err, HUSK_ERR_INVALID,
			       "not an image archive: no manifest.json (docker-archive) or "
			       "index.json (oci-archive)");
}

int husk_store_load(struct husk_store *s, int fd, struct husk_load_result *ret, husk_error **err)
{
	struct loader l = {.s = s};
	struct pendings p = {NULL};
	int r = -1;

	if (store_begin_write(s, err) == 0 && loader_read(&l, fd, err) == 0 &&
	    load_images(&l, &p, err) == 0 && record_all(s, &p, err) == 0)
		r = result_fill(&p, ret, err);
	pendings_clear(&p);
	loader_clear(&l);
	return r < 0 ? husk_error_wrap(err, "load") : 0;
}
