/* SPDX-License-Identifier: MIT */
#pragma once

/* The parts of container_config_generate(), one file per concern. Each
 * applies its options to the config under construction. */

#include <jansson.h>

#include "container_config.h"
#include "engine.h"
#include "userns_auto.h"

struct config_ctx {
	const struct engine_paths *paths;
	const struct husk_image *img;
	const struct run_options *o;
	const char *id;
	const char *dir;	/* containers/<id>, made already */
	const char *hostname;	/* the container's */
	json_t *config;		/* the config being made */
	json_t *mounts;		/* mounts of ours, sorted and added last (owned) */
	struct ctr_idmap idmap; /* --userns auto's or keep-id's (size 0: none) */
};

/* config_user.c: process.user from -u or the image's User, names looked up
 * in the image's /etc/passwd and /etc/group. */
int config_apply_user(struct config_ctx *c, husk_error **err);

/* config_keep_id.c: --userns keep-id: /etc/passwd and /etc/group of the
 * container's own with the user's entries when the image's (texts, either
 * may be NULL: then none) lack them. */
int config_keep_id_files(struct config_ctx *c, const char *passwd, const char *group,
			 husk_error **err);

/* config_resources.c: linux.resources, process.rlimits, linux.devices. */
int config_apply_resources(struct config_ctx *c, husk_error **err);

/* config_security.c: the capability set (before the default config is
 * made from it), seccomp, no-new-privileges, the read-only root. */
int config_capabilities(const struct run_security *s, uint64_t *ret, husk_error **err);
int config_apply_security(struct config_ctx *c, uint64_t caps, husk_error **err);
/* A seccomp profile in docker's format (archMap, includes, excludes, name)
 * or the OCI one, made the OCI one for caps on this host. */
int config_seccomp_from_profile(json_t *profile, uint64_t caps, json_t **ret, husk_error **err);

/* config_network.c: the network namespace, /etc/hostname, /etc/hosts and
 * /etc/resolv.conf (files in the container dir, bound over the image's). */
int config_hostname(const struct run_options *o, const char *id, char **ret, husk_error **err);
int config_apply_network(struct config_ctx *c, husk_error **err);
/* The texts, for the tests. */
char *config_hosts_text(const struct run_options *o, const char *hostname, const char *host_hosts);
char *config_resolv_text(const struct run_options *o, const char *host_resolv);

/* config_userns.c: --userns auto: a user namespace with the id range
 * recorded in the container's dir (userns_auto.h); the files of the dir
 * the container's root uses handed over to it. Called after the files are
 * made. */
int config_apply_userns(struct config_ctx *c, husk_error **err);

/* config_init.c: --init. */
int config_apply_init(struct config_ctx *c, husk_error **err);

/* config_mounts.c: -v, --mount, --tmpfs and the image's volumes. Makes the
 * missing named volumes and -v's host directories: called last. */
int config_apply_mounts(struct config_ctx *c, husk_error **err);

/* A bind mount of ours (options: NULL-terminated, "rbind" and "rprivate"
 * added). */
int config_add_bind(struct config_ctx *c, const char *dest, const char *source, bool readonly,
		    const char *propagation, husk_error **err);
/* Whether -v, --mount or --tmpfs has dest as its target. */
bool config_user_mounts(const struct run_options *o, const char *dest);
