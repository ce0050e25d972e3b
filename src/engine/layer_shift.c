/* SPDX-License-Identifier: MIT */
/* Id-shifted copies of the image's layers, rootless (see layer_shift.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy_tree.h"
#include "disk_usage.h"
#include "layer_shift.h"
#include "remains.h"
#include "util.h"

#define SHIFTED_DIR "shifted"
#define TMP_PREFIX  ".tmp-"

/* The mapping as text ("u IN OUT COUNT ... g IN OUT COUNT ...") */
static int mapping_text(const struct ctr_idmap *m, char *buf, size_t size)
{
	size_t len = 0;

	len += (size_t)snprintf(buf + len, size - len, "u");
	for (size_t i = 0; i < m->n_uids && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, " %lu %lu %lu", m->uids[i].inner,
					m->uids[i].outer, m->uids[i].count);
	if (len < size)
		len += (size_t)snprintf(buf + len, size - len, " g");
	for (size_t i = 0; i < m->n_gids && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, " %lu %lu %lu", m->gids[i].inner,
					m->gids[i].outer, m->gids[i].count);
	return len < size ? 0 : -1;
}

/* The key: 64-bit FNV-1a of the mapping's text, in hex; short, as the
 * overlay's options (the lowerdirs) fit in one page. */
static void mapping_key(const char *text, char key[17])
{
	uint64_t h = 14695981039346656037ULL;

	for (const char *p = text; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(key, 17, "%016llx", (unsigned long long)h);
}

/* shifted/ and its lock, the lock taken (LOCK_SH or LOCK_EX). */
static int open_locked(int rootfd, int how, int *ret_dir, int *ret_lock, husk_error **err)
{
	cleanup_close int dir = -1, lock = -1;

	if (mkdirat(rootfd, SHIFTED_DIR, 0700) < 0 && errno != EEXIST)
		return husk_error_set(err, errno, "mkdir `" SHIFTED_DIR "`");
	dir = openat(rootfd, SHIFTED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return husk_error_set(err, errno, "open `" SHIFTED_DIR "`");
	lock = openat(dir, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0)
		return husk_error_set(err, errno, "open `" SHIFTED_DIR "/.lock`");
	while (flock(lock, how) < 0)
		if (errno != EINTR)
			return husk_error_set(err, errno, "lock `" SHIFTED_DIR "/.lock`");
	*ret_dir = steal_fd(&dir);
	*ret_lock = steal_fd(&lock);
	return 0;
}

/* The dir of key, made with its `map` (the mapping's text) when new. */
static int open_key_dir(int shifted, const char *key, const char *text, husk_error **err)
{
	int fd;

	if (mkdirat(shifted, key, 0700) < 0 && errno != EEXIST)
		return husk_error_set(err, errno, "mkdir `" SHIFTED_DIR "/%s`", key);
	fd = openat(shifted, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "open `" SHIFTED_DIR "/%s`", key);
	if (faccessat(fd, "map", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    write_file_atomic_at(fd, "map", text, strlen(text), 0600, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * src_dir/src_name copied to keyfd/name with every owner shifted, under a
 * temporary name renamed once whole. A copy there already (built before,
 * or by another command meanwhile) is kept.
 */
static int build_copy(int src_dir, const char *src_name, int keyfd, const char *name,
		      const struct ctr_idmap *m, husk_error **err)
{
	struct copy_opts o = {.keep_owner = true,
			      .uids = m->uids,
			      .n_uids = m->n_uids,
			      .gids = m->gids,
			      .n_gids = m->n_gids,
			      .ids_inward = true,
			      .xattrs = true};
	cleanup_free char *tmp = NULL;

	if (faccessat(keyfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (asprintf(&tmp, TMP_PREFIX "%s-%d", name, (int)getpid()) < 0)
		return husk_error_set(err, ENOMEM, "shifted copy");
	/* a pid's own leftover (a build of ours killed before): never merged */
	if (rm_rf_at(keyfd, tmp) < 0 && errno != ENOENT)
		return husk_error_set(err, errno, "remove `%s`", tmp);
	if (copy_entry(src_dir, src_name, keyfd, tmp, &o, err) < 0) {
		rm_rf_at(keyfd, tmp);
		return husk_error_wrap(err, "rootless --userns: shift the ids of layer %s", name);
	}
	if (renameat(keyfd, tmp, keyfd, name) == 0)
		return 0;
	rm_rf_at(keyfd, tmp);
	if (errno == ENOTEMPTY || errno == EEXIST)
		return 0; /* built by another command meanwhile */
	return husk_error_set(err, errno, "rename `%s`", tmp);
}

/* The names of the layers' dirs ("layers/<hex>" → "<hex>"), "init" first. */
static int copy_names(const struct husk_image *img, char ***ret, husk_error **err)
{
	cleanup_strv char **v = NULL;

	if (strv_append(&v, strdup("init")) < 0)
		return husk_error_set(err, ENOMEM, "shifted copies");
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *slash = img->layers[i].path ? strrchr(img->layers[i].path, '/') : NULL;
		if (slash == NULL)
			return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "layer %s is not unpacked",
					       img->layers[i].diff_id);
		if (strv_append(&v, strdup(slash + 1)) < 0)
			return husk_error_set(err, ENOMEM, "shifted copies");
	}
	*ret = steal_pointer(&v);
	return 0;
}

/* The container's list, "KEY/NAME" lines, written before any copy is made
 * so that a sweep never takes one it is about to use. */
static int record_use(const char *container_dir, const char *key, char **names, husk_error **err)
{
	cleanup_close int dirfd = open(container_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", container_dir);
	f = open_memstream(&text, &len);
	if (f == NULL)
		return husk_error_set(err, ENOMEM, "shifted copies");
	for (size_t i = 0; names[i]; i++)
		fprintf(f, "%s/%s\n", key, names[i]);
	if (fclose(f) != 0)
		return husk_error_set(err, ENOMEM, "shifted copies");
	return write_file_atomic_at(dirfd, SHIFTED_DIR, text, len, 0644, err);
}

static int build_all(int rootfd, int keyfd, char **names, const struct ctr_idmap *m,
		     husk_error **err)
{
	cleanup_close int layers = openat(rootfd, "layers", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (layers < 0)
		return husk_error_set(err, errno, "open `layers`");
	if (build_copy(rootfd, "init-layer", keyfd, names[0], m, err) < 0)
		return -1;
	for (size_t i = 1; names[i]; i++)
		if (build_copy(layers, names[i], keyfd, names[i], m, err) < 0)
			return -1;
	return 0;
}

int layer_shift_prepare(const char *storage_root, const char *container_dir,
			const struct husk_image *img, const struct ctr_idmap *m, char **ret_key,
			husk_error **err)
{
	cleanup_close int rootfd = open(storage_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int shifted = -1, lock = -1, keyfd = -1;
	cleanup_strv char **names = NULL;
	char text[CTR_IDMAP_MAX * 2 * 72 + 8], key[17];

	if (rootfd < 0)
		return husk_error_set(err, errno, "open `%s`", storage_root);
	if (mapping_text(m, text, sizeof(text)) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "id mapping too long");
	mapping_key(text, key);
	if (copy_names(img, &names, err) < 0 ||
	    open_locked(rootfd, LOCK_SH, &shifted, &lock, err) < 0 ||
	    record_use(container_dir, key, names, err) < 0)
		return -1;
	keyfd = open_key_dir(shifted, key, text, err);
	if (keyfd < 0 || build_all(rootfd, keyfd, names, m, err) < 0)
		return -1;
	*ret_key = strdup(key);
	return *ret_key ? 0 : husk_error_set(err, ENOMEM, "shifted copies");
}

/* Every "KEY/NAME" that a container dir lists, as a set. */
static int copies_in_use(const char *containers_dir, json_t *set, husk_error **err)
{
	cleanup_strv char **ids = NULL;

	if (ids_in_dir(containers_dir, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids[i]; i++) {
		cleanup_free char *path = NULL, *text = NULL;
		char *save = NULL;
		if (asprintf(&path, "%s/%s/" SHIFTED_DIR, containers_dir, ids[i]) < 0)
			return husk_error_set(err, ENOMEM, "shifted copies");
		if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
			continue;
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			json_object_set_new(set, l, json_true());
	}
	return 0;
}

/* The entries of dirfd but . and .. */
static int list_names(int dirfd, char ***ret)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_dir DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	cleanup_strv char **v = NULL;
	struct dirent *de;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (strv_append(&v, NULL) < 0)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    strv_append(&v, strdup(de->d_name)) < 0)
			return -1;
	*ret = steal_pointer(&v);
	return 0;
}

/* A copy removed all-or-nothing: renamed to a temporary name first. */
static void remove_copy(int keyfd, const char *name)
{
	cleanup_free char *tmp = NULL;

	if (asprintf(&tmp, TMP_PREFIX "%s-gone", name) < 0)
		return;
	if (renameat(keyfd, name, keyfd, tmp) == 0)
		rm_rf_at(keyfd, tmp);
}

static void sweep_key(int shifted, const char *key, json_t *used)
{
	cleanup_close int keyfd =
	    openat(shifted, key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_strv char **names = NULL;
	size_t kept = 0;

	if (keyfd < 0 || list_names(keyfd, &names) < 0)
		return;
	for (size_t i = 0; names[i]; i++) {
		cleanup_free char *entry = NULL;
		if (strcmp(names[i], "map") == 0)
			continue;
		if (strncmp(names[i], TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
			rm_rf_at(keyfd, names[i]);
			continue;
		}
		if (asprintf(&entry, "%s/%s", key, names[i]) < 0)
			return;
		if (json_object_get(used, entry))
			kept++;
		else
			remove_copy(keyfd, names[i]);
	}
	if (kept == 0)
		rm_rf_at(shifted, key);
}

int layer_shift_sweep(const char *storage_root, const char *containers_dir, husk_error **err)
{
	cleanup_close int rootfd = open(storage_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int shifted = -1, lock = -1;
	cleanup_json json_t *used = json_object();
	cleanup_strv char **keys = NULL;

	if (rootfd < 0 || used == NULL)
		return husk_error_set(err, rootfd < 0 ? errno : ENOMEM, "open `%s`", storage_root);
	if (faccessat(rootfd, SHIFTED_DIR, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* never made: nothing rootless with a mapping ran here */
	if (open_locked(rootfd, LOCK_EX, &shifted, &lock, err) < 0 ||
	    copies_in_use(containers_dir, used, err) < 0 || list_names(shifted, &keys) < 0)
		return -1;
	for (size_t i = 0; keys[i]; i++)
		if (keys[i][0] != '.')
			sweep_key(shifted, keys[i], used);
	return 0;
}

uint64_t layer_shift_bytes(const char *storage_root)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/" SHIFTED_DIR, storage_root) < 0)
		return 0;
	return dir_bytes(path);
}
