/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Volumes: directories under <storage_root>/volumes that outlive containers.
 *
 *   volumes/.lock               flock: exclusive around every change below
 *   volumes/<name>/_data/       what containers mount (0755, root's)
 *   volumes/<name>/volume.json  {"Name", "CreatedAt", "Anonymous"}
 *   volumes/<name>/users/<id>   a container (by id) that uses it
 *
 * A volume appears whole: it is made as volumes/.tmp-* and renamed. A user
 * record whose containers/<id> is gone is stale (a husk killed before its
 * cleanup) and counts for nothing: it is removed when seen. Names are
 * docker's ([a-zA-Z0-9][a-zA-Z0-9_.-]+); an anonymous volume is named by 64
 * random hex digits. Nothing here prints.
 */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <husk/error.h>

struct volume_info {
	char *name;
	char *created_at; /* RFC 3339 */
	bool anonymous;
	char *mountpoint; /* the _data directory */
	size_t n_users;	  /* live containers using it */
};
void volume_info_clear(struct volume_info *v);
void volume_infos_free(struct volume_info *v, size_t n);

/* Makes the volume (name NULL: an anonymous one). An existing volume of
 * that name is no error: *ret_created (may be NULL) tells. ret_name (may be
 * NULL): its name. */
int volume_create(const char *storage_root, const char *name, char **ret_name, bool *ret_created,
		  husk_error **err);

/* At a container's creation, for each volume it mounts: makes the volume
 * when it is missing (name NULL: a new anonymous one) and records the
 * container as its user, so that `volume rm` refuses it. *ret_data: the
 * _data directory to bind; ret_name (may be NULL): the volume's name. */
int volume_attach(const char *storage_root, const char *name, const char *container_id,
		  char **ret_name, char **ret_data, husk_error **err);

/*
 * At a container's removal: drops the container from the users of every
 * volume; with remove_anonymous (`run --rm`, `rm -v`) also removes the
 * anonymous volumes that it was the last user of. Idempotent.
 */
int volumes_release(const char *storage_root, const char *container_id, bool remove_anonymous,
		    husk_error **err);

/* Every volume, sorted by name. */
int volume_list(const char *storage_root, struct volume_info **ret, size_t *ret_n,
		husk_error **err);
int volume_inspect(const char *storage_root, const char *name, struct volume_info *ret,
		   husk_error **err);
/* docker volume inspect's object. */
json_t *volume_info_json(const struct volume_info *v);

/* Refused (HUSK_ERR_BUSY) while a container uses it; HUSK_ERR_NOT_FOUND when
 * there is no such volume. */
int volume_remove(const char *storage_root, const char *name, husk_error **err);

/* Removes the volumes no container uses: the anonymous ones, or all with
 * all. *ret_removed: their names (NULL when none); *ret_bytes: their size. */
int volume_prune(const char *storage_root, bool all, char ***ret_removed, uint64_t *ret_bytes,
		 husk_error **err);
