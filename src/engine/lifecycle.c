/* SPDX-License-Identifier: MIT */
/* A container's life: create, start in the foreground, remove. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "lifecycle.h"
#include "rootfs.h"
#include "volumes.h"
#include "util.h"

static int new_id(char id[65], husk_error **err)
{
	unsigned char bytes[32];

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return husk_error_set(err, errno, "container id");
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

static bool name_valid(const char *name)
{
	static const char more[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_.-";

	/* Docker's: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	return name[0] != '\0' && strchr(more, name[0]) && strchr("_.-", name[0]) == NULL &&
	       strspn(name, more) == strlen(name) && strlen(name) <= 253;
}

/* names/<name> made with O_EXCL holds the container's id: two `run --name`
 * at once cannot both get it. */
static int name_claim(struct engine *e, struct engine_container *c, const char *name,
		      husk_error **err)
{
	cleanup_close int dirfd = -1, fd = -1;

	if (!name_valid(name))
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "invalid container name `%s`: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
		    "are allowed",
		    name);
	dirfd = open(e->paths.names, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", e->paths.names);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return husk_error_fail(err, HUSK_ERR_EXISTS,
				       "the container name `%s` is already in use", name);
	if (fd < 0)
		return husk_error_set(err, errno, "claim the name `%s`", name);
	c->name = strdup(name);
	if (c->name == NULL) {
		unlinkat(dirfd, name, 0);
		return husk_error_set(err, ENOMEM, "name");
	}
	if (write_all(fd, c->id, strlen(c->id)) < 0)
		return husk_error_set(err, errno, "write the name `%s`", name);
	return 0;
}

static int name_release(struct engine *e, struct engine_container *c, husk_error **err)
{
	cleanup_free char *path = NULL;

	if (c->name == NULL)
		return 0;
	if (asprintf(&path, "%s/%s", e->paths.names, c->name) < 0)
		return husk_error_set(err, ENOMEM, "name");
	if (unlink(path) < 0 && errno != ENOENT)
		return husk_error_set(err, errno, "remove the name `%s`", c->name);
	free(c->name);
	c->name = NULL;
	return 0;
}

/* The image, made when it is the built-in busybox and not there yet. */
static int image_resolve(struct husk_store *s, const char *ref, char **ret_digest, husk_error **err)
{
	cleanup_free char *normalized = NULL;
	cleanup_error husk_error *not_found = NULL;

	if (husk_store_resolve(s, ref, ret_digest, &not_found) == 0)
		return 0;
	if (!husk_error_is(not_found, HUSK_ERR_NOT_FOUND) ||
	    husk_store_normalize_name(ref, &normalized, NULL) < 0 ||
	    strcmp(normalized, "busybox:latest") != 0) {
		*err = steal_pointer(&not_found);
		return -1;
	}
	return husk_store_ensure_busybox(s, ret_digest, err);
}

/* Holds the image for the container, then reads it: gc cannot take its
 * layers from under the overlay. The store is closed before the container
 * starts (its lock must not outlive this step). */
static int image_hold_and_get(struct engine *e, const char *ref, struct engine_container *c,
			      struct husk_image **ret, husk_error **err)
{
	struct husk_store *s = NULL;
	cleanup_free char *digest = NULL;
	int r;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = image_resolve(s, ref, &digest, err);
	if (r == 0)
		r = husk_store_hold(s, c->id, digest, err);
	if (r == 0) {
		c->held = true;
		r = husk_store_image_get(s, digest, ret, err);
	}
	husk_store_close(s);
	return r;
}

static int make_dir(struct engine_container *c, struct engine *e, husk_error **err)
{
	c->dir = engine_container_path(&e->paths, c->id, NULL);
	if (c->dir == NULL)
		return husk_error_set(err, ENOMEM, "container dir");
	if (mkdir(c->dir, 0700) < 0)
		return husk_error_set(err, errno, "mkdir `%s`", c->dir);
	c->dir_made = true;
	return 0;
}

static int create_in_core(struct engine *e, struct engine_container *c, json_t *config,
			  husk_error **err)
{
	cleanup_spec struct husk_spec *spec = NULL;
	struct husk_create_opts opts = {.id = c->id};

	if (husk_spec_from_json(config, c->dir, &spec, err) < 0)
		return -1;
	/* created is set first: a failed create may have left state. */
	c->created = true;
	if (husk_container_create(&e->rt, spec, &opts, &c->handle, err) < 0) {
		c->core_failed = true;
		return -1;
	}
	return 0;
}

int container_create(struct engine *e, const char *image_ref, const struct run_options *o,
		     struct engine_container *c, husk_error **err)
{
	struct husk_image *img = NULL;
	cleanup_json json_t *config = NULL;
	cleanup_free char *rootfs = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	if (new_id(c->id, err) < 0 || make_dir(c, e, err) < 0)
		return -1;
	if (o->name && name_claim(e, c, o->name, err) < 0)
		return -1;
	if (image_hold_and_get(e, image_ref, c, &img, err) < 0) {
		husk_image_free(img);
		return -1;
	}
	rootfs = engine_container_path(&e->paths, c->id, "rootfs");
	r = rootfs == NULL ? husk_error_set(err, ENOMEM, "rootfs") : 0;
	if (r == 0)
		r = container_config_generate(&e->paths, img, o, c->id, c->dir, &config, err);
	if (r == 0) {
		c->mounted = true;
		r = rootfs_mount(e->paths.storage_root, c->dir, img, err);
	}
	husk_image_free(img);
	if (r < 0)
		return -1;
	return create_in_core(e, c, config, err);
}

int container_run_foreground(struct engine_container *c, int *ret_status, husk_error **err)
{
	int r;

	if (husk_handle_start(c->handle, err) < 0) {
		c->core_failed = true;
		return -1;
	}
	r = husk_foreground(c->handle, ret_status, err);
	c->reaped = r == 0;
	return r;
}

/* An init that never ran its process (start failed) is still our child:
 * kill and reap it before its state goes. */
static void reap_init(struct engine_container *c)
{
	int status;

	if (c->handle != NULL && !c->reaped) {
		husk_handle_kill(c->handle, SIGKILL, NULL);
		if (husk_handle_wait(c->handle, &status, NULL) == 0)
			c->reaped = true;
	}
	husk_handle_free(c->handle);
	c->handle = NULL;
}

/* Keeps the first error; later ones are dropped. */
static void keep_first(husk_error **first, husk_error **e)
{
	if (*first == NULL)
		*first = steal_pointer(e);
	husk_error_free(e);
}

static int release_image(struct engine *e, struct engine_container *c, husk_error **err)
{
	struct husk_store *s = NULL;
	int r;

	if (!c->held)
		return 0;
	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = husk_store_release(s, c->id, err);
	husk_store_close(s);
	if (r == 0)
		c->held = false;
	return r;
}

static int remove_dir(struct engine_container *c, husk_error **err)
{
	if (!c->dir_made)
		return 0;
	/* Never through a mount that is still there: only once unmounted. */
	if (c->mounted)
		return husk_error_fail(err, HUSK_ERR_BUSY, "`%s` is still mounted: left in place",
				       c->dir);
	if (rm_rf_at(AT_FDCWD, c->dir) < 0)
		return husk_error_set(err, errno, "remove `%s`", c->dir);
	c->dir_made = false;
	return 0;
}

int container_remove(struct engine *e, struct engine_container *c, husk_error **err)
{
	husk_error *first = NULL, *e1 = NULL;

	reap_init(c);
	if (c->created && husk_container_delete(&e->rt, c->id, true, &e1) < 0 &&
	    !husk_error_is(e1, HUSK_ERR_NOT_FOUND))
		keep_first(&first, &e1);
	husk_error_free(&e1);
	c->created = false;
	if (c->mounted && c->dir && rootfs_unmount(c->dir, &e1) < 0)
		keep_first(&first, &e1);
	else
		c->mounted = false;
	/* run --rm: its anonymous volumes go with it */
	if (volumes_release(e->paths.storage_root, c->id, true, &e1) < 0)
		keep_first(&first, &e1);
	if (remove_dir(c, &e1) < 0)
		keep_first(&first, &e1);
	if (release_image(e, c, &e1) < 0)
		keep_first(&first, &e1);
	if (name_release(e, c, &e1) < 0)
		keep_first(&first, &e1);
	free(c->dir);
	c->dir = NULL;
	if (first == NULL)
		return 0;
	*err = first;
	return -1;
}
