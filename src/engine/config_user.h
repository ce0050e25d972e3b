/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <husk/error.h>
#include <husk/store.h>

struct user_ids {
	uint32_t uid, gid;
	uint32_t *groups; /* supplementary */
	size_t n_groups;
};
void user_ids_clear(struct user_ids *u);

/* A file of the image (e.g. "/etc/passwd") from its unpacked layers,
 * topmost first, resolved inside each layer; *ret NULL when the image has
 * none. A file that is not a regular one is an error. */
int image_read_file(const struct husk_image *img, const char *path, char **ret, husk_error **err);

/* USER[:GROUP] (NULL or "": root) against the texts of /etc/passwd and
 * /etc/group (either may be NULL), as docker resolves it. */
int user_resolve(const char *user_spec, const char *passwd, const char *group, struct user_ids *ret,
		 husk_error **err);
