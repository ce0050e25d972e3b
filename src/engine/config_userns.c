/* SPDX-License-Identifier: MIT */
/* --userns auto and keep-id: the container's user namespace and its id mappings. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "util.h"

static json_t *mapping(const struct husk_id_extent *e, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_pack("{s:I, s:I, s:I}", "containerID",
						       (json_int_t)e[i].inner, "hostID",
						       (json_int_t)e[i].outer, "size",
						       (json_int_t)e[i].count)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* What the container's root reaches in its dir (the core mounts as that
 * root): the dir itself, searched for the rootfs and the files bound over
 * /etc, and those files, which it may change as docker's remapped root
 * may. */
static int hand_over_files(const char *dir, const struct ctr_idmap *m, husk_error **err)
{
	static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
	cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	/* searched by the group of the container's root alone */
	if (fchownat(dirfd, "", 0, (gid_t)m->gid, AT_EMPTY_PATH) < 0 || chmod(dir, 0710) < 0)
		return husk_error_set(err, errno, "chown `%s`", dir);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (fchownat(dirfd, files[i], (uid_t)m->uid, (gid_t)m->gid, AT_SYMLINK_NOFOLLOW) <
			0 &&
		    errno != ENOENT)
			return husk_error_set(err, errno, "chown `%s/%s`", dir, files[i]);
	return 0;
}

int config_apply_userns(struct config_ctx *c, husk_error **err)
{
	json_t *lx = json_object_get(c->config, "linux");
	json_t *ns = json_object_get(lx, "namespaces");
	const struct ctr_idmap *m = &c->idmap;

	if (m->size == 0)
		return 0;
	if (json_array_append_new(ns, json_pack("{s:s}", "type", "user")) < 0 ||
	    json_object_set_new(lx, "uidMappings", mapping(m->uids, m->n_uids)) < 0 ||
	    json_object_set_new(lx, "gidMappings", mapping(m->gids, m->n_gids)) < 0)
		return husk_error_set(err, ENOMEM, "linux.namespaces");
	return hand_over_files(c->dir, m, err);
}
