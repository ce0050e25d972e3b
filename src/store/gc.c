/* SPDX-License-Identifier: MIT */
/*
 * Garbage and checks. gc marks what the images in images.json and the holds
 * reference, then removes the rest, each item all-or-nothing. It runs with
 * `lock` exclusive: writers keep `lock` shared from their first write until
 * they close, so a blob written for an image not recorded yet is never taken.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

struct marks {
	json_t *blobs;	/* hex → true */
	json_t *layers; /* hex of diff ids → true */
};

static int mark(json_t *set, const char *digest, husk_error **err)
{
	if (json_object_set_new(set, digest_hex(digest), json_true()) < 0)
		return husk_error_set(err, ENOMEM, "gc");
	return 0;
}

static int mark_image(struct husk_store *s, const char *manifest, struct marks *m, husk_error **err)
{
	cleanup_image struct husk_image *img = NULL;

	if (digest_check(manifest, "gc root", err) < 0 ||
	    image_load(s, manifest, &img, NULL, err) < 0)
		return husk_error_wrap(err, "gc: image %s cannot be read, nothing removed",
				       manifest);
	if (mark(m->blobs, manifest, err) < 0 || mark(m->blobs, img->id, err) < 0)
		return -1;
	for (size_t i = 0; i < img->n_layers; i++)
		if (mark(m->blobs, img->layers[i].digest, err) < 0 ||
		    mark(m->layers, img->layers[i].diff_id, err) < 0)
			return -1;
	return 0;
}

static int mark_roots(struct husk_store *s, struct marks *m, husk_error **err)
{
	cleanup_json json_t *index = NULL;
	cleanup_strv char **held = NULL;
	const char *manifest;
	json_t *entry;

	if (index_read(s, &index, err) < 0 || holds_all(s, &held, err) < 0)
		return -1;
	json_object_foreach (json_object_get(index, "images"), manifest, entry) {
		if (mark_image(s, manifest, m, err) < 0)
			return -1;
	}
	for (size_t i = 0; held[i]; i++)
		if (mark_image(s, held[i], m, err) < 0)
			return -1;
	return 0;
}

static void sweep_blobs(struct husk_store *s, char **names, json_t *marked,
			struct husk_store_gc_stats *st)
{
	for (size_t i = 0; names[i]; i++) {
		struct stat sb;
		if (json_object_get(marked, names[i]) != NULL)
			continue;
		if (fstatat(s->blobsfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode) || unlinkat(s->blobsfd, names[i], 0) < 0)
			continue;
		st->blobs++;
		st->bytes += (uint64_t)sb.st_size;
	}
}

/* A layer is renamed to a temp name first: a gc killed midway leaves a
 * temp (garbage), never half a layer under a layer's name. */
static int remove_layer(struct husk_store *s, const char *name, husk_error **err)
{
	cleanup_free char *tmp = NULL;

	if (store_create_temp_dir(s->layersfd, &tmp, err) < 0)
		return -1;
	if (renameat(s->layersfd, name, s->layersfd, tmp) < 0) {
		int e = errno;
		unlinkat(s->layersfd, tmp, AT_REMOVEDIR);
		return husk_error_set(err, e, "gc: layer %s", name);
	}
	if (rm_rf_at(s->layersfd, tmp) < 0)
		return husk_error_set(err, errno, "gc: remove layer %s", name);
	return 0;
}

static int sweep_layers(struct husk_store *s, char **names, json_t *marked,
			struct husk_store_gc_stats *st, husk_error **err)
{
	for (size_t i = 0; names[i]; i++) {
		if (json_object_get(marked, names[i]) != NULL)
			continue;
		if (remove_layer(s, names[i], err) < 0)
			return -1;
		st->layers++;
	}
	return 0;
}

static int gc_locked(struct husk_store *s, struct husk_store_gc_stats *st, husk_error **err)
{
	struct marks m = {json_object(), json_object()};
	cleanup_strv char **blobs = NULL, **layers = NULL;
	int r = -1;

	store_remove_temps(s->blobsfd, &st->temps);
	store_remove_temps(s->layersfd, &st->temps);
	store_remove_temps(s->holdsfd, &st->temps);
	store_remove_temps(s->rootfd, &st->temps);
	if (m.blobs == NULL || m.layers == NULL)
		husk_error_set(err, ENOMEM, "gc");
	else if (mark_roots(s, &m, err) == 0 && store_list_dir(s->blobsfd, &blobs, err) == 0 &&
		 store_list_dir(s->layersfd, &layers, err) == 0) {
		sweep_blobs(s, blobs, m.blobs, st);
		r = sweep_layers(s, layers, m.layers, st, err);
	}
	json_decref(m.blobs);
	json_decref(m.layers);
	if (r == 0 && (store_fsync_dir(s->blobsfd, "blobs/sha256", err) < 0 ||
		       store_fsync_dir(s->layersfd, "layers", err) < 0))
		r = -1;
	return r;
}

int husk_store_gc(struct husk_store *s, struct husk_store_gc_stats *ret, husk_error **err)
{
	struct husk_store_gc_stats st = {0};
	int r;

	do
		r = flock(s->lockfd, LOCK_EX);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return husk_error_set(err, errno, "gc: lock the image store");
	r = gc_locked(s, &st, err);
	/* Back to what this handle held: shared if it has written. */
	flock(s->lockfd, s->writing ? LOCK_SH : LOCK_UN);
	if (r == 0 && ret != NULL)
		*ret = st;
	return r;
}

/* --- Checks -------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void problem(char ***list, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) >= 0)
		strv_append(list, line);
	va_end(ap);
}

static void check_blobs(struct husk_store *s, char **names, char ***problems)
{
	for (size_t i = 0; names[i]; i++) {
		char name[HUSK_DIGEST_LEN + 16], actual[HUSK_DIGEST_LEN + 1];
		cleanup_close int fd = -1;
		husk_error *e = NULL;

		snprintf(name, sizeof(name), "sha256:%s", names[i]);
		if (!husk_digest_valid(name)) {
			problem(problems, "blobs/sha256/%s: not a digest", names[i]);
			continue;
		}
		fd = openat(s->blobsfd, names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || digest_fd(fd, actual, &e) < 0) {
			problem(problems, "blob %s: unreadable: %s", name,
				e ? e->msg : strerror(errno));
			husk_error_free(&e);
		} else if (strcmp(actual, name) != 0) {
			problem(problems, "blob %s: its content is %s", name, actual);
		}
	}
}

static void check_image(struct husk_store *s, const char *manifest, char ***problems)
{
	cleanup_image struct husk_image *img = NULL;
	husk_error *e = NULL;
	int64_t config_size = 0, size;

	if (image_load(s, manifest, &img, &config_size, &e) < 0) {
		problem(problems, "image %s: %s", manifest, e->msg);
		husk_error_free(&e);
		return;
	}
	if (blob_size(s, img->id, &size, NULL) < 0 || size != config_size)
		problem(problems, "image %s: config %s has not the size the manifest says",
			manifest, img->id);
	for (size_t i = 0; i < img->n_layers; i++) {
		const struct husk_layer *l = &img->layers[i];
		if (blob_size(s, l->digest, &size, NULL) < 0)
			problem(problems, "image %s: layer blob %s is missing", manifest,
				l->digest);
		else if (size != l->size)
			problem(problems,
				"image %s: layer blob %s has not the size the manifest says",
				manifest, l->digest);
		if (l->path == NULL)
			problem(problems, "image %s: layer %s is not unpacked", manifest,
				l->diff_id);
	}
}

static void check_index(struct husk_store *s, json_t *index, char ***problems)
{
	json_t *images = json_object_get(index, "images"), *v;
	const char *key;

	json_object_foreach (images, key, v) {
		check_image(s, key, problems);
	}
	json_object_foreach (json_object_get(index, "tags"), key, v) {
		const char *target = json_string_value(v);
		if (target == NULL || json_object_get(images, target) == NULL)
			problem(problems, "name %s: points at %s, which is no image", key,
				target ? target : "nothing");
	}
}

static void check_holds(struct husk_store *s, char ***problems)
{
	cleanup_strv char **held = NULL;
	husk_error *e = NULL;

	if (holds_all(s, &held, &e) < 0) {
		problem(problems, "%s", e->msg);
		husk_error_free(&e);
		return;
	}
	for (size_t i = 0; held[i]; i++)
		if (!husk_store_has_blob(s, held[i]))
			problem(problems, "a hold names %s, which is not in the store", held[i]);
}

int husk_store_check(struct husk_store *s, char ***ret_problems, husk_error **err)
{
	cleanup_json json_t *index = NULL;
	cleanup_strv char **blobs = NULL, **problems = NULL;

	if (index_read(s, &index, err) < 0 || store_list_dir(s->blobsfd, &blobs, err) < 0)
		return -1;
	check_blobs(s, blobs, &problems);
	check_index(s, index, &problems);
	check_holds(s, &problems);
	*ret_problems = steal_pointer(&problems);
	return 0;
}
