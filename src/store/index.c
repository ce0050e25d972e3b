/* SPDX-License-Identifier: MIT */
/*
 * images.json: which images the store has (by manifest digest) and their
 * names. Readers read it without a lock (it is only ever replaced whole);
 * writers change it under index.lock.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <ctype.h>
#include <string.h>

static json_t *index_empty(void)
{
	return json_pack("{s:i, s:{}, s:{}}", "version", 1, "images", "tags");
}

static int index_parse(const char *data, size_t len, json_t **ret, husk_error **err)
{
	json_error_t jerr;
	json_t *j = json_loadb(data, len, 0, &jerr);

	if (j == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       INDEX_FILE " is corrupt: %s (line %d)", jerr.text,
				       jerr.line);
	if (!json_is_object(json_object_get(j, "images")) ||
	    !json_is_object(json_object_get(j, "tags"))) {
		json_decref(j);
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       INDEX_FILE " is corrupt: no \"images\" or \"tags\" object");
	}
	*ret = j;
	return 0;
}

int index_read(struct husk_store *s, json_t **ret, husk_error **err)
{
	cleanup_free char *data = NULL;
	husk_error *read_err = NULL;
	size_t len = 0;

	if (read_file_at(s->rootfd, INDEX_FILE, &data, &len, &read_err) < 0) {
		bool missing = read_err->code == ENOENT;
		if (!missing && err != NULL && *err == NULL)
			*err = steal_pointer(&read_err);
		husk_error_free(&read_err);
		if (!missing)
			return -1;
		*ret = index_empty();
		return *ret ? 0 : husk_error_set(err, ENOMEM, INDEX_FILE);
	}
	return index_parse(data, len, ret, err);
}

static int index_write(struct husk_store *s, json_t *index, husk_error **err)
{
	cleanup_free char *data = json_dumps(index, JSON_SORT_KEYS | JSON_INDENT(1));

	if (data == NULL)
		return husk_error_set(err, ENOMEM, INDEX_FILE);
	return store_write_file_atomic(s->rootfd, INDEX_FILE, data, strlen(data), err);
}

int index_modify(struct husk_store *s, index_change_fn change, void *arg, husk_error **err)
{
	cleanup_close int lockfd = -1;
	cleanup_json json_t *index = NULL;
	int r;

	if (store_begin_write(s, err) < 0 || store_lock_index(s, &lockfd, err) < 0 ||
	    index_read(s, &index, err) < 0)
		return -1;
	r = change(s, index, arg, err);
	if (r <= 0)
		return r;
	return index_write(s, index, err);
}

char **index_tags_of(json_t *index, const char *manifest_digest)
{
	json_t *tags = json_object_get(index, "tags"), *v;
	char **out = NULL;
	const char *name;

	json_object_foreach (tags, name, v) {
		char *copy;
		if (!json_is_string(v) || strcmp(json_string_value(v), manifest_digest) != 0)
			continue;
		copy = strdup(name);
		if (copy == NULL || strv_append(&out, copy) < 0) {
			strv_free(out);
			return NULL;
		}
	}
	store_strv_sort(out);
	return out;
}

/* --- Names --------------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool valid_separator(const char *c, size_t n)
{
	if ((n == 1 && (c[0] == '.' || c[0] == '_')) || (n == 2 && c[0] == '_' && c[1] == '_'))
		return true;
	for (size_t i = 0; i < n; i++)
		if (c[i] != '-')
			return false;
	return true;
}

/* A path component of a repository: runs of [a-z0-9] joined by ".", "_",
 * "__" or dashes (Docker's grammar). */
static bool valid_path_component(const char *c, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i;
		while (i < n && is_lower_alnum(c[i]))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		start = i;
		while (i < n && !is_lower_alnum(c[i]))
			i++;
		if (i == n || !valid_separator(c + start, i - start))
			return false;
	}
	return false;
}

/* A label of a host name: letters and digits, dashes inside. */
static bool valid_label(const char *c, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)c[0]) || !isalnum((unsigned char)c[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)c[i]) && c[i] != '-')
			return false;
	return true;
}

/* A registry host: dot-separated labels and an optional :port. */
static bool valid_domain(const char *c, size_t n)
{
	const char *colon = memchr(c, ':', n);
	size_t host = colon ? (size_t)(colon - c) : n, start = 0;

	if (colon != NULL) {
		if (colon + 1 == c + n)
			return false;
		for (const char *p = colon + 1; p < c + n; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	while (start <= host) {
		const char *dot = memchr(c + start, '.', host - start);
		size_t len = dot ? (size_t)(dot - (c + start)) : host - start;
		if (!valid_label(c + start, len))
			return false;
		start += len + 1;
		if (dot == NULL)
			break;
	}
	return true;
}

static bool looks_like_domain(const char *c, size_t n)
{
	return memchr(c, '.', n) != NULL || memchr(c, ':', n) != NULL ||
	       (n == 9 && strncmp(c, "localhost", 9) == 0);
}

static bool valid_repository(const char *repo, size_t len)
{
	size_t start = 0;
	bool first = true;

	if (len == 0 || len > 255)
		return false;
	while (start <= len) {
		const char *slash = memchr(repo + start, '/', len - start);
		size_t n = slash ? (size_t)(slash - (repo + start)) : len - start;
		bool domain = first && slash != NULL && looks_like_domain(repo + start, n);
		if (domain ? !valid_domain(repo + start, n)
			   : !valid_path_component(repo + start, n))
			return false;
		first = false;
		start += n + 1;
		if (slash == NULL)
			break;
	}
	return true;
}

static bool valid_tag(const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0 || n > 128 || !(isalnum((unsigned char)tag[0]) || tag[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)tag[i]) && tag[i] != '_' && tag[i] != '.' &&
		    tag[i] != '-')
			return false;
	return true;
}

int husk_store_normalize_name(const char *name, char **ret, husk_error **err)
{
	const char *slash, *colon;
	size_t repo_len;
	char *out = NULL;

	if (name == NULL || strchr(name, '@') != NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "invalid image name `%s`",
				       name ? name : "");
	slash = strrchr(name, '/');
	colon = strchr(slash ? slash : name, ':');
	repo_len = colon ? (size_t)(colon - name) : strlen(name);
	if (!valid_repository(name, repo_len) || (colon != NULL && !valid_tag(colon + 1)))
		return husk_error_fail(err, HUSK_ERR_INVALID, "invalid image name `%s`", name);
	if (asprintf(&out, "%.*s:%s", (int)repo_len, name, colon ? colon + 1 : "latest") < 0)
		return husk_error_set(err, ENOMEM, "image name");
	*ret = out;
	return 0;
}

/* --- Resolving ----------------------------------------------------------- */

static bool is_hex_prefix(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static int resolve_digest_ref(json_t *index, const char *ref, const char *digest, char **ret,
			      husk_error **err)
{
	if (digest_check(digest, ref, err) < 0)
		return -1;
	if (json_object_get(json_object_get(index, "images"), digest) == NULL)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such image: %s", ref);
	*ret = strdup(digest);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "image");
}

/* An id prefix: of a config digest (an image id) or of a manifest digest. */
static int resolve_id_prefix(json_t *index, const char *ref, const char *prefix, char **ret,
			     husk_error **err)
{
	json_t *images = json_object_get(index, "images"), *img;
	const char *manifest, *found = NULL;
	size_t n = strlen(prefix), matches = 0;

	json_object_foreach (images, manifest, img) {
		const char *config = json_string_value(json_object_get(img, "config"));
		bool hit =
		    (husk_digest_valid(manifest) &&
		     strncmp(digest_hex(manifest), prefix, n) == 0) ||
		    (husk_digest_valid(config) && strncmp(digest_hex(config), prefix, n) == 0);
		if (hit) {
			found = manifest;
			matches++;
		}
	}
	if (matches == 0)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such image: %s", ref);
	if (matches > 1)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "image id prefix `%s` is ambiguous: %zu images match", ref,
				       matches);
	*ret = strdup(found);
	return *ret ? 0 : husk_error_set(err, ENOMEM, "image");
}

int index_resolve(json_t *index, const char *ref, char **ret, husk_error **err)
{
	cleanup_free char *name = NULL;
	const char *at = ref ? strchr(ref, '@') : NULL, *prefix;
	json_t *tag;

	if (ref == NULL || ref[0] == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID, "no image named");
	if (at != NULL)
		return resolve_digest_ref(index, ref, at + 1, ret, err);
	if (husk_store_normalize_name(ref, &name, NULL) == 0) {
		tag = json_object_get(json_object_get(index, "tags"), name);
		if (json_is_string(tag)) {
			*ret = strdup(json_string_value(tag));
			return *ret ? 0 : husk_error_set(err, ENOMEM, "image");
		}
	}
	prefix = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;
	if (is_hex_prefix(prefix))
		return resolve_id_prefix(index, ref, prefix, ret, err);
	return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such image: %s", ref);
}

int husk_store_resolve(struct husk_store *s, const char *ref, char **ret_manifest_digest,
		       husk_error **err)
{
	cleanup_json json_t *index = NULL;

	if (index_read(s, &index, err) < 0)
		return -1;
	return index_resolve(index, ref, ret_manifest_digest, err);
}
