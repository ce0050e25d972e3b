/* SPDX-License-Identifier: MIT */
/* Image manifests and indexes, OCI's and Docker's schema 2, read from blobs. */
#define _GNU_SOURCE
#include "store_internal.h"

#include <string.h>

void manifest_clear(struct manifest *m)
{
	free(m->media_type);
	free(m->config_digest);
	for (size_t i = 0; i < m->n_layers; i++)
		husk_layer_clear(&m->layers[i]);
	free(m->layers);
	json_decref(m->json);
	*m = (struct manifest){NULL};
}

static bool is_index_type(const char *t)
{
	return t != NULL && (strcmp(t, MEDIA_OCI_INDEX) == 0 || strcmp(t, MEDIA_DOCKER_LIST) == 0);
}

static bool is_manifest_type(const char *t)
{
	return t != NULL &&
	       (strcmp(t, MEDIA_OCI_MANIFEST) == 0 || strcmp(t, MEDIA_DOCKER_MANIFEST) == 0);
}

static bool is_layer_type(const char *t)
{
	static const char *const known[] = {
	    MEDIA_OCI_LAYER,
	    MEDIA_OCI_LAYER_GZIP,
	    MEDIA_OCI_LAYER_ZSTD,
	    MEDIA_DOCKER_LAYER,
	    "application/vnd.oci.image.layer.nondistributable.v1.tar",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(t, known[i]) == 0)
			return true;
	return false;
}

/* The manifest's media type; OCI lets it be absent and then the shape tells. */
static const char *manifest_media_type(json_t *j)
{
	const char *t = json_string_value(json_object_get(j, "mediaType"));

	if (t != NULL)
		return t;
	if (json_is_array(json_object_get(j, "manifests")))
		return MEDIA_OCI_INDEX;
	if (json_is_object(json_object_get(j, "config")))
		return MEDIA_OCI_MANIFEST;
	return NULL;
}

json_t *manifest_descriptor(const char *media_type, const char *digest, int64_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
			 (json_int_t)size);
}

/* A descriptor {mediaType, digest, size}. */
static int descriptor_parse(json_t *d, const char *what, const char **ret_type,
			    const char **ret_digest, int64_t *ret_size, husk_error **err)
{
	json_t *size = json_object_get(d, "size");
	const char *digest = json_string_value(json_object_get(d, "digest"));

	if (!json_is_object(d) || !json_is_integer(size) || json_integer_value(size) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: not a descriptor", what);
	if (digest_check(digest, what, err) < 0)
		return -1;
	*ret_type = json_string_value(json_object_get(d, "mediaType"));
	*ret_digest = digest;
	*ret_size = json_integer_value(size);
	return 0;
}

static int layer_from_descriptor(json_t *d, size_t i, struct husk_layer *ret, husk_error **err)
{
	const char *type, *digest;
	char what[64];
	int64_t size;

	snprintf(what, sizeof(what), "layer %zu", i);
	if (descriptor_parse(d, what, &type, &digest, &size, err) < 0)
		return -1;
	if (type == NULL || !is_layer_type(type))
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "%s: media type `%s`", what,
				       type ? type : "(none)");
	ret->digest = strdup(digest);
	ret->media_type = strdup(type);
	ret->size = size;
	if (ret->digest == NULL || ret->media_type == NULL)
		return husk_error_set(err, ENOMEM, "manifest");
	return 0;
}

static int manifest_parse_layers(json_t *layers, struct manifest *m, husk_error **err)
{
	size_t n = json_array_size(layers);

	if (!json_is_array(layers))
		return husk_error_fail(err, HUSK_ERR_INVALID, "no \"layers\" array");
	m->layers = calloc(n ? n : 1, sizeof(*m->layers));
	if (m->layers == NULL)
		return husk_error_set(err, ENOMEM, "manifest");
	for (size_t i = 0; i < n; i++) {
		if (layer_from_descriptor(json_array_get(layers, i), i, &m->layers[i], err) < 0)
			return -1;
		m->n_layers = i + 1;
	}
	return 0;
}

static int manifest_parse(json_t *j, struct manifest *m, husk_error **err)
{
	const char *type = manifest_media_type(j), *ctype, *cdigest;

	if (!is_manifest_type(type))
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "not an image manifest: `%s`",
				       type ? type : "(no media type)");
	if (json_integer_value(json_object_get(j, "schemaVersion")) != 2)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "schemaVersion is not 2");
	if (descriptor_parse(json_object_get(j, "config"), "config", &ctype, &cdigest,
			     &m->config_size, err) < 0)
		return -1;
	if (ctype != NULL && strcmp(ctype, MEDIA_OCI_CONFIG) != 0 &&
	    strcmp(ctype, MEDIA_DOCKER_CONFIG) != 0)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "config media type `%s`", ctype);
	m->media_type = strdup(type);
	m->config_digest = strdup(cdigest);
	if (m->media_type == NULL || m->config_digest == NULL)
		return husk_error_set(err, ENOMEM, "manifest");
	return manifest_parse_layers(json_object_get(j, "layers"), m, err);
}

int manifest_load(struct husk_store *s, const char *digest, struct manifest *ret, husk_error **err)
{
	struct manifest m = {NULL};

	if (blob_read_json(s, digest, MANIFEST_MAX, &m.json, err) < 0)
		return husk_error_wrap(err, "manifest");
	if (manifest_parse(m.json, &m, err) < 0) {
		manifest_clear(&m);
		return husk_error_wrap(err, "manifest %s", digest);
	}
	*ret = m;
	return 0;
}

static bool platform_matches(json_t *platform)
{
	const char *os = json_string_value(json_object_get(platform, "os"));
	const char *arch = json_string_value(json_object_get(platform, "architecture"));

	return os != NULL && arch != NULL && strcmp(os, "linux") == 0 &&
	       strcmp(arch, store_host_arch()) == 0;
}

static int index_pick(json_t *j, const char *digest, char **ret, husk_error **err)
{
	json_t *manifests = json_object_get(j, "manifests"), *d;
	size_t i;

	json_array_foreach (manifests, i, d) {
		const char *type, *child;
		int64_t size;
		if (!platform_matches(json_object_get(d, "platform")))
			continue;
		if (descriptor_parse(d, "index entry", &type, &child, &size, err) < 0)
			return husk_error_wrap(err, "index %s", digest);
		if (type != NULL && !is_manifest_type(type))
			continue;
		*ret = strdup(child);
		return *ret ? 0 : husk_error_set(err, ENOMEM, "index");
	}
	return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "index %s has no image for linux/%s",
			       digest, store_host_arch());
}

int manifest_select_platform(struct husk_store *s, const char *digest, char **ret, husk_error **err)
{
	cleanup_json json_t *j = NULL;
	cleanup_free char *child = NULL;

	if (blob_read_json(s, digest, MANIFEST_MAX, &j, err) < 0)
		return husk_error_wrap(err, "manifest");
	if (!is_index_type(manifest_media_type(j))) {
		*ret = strdup(digest);
		return *ret ? 0 : husk_error_set(err, ENOMEM, "manifest");
	}
	if (index_pick(j, digest, &child, err) < 0)
		return -1;
	if (!husk_store_has_blob(s, child))
		return husk_error_fail(
		    err, HUSK_ERR_NOT_FOUND,
		    "index %s: the manifest for linux/%s (%s) is not in the store", digest,
		    store_host_arch(), child);
	*ret = steal_pointer(&child);
	return 0;
}
