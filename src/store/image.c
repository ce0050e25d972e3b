/* SPDX-License-Identifier: MIT */
/* Images: loading one, listing, tagging, removing, and recording new ones. */
#define _GNU_SOURCE
#include "store_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void husk_image_free(struct husk_image *img)
{
	if (img == NULL)
		return;
	free(img->id);
	free(img->manifest_digest);
	free(img->media_type);
	strv_free(img->tags);
	free(img->created);
	free(img->os);
	free(img->architecture);
	image_config_clear(&img->config);
	for (size_t i = 0; i < img->n_layers; i++)
		husk_layer_clear(&img->layers[i]);
	free(img->layers);
	json_decref(img->config_json);
	json_decref(img->manifest_json);
	free(img);
}

static void layer_set_path(struct husk_store *s, struct husk_layer *l)
{
	struct stat st;

	if (l->diff_id != NULL &&
	    fstatat(s->layersfd, digest_hex(l->diff_id), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		l->path = husk_store_layer_path(s, l->diff_id);
}

int image_load(struct husk_store *s, const char *manifest_digest, struct husk_image **ret,
	       int64_t *ret_config_size, husk_error **err)
{
	cleanup_image struct husk_image *img = calloc(1, sizeof(*img));
	struct manifest m = {NULL};
	int r;

	if (img == NULL || (img->manifest_digest = strdup(manifest_digest)) == NULL)
		return husk_error_set(err, ENOMEM, "image");
	if (manifest_load(s, manifest_digest, &m, err) < 0)
		return -1;
	img->media_type = steal_pointer(&m.media_type);
	img->manifest_json = steal_pointer(&m.json);
	img->layers = steal_pointer(&m.layers);
	img->n_layers = m.n_layers;
	m.n_layers = 0;
	if (ret_config_size != NULL)
		*ret_config_size = m.config_size;
	r = image_config_load(s, m.config_digest, img, err);
	manifest_clear(&m);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < img->n_layers; i++) {
		img->size += img->layers[i].size;
		layer_set_path(s, &img->layers[i]);
	}
	*ret = steal_pointer(&img);
	return 0;
}

int husk_store_image_get(struct husk_store *s, const char *ref, struct husk_image **ret,
			 husk_error **err)
{
	cleanup_json json_t *index = NULL;
	cleanup_free char *digest = NULL;
	struct husk_image *img = NULL;

	if (index_read(s, &index, err) < 0 || index_resolve(index, ref, &digest, err) < 0 ||
	    image_load(s, digest, &img, NULL, err) < 0)
		return -1;
	img->tags = index_tags_of(index, digest);
	*ret = img;
	return 0;
}

void husk_image_summaries_free(struct husk_image_summary *list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++) {
		free(list[i].id);
		free(list[i].manifest_digest);
		strv_free(list[i].tags);
		free(list[i].created);
	}
	free(list);
}

static int summary_compare(const void *a, const void *b)
{
	const struct husk_image_summary *x = a, *y = b;
	int r = strcmp(x->id, y->id);

	return r != 0 ? r : strcmp(x->manifest_digest, y->manifest_digest);
}

static int summary_fill(json_t *index, const char *manifest, json_t *entry,
			struct husk_image_summary *out, husk_error **err)
{
	const char *config = json_string_value(json_object_get(entry, "config"));
	const char *created = json_string_value(json_object_get(entry, "created"));

	out->id = strdup(config ? config : "");
	out->manifest_digest = strdup(manifest);
	out->created = created ? strdup(created) : NULL;
	out->size = json_integer_value(json_object_get(entry, "size"));
	out->tags = index_tags_of(index, manifest);
	if (out->id == NULL || out->manifest_digest == NULL || (created && out->created == NULL))
		return husk_error_set(err, ENOMEM, "images");
	return 0;
}

int husk_store_list_images(struct husk_store *s, struct husk_image_summary **ret, size_t *ret_n,
			   husk_error **err)
{
	cleanup_json json_t *index = NULL;
	struct husk_image_summary *list;
	const char *manifest;
	json_t *images, *entry;
	size_t n = 0;

	if (index_read(s, &index, err) < 0)
		return -1;
	images = json_object_get(index, "images");
	list = calloc(json_object_size(images) + 1, sizeof(*list));
	if (list == NULL)
		return husk_error_set(err, ENOMEM, "images");
	json_object_foreach (images, manifest, entry) {
		if (summary_fill(index, manifest, entry, &list[n++], err) < 0) {
			husk_image_summaries_free(list, n);
			return -1;
		}
	}
	qsort(list, n, sizeof(*list), summary_compare);
	*ret = list;
	*ret_n = n;
	return 0;
}

/* --- Names --------------------------------------------------------------- */

struct tag_args {
	const char *ref;
	const char *name;
};

static int tag_change(struct husk_store *s, json_t *index, void *arg, husk_error **err)
{
	struct tag_args *a = arg;
	cleanup_free char *digest = NULL;

	if (index_resolve(index, a->ref, &digest, err) < 0)
		return -1;
	if (json_object_set_new(json_object_get(index, "tags"), a->name, json_string(digest)) < 0)
		return husk_error_set(err, ENOMEM, "tag");
	return 1;
}

int husk_store_tag(struct husk_store *s, const char *ref, const char *name, husk_error **err)
{
	cleanup_free char *normalized = NULL;
	struct tag_args a = {.ref = ref};

	if (husk_store_normalize_name(name, &normalized, err) < 0)
		return -1;
	a.name = normalized;
	return index_modify(s, tag_change, &a, err);
}

struct remove_args {
	const char *ref;
	bool force;
	struct husk_removal *out;
};

static int busy_in_use(const char *ref, char **holders, husk_error **err)
{
	size_t more = strv_length(holders) - 1;

	if (more == 0)
		return husk_error_fail(err, HUSK_ERR_BUSY, "image %s is in use by container %s",
				       ref, holders[0]);
	return husk_error_fail(err, HUSK_ERR_BUSY,
			       "image %s is in use by container %s and %zu more", ref, holders[0],
			       more);
}

/* The name goes from the index, and into the report. */
static int untag(json_t *index, const char *name, struct remove_args *a, husk_error **err)
{
	char *copy = strdup(name);

	if (copy == NULL || strv_append(&a->out->untagged, copy) < 0)
		return husk_error_set(err, ENOMEM, "rmi");
	json_object_del(json_object_get(index, "tags"), name);
	return 0;
}

static int delete_image(json_t *index, const char *digest, struct remove_args *a, husk_error **err)
{
	json_t *images = json_object_get(index, "images");
	const char *config =
	    json_string_value(json_object_get(json_object_get(images, digest), "config"));

	a->out->deleted_id = strdup(config ? config : digest);
	if (a->out->deleted_id == NULL)
		return husk_error_set(err, ENOMEM, "rmi");
	json_object_del(images, digest);
	return 0;
}

static int remove_by_name(json_t *index, const char *name, const char *digest, char **holders,
			  struct remove_args *a, husk_error **err)
{
	cleanup_strv char **tags = index_tags_of(index, digest);

	if (strv_length(tags) <= 1 && holders != NULL && !a->force)
		return busy_in_use(a->ref, holders, err);
	if (untag(index, name, a, err) < 0)
		return -1;
	/* Its last name gone, the image goes too, unless something uses it:
	 * then it stays, without a name, as Docker's dangling images. */
	if (strv_length(tags) <= 1 && holders == NULL && delete_image(index, digest, a, err) < 0)
		return -1;
	return 1;
}

static int remove_by_id(json_t *index, const char *digest, char **holders, struct remove_args *a,
			husk_error **err)
{
	cleanup_strv char **tags = index_tags_of(index, digest);

	if (strv_length(tags) > 1 && !a->force)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "image %s has %zu names (%s, ...): remove them by name, or "
				       "force",
				       a->ref, strv_length(tags), tags[0]);
	if (holders != NULL && !a->force)
		return busy_in_use(a->ref, holders, err);
	for (size_t i = 0; tags != NULL && tags[i]; i++)
		if (untag(index, tags[i], a, err) < 0)
			return -1;
	if (holders == NULL && delete_image(index, digest, a, err) < 0)
		return -1;
	return 1;
}

static int remove_change(struct husk_store *s, json_t *index, void *arg, husk_error **err)
{
	struct remove_args *a = arg;
	cleanup_free char *name = NULL, *digest = NULL;
	cleanup_strv char **holders = NULL;
	bool by_name;

	by_name = husk_store_normalize_name(a->ref, &name, NULL) == 0 &&
		  json_object_get(json_object_get(index, "tags"), name) != NULL;
	if (index_resolve(index, a->ref, &digest, err) < 0 ||
	    holds_of(s, digest, &holders, err) < 0)
		return -1;
	if (by_name)
		return remove_by_name(index, name, digest, holders, a, err);
	return remove_by_id(index, digest, holders, a, err);
}

void husk_removal_clear(struct husk_removal *r)
{
	strv_free(r->untagged);
	free(r->deleted_id);
	*r = (struct husk_removal){NULL};
}

int husk_store_rmi(struct husk_store *s, const char *ref, bool force, struct husk_removal *ret,
		   husk_error **err)
{
	struct husk_removal out = {NULL};
	struct remove_args a = {.ref = ref, .force = force, .out = &out};

	if (index_modify(s, remove_change, &a, err) < 0) {
		husk_removal_clear(&out);
		return -1;
	}
	store_strv_sort(out.untagged);
	*ret = out;
	return 0;
}

int husk_store_remove_image(struct husk_store *s, const char *ref, bool force, bool *ret_deleted,
			    husk_error **err)
{
	struct husk_removal r;

	if (husk_store_rmi(s, ref, force, &r, err) < 0)
		return -1;
	if (ret_deleted != NULL)
		*ret_deleted = r.deleted_id != NULL;
	husk_removal_clear(&r);
	return 0;
}

/* --- Recording ----------------------------------------------------------- */

/* Every blob the manifest names is stored, with the size it declares. */
static int image_verify_blobs(struct husk_store *s, const struct husk_image *img,
			      int64_t config_size, husk_error **err)
{
	int64_t size;

	if (blob_size(s, img->id, &size, err) < 0)
		return -1;
	if (size != config_size)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "config %s: %lld bytes, the manifest says %lld", img->id,
				       (long long)size, (long long)config_size);
	for (size_t i = 0; i < img->n_layers; i++) {
		const struct husk_layer *l = &img->layers[i];
		if (blob_size(s, l->digest, &size, err) < 0)
			return husk_error_wrap(err, "layer %zu", i);
		if (size != l->size)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "layer blob %s: %lld bytes, the manifest says %lld",
					       l->digest, (long long)size, (long long)l->size);
	}
	return 0;
}

/* The manifest the index has for an image id (a config digest), if any. */
static const char *index_manifest_of(json_t *index, const char *id)
{
	json_t *entry;
	const char *manifest;

	json_object_foreach (json_object_get(index, "images"), manifest, entry) {
		const char *config = json_string_value(json_object_get(entry, "config"));
		if (config != NULL && strcmp(config, id) == 0)
			return manifest;
	}
	return NULL;
}

/* An image is its config, as Docker's: one whose id the index has already
 * (pulled or loaded with its layers compressed otherwise) keeps its manifest,
 * and the names go to that. */
static int record_one(json_t *index, struct image_record *r, husk_error **err)
{
	const struct husk_image *img = r->img;
	const char *digest = index_manifest_of(index, img->id);
	json_t *entry;

	if (digest == NULL) {
		digest = img->manifest_digest;
		entry = json_pack("{s:s, s:I}", "config", img->id, "size", (json_int_t)img->size);
		if (entry != NULL && img->created != NULL &&
		    json_object_set_new(entry, "created", json_string(img->created)) < 0) {
			json_decref(entry);
			entry = NULL;
		}
		if (entry == NULL ||
		    json_object_set_new(json_object_get(index, "images"), digest, entry) < 0)
			return husk_error_set(err, ENOMEM, INDEX_FILE);
	}
	snprintf(r->recorded, sizeof(r->recorded), "%s", digest);
	for (size_t i = 0; r->names != NULL && r->names[i]; i++)
		if (json_object_set_new(json_object_get(index, "tags"), r->names[i],
					json_string(r->recorded)) < 0)
			return husk_error_set(err, ENOMEM, INDEX_FILE);
	return 0;
}

struct record_args {
	struct image_record *list;
	size_t n;
};

static int record_change(struct husk_store *s, json_t *index, void *arg, husk_error **err)
{
	struct record_args *a = arg;

	for (size_t i = 0; i < a->n; i++)
		if (record_one(index, &a->list[i], err) < 0)
			return -1;
	return 1;
}

int image_record(struct husk_store *s, struct image_record *list, size_t n, husk_error **err)
{
	struct record_args a = {.list = list, .n = n};

	return index_modify(s, record_change, &a, err);
}

int image_prepare(struct husk_store *s, const char *manifest_digest, struct husk_image **ret,
		  husk_error **err)
{
	cleanup_free char *chosen = NULL;
	cleanup_image struct husk_image *img = NULL;
	int64_t config_size = 0;

	if (digest_check(manifest_digest, "manifest", err) < 0 || store_begin_write(s, err) < 0)
		return -1;
	if (manifest_select_platform(s, manifest_digest, &chosen, err) < 0 ||
	    image_load(s, chosen, &img, &config_size, err) < 0 ||
	    image_verify_blobs(s, img, config_size, err) < 0)
		return -1;
	for (size_t i = 0; i < img->n_layers; i++) {
		struct husk_layer *l = &img->layers[i];
		free(l->path);
		l->path = NULL;
		if (husk_store_unpack_layer(s, l->digest, l->diff_id, NULL, &l->path, err) < 0)
			return -1;
	}
	*ret = steal_pointer(&img);
	return 0;
}

int husk_store_record_image(struct husk_store *s, const char *manifest_digest, const char *name,
			    char **ret_manifest_digest, husk_error **err)
{
	cleanup_free char *normalized = NULL;
	cleanup_image struct husk_image *img = NULL;
	const char *names[] = {NULL, NULL};
	struct image_record r;

	if (name != NULL && husk_store_normalize_name(name, &normalized, err) < 0)
		return -1;
	if (image_prepare(s, manifest_digest, &img, err) < 0)
		return -1;
	names[0] = normalized;
	r = (struct image_record){.img = img, .names = names};
	if (image_record(s, &r, 1, err) < 0)
		return -1;
	if (ret_manifest_digest != NULL && (*ret_manifest_digest = strdup(r.recorded)) == NULL)
		return husk_error_set(err, ENOMEM, "image");
	return 0;
}
