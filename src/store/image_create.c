/* SPDX-License-Identifier: MIT */
/*
 * New images (`import`, `commit`, the built-in busybox, later `build`): a
 * config and an OCI manifest written as blobs, with the same bytes for the
 * same input (sorted keys, a fixed date unless told), then recorded.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <fcntl.h>
#include <string.h>

#define EPOCH "1970-01-01T00:00:00Z"

/* The new layers as the manifest lists them, sizes and types checked
 * against the store. */
static int new_layer_descriptors(struct husk_store *s, const struct husk_image_create *c,
				 json_t *layers, json_t *diff_ids, husk_error **err)
{
	for (size_t i = 0; i < c->n_layers; i++) {
		const struct husk_layer *l = &c->layers[i];
		int64_t size;
		if (digest_check(l->digest, "new layer", err) < 0 ||
		    digest_check(l->diff_id, "new layer DiffID", err) < 0 ||
		    blob_size(s, l->digest, &size, err) < 0)
			return -1;
		if (json_array_append_new(
			layers, manifest_descriptor(l->media_type ? l->media_type : MEDIA_OCI_LAYER,
						    l->digest, size)) < 0 ||
		    json_array_append_new(diff_ids, json_string(l->diff_id)) < 0)
			return husk_error_set(err, ENOMEM, "image");
	}
	return 0;
}

static int base_layer_descriptors(const struct husk_image *base, json_t *layers, json_t *diff_ids,
				  husk_error **err)
{
	for (size_t i = 0; base != NULL && i < base->n_layers; i++) {
		const struct husk_layer *l = &base->layers[i];
		if (json_array_append_new(
			layers, manifest_descriptor(l->media_type, l->digest, l->size)) < 0 ||
		    json_array_append_new(diff_ids, json_string(l->diff_id)) < 0)
			return husk_error_set(err, ENOMEM, "image");
	}
	return 0;
}

static json_t *history_of(const struct husk_image *base, const struct husk_image_create *c,
			  const char *created)
{
	json_t *old = base ? json_object_get(base->config_json, "history") : NULL;
	json_t *h = json_is_array(old) ? json_deep_copy(old) : json_array();

	for (size_t i = 0; h != NULL && i < c->n_layers; i++) {
		json_t *item = json_pack("{s:s}", "created", created);
		if (item != NULL && c->created_by != NULL)
			json_object_set_new(item, "created_by", json_string(c->created_by));
		if (item != NULL && c->author != NULL)
			json_object_set_new(item, "author", json_string(c->author));
		if (item != NULL && c->comment != NULL)
			json_object_set_new(item, "comment", json_string(c->comment));
		if (item == NULL || json_array_append_new(h, item) < 0) {
			json_decref(h);
			return NULL;
		}
	}
	return h;
}

static json_t *config_object_of(const struct husk_image *base, const struct husk_image_create *c)
{
	json_t *inherited = base ? json_object_get(base->config_json, "config") : NULL;

	if (c->config != NULL)
		return json_deep_copy(c->config);
	if (json_is_object(inherited))
		return json_deep_copy(inherited);
	return json_object();
}

static int write_config(struct husk_store *s, const struct husk_image *base,
			const struct husk_image_create *c, json_t *diff_ids, char **ret_digest,
			int64_t *ret_size, husk_error **err)
{
	const char *created = c->created ? c->created : EPOCH;
	json_t *config = config_object_of(base, c), *history = history_of(base, c, created);
	cleanup_json json_t *doc = NULL;

	if (config == NULL || history == NULL) {
		json_decref(config);
		json_decref(history);
		return husk_error_set(err, ENOMEM, "image config");
	}
	doc = json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:O}, s:o}", "created", created,
			"architecture", store_host_arch(), "os", "linux", "config", config,
			"rootfs", "type", "layers", "diff_ids", diff_ids, "history", history);
	if (doc == NULL)
		return husk_error_set(err, ENOMEM, "image config");
	if (c->author != NULL && json_object_set_new(doc, "author", json_string(c->author)) < 0)
		return husk_error_set(err, ENOMEM, "image config");
	return blob_write_json(s, doc, ret_digest, ret_size, err);
}

static int write_manifest(struct husk_store *s, const char *config_digest, int64_t config_size,
			  json_t *layers, char **ret_digest, husk_error **err)
{
	cleanup_json json_t *doc = json_pack(
	    "{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", MEDIA_OCI_MANIFEST, "config",
	    manifest_descriptor(MEDIA_OCI_CONFIG, config_digest, config_size), "layers", layers);
	int64_t size;

	if (doc == NULL)
		return husk_error_set(err, ENOMEM, "image manifest");
	return blob_write_json(s, doc, ret_digest, &size, err);
}

int husk_store_create_image(struct husk_store *s, const struct husk_image_create *c,
			    char **ret_manifest_digest, husk_error **err)
{
	cleanup_image struct husk_image *base = NULL;
	cleanup_json json_t *layers = json_array(), *diff_ids = json_array();
	cleanup_free char *config = NULL, *manifest = NULL;
	int64_t config_size = 0;

	if (layers == NULL || diff_ids == NULL)
		return husk_error_set(err, ENOMEM, "image");
	if (c->config != NULL && !json_is_object(c->config))
		return husk_error_fail(err, HUSK_ERR_INVALID, "image config: not an object");
	if (c->base != NULL && husk_store_image_get(s, c->base, &base, err) < 0)
		return husk_error_wrap(err, "base image");
	if (base_layer_descriptors(base, layers, diff_ids, err) < 0 ||
	    new_layer_descriptors(s, c, layers, diff_ids, err) < 0 ||
	    write_config(s, base, c, diff_ids, &config, &config_size, err) < 0 ||
	    write_manifest(s, config, config_size, layers, &manifest, err) < 0)
		return -1;
	return husk_store_record_image(s, manifest, c->name, ret_manifest_digest, err);
}

int husk_store_import_dir(struct husk_store *s, int dirfd, const struct husk_pack_opts *pack,
			  const struct husk_image_create *c, char **ret_manifest_digest,
			  husk_error **err)
{
	struct husk_layer layer = {NULL};
	struct husk_image_create with = *c;
	int r;

	if (c->n_layers != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "import: layers given with a directory");
	if (husk_store_pack_dir(s, dirfd, pack, &layer, err) < 0)
		return -1;
	with.layers = &layer;
	with.n_layers = 1;
	r = husk_store_create_image(s, &with, ret_manifest_digest, err);
	husk_layer_clear(&layer);
	return r;
}

int husk_store_import_tar(struct husk_store *s, int fd, const struct husk_image_create *c,
			  char **ret_manifest_digest, husk_error **err)
{
	struct husk_layer layer = {NULL};
	struct husk_image_create with = *c;
	const char *media = NULL;
	int r = -1;

	if (c->n_layers != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "import: layers given with a tar");
	if (husk_store_write_blob_fd(s, fd, NULL, -1, &layer.digest, &layer.size, err) == 0 &&
	    blob_layer_media_type(s, layer.digest, &media, err) == 0 &&
	    husk_store_unpack_layer(s, layer.digest, NULL, &layer.diff_id, NULL, err) == 0) {
		layer.media_type = strdup(media);
		with.layers = &layer;
		with.n_layers = 1;
		r = layer.media_type ? husk_store_create_image(s, &with, ret_manifest_digest, err)
				     : husk_error_set(err, ENOMEM, "import");
	}
	husk_layer_clear(&layer);
	return r < 0 ? husk_error_wrap(err, "import") : 0;
}
