/* SPDX-License-Identifier: MIT */
/* The container's mounts of -v, --mount and --tmpfs, and the image's
 * Volumes (anonymous volumes, unless a mount of the user's is there). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_internal.h"
#include "run_parsers.h"
#include "util.h"
#include "volumes.h"

/* -v makes a missing host directory, as docker does (--mount refuses it:
 * checked when parsed). */
static int bind_source_ready(const struct run_mount *m, husk_error **err)
{
	struct stat st;

	if (stat(m->source, &st) == 0)
		return 0;
	if (errno != ENOENT || !m->create_source)
		return husk_error_set(err, errno, "-v: host path `%s`", m->source);
	if (mkdir_p(m->source, 0755, err) < 0)
		return husk_error_wrap(err, "-v: make the host directory `%s`", m->source);
	return 0;
}

static int add_tmpfs(struct config_ctx *c, const struct run_mount *m, husk_error **err)
{
	/* docker's defaults, which the user's options follow and may undo
	 * ("exec") */
	json_t *mount =
	    json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", m->target, "type", "tmpfs",
		      "source", "tmpfs", "options", "nosuid", "nodev", "noexec");
	json_t *options = json_object_get(mount, "options");
	int r = 0;

	if (mount == NULL)
		return husk_error_set(err, ENOMEM, "mounts");
	for (size_t i = 0; m->tmpfs_options && m->tmpfs_options[i]; i++)
		r |= json_array_append_new(options, json_string(m->tmpfs_options[i]));
	if (m->readonly)
		r |= json_array_append_new(options, json_string("ro"));
	if (r < 0 || json_array_append_new(c->mounts, mount) < 0)
		return husk_error_set(err, ENOMEM, "mounts");
	return 0;
}

/* --userns auto: a volume no one has used yet (empty, root's) becomes the
 * container's root's, as under docker's remapped root; one in use keeps
 * its owner. */
static int volume_hand_over(const char *data, const struct ctr_idmap *m, husk_error **err)
{
	cleanup_dir DIR *d = opendir(data);
	struct dirent *de;
	struct stat st;

	if (d == NULL || fstat(dirfd(d), &st) < 0)
		return husk_error_set(err, errno, "open `%s`", data);
	if (st.st_uid != 0 || st.st_gid != 0)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return 0;
	if (fchown(dirfd(d), (uid_t)m->uid, (gid_t)m->gid) < 0)
		return husk_error_set(err, errno, "chown `%s`", data);
	return 0;
}

static int add_volume(struct config_ctx *c, const char *name, const char *target, bool readonly,
		      husk_error **err)
{
	cleanup_free char *data = NULL;

	if (volume_attach(c->paths->storage_root, name, c->id, NULL, &data, err) < 0)
		return -1;
	if (c->idmap.size && volume_hand_over(data, &c->idmap, err) < 0)
		return -1;
	return config_add_bind(c, target, data, readonly, NULL, err);
}

static int add_one(struct config_ctx *c, const struct run_mount *m, husk_error **err)
{
	switch (m->type) {
	case RUN_MOUNT_BIND:
		if (bind_source_ready(m, err) < 0)
			return -1;
		return config_add_bind(c, m->target, m->source, m->readonly, m->propagation, err);
	case RUN_MOUNT_VOLUME:
		return add_volume(c, m->source, m->target, m->readonly, err);
	case RUN_MOUNT_TMPFS:
		return add_tmpfs(c, m, err);
	}
	return husk_error_fail(err, HUSK_ERR_INVALID, "mount of an unknown type");
}

/* The image's VOLUME paths: an anonymous volume each, where the user did
 * not mount something else. */
static int add_image_volumes(struct config_ctx *c, husk_error **err)
{
	char **volumes = c->img->config.volumes;

	for (size_t i = 0; volumes && volumes[i]; i++) {
		cleanup_free char *target = run_path_clean(volumes[i]);
		if (target == NULL && errno == ENOMEM)
			return husk_error_set(err, ENOMEM, "volumes");
		if (target == NULL || strcmp(target, "/") == 0)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "the image's volume `%s` is not an absolute path "
					       "below /",
					       volumes[i]);
		if (config_user_mounts(c->o, target))
			continue;
		if (add_volume(c, NULL, target, false, err) < 0)
			return -1;
	}
	return 0;
}

int config_apply_mounts(struct config_ctx *c, husk_error **err)
{
	for (size_t i = 0; i < c->o->n_mounts; i++)
		if (add_one(c, &c->o->mounts[i], err) < 0)
			return -1;
	return add_image_volumes(c, err);
}
