/* SPDX-License-Identifier: MIT */
/*
 * Holds: holds/<holder> names the manifest of an image something uses (a
 * container's rootfs is made of its layers). gc treats holds as roots, and
 * rmi refuses a held image without force. A hold is written under
 * index.lock after the image is resolved there, so it never names an image
 * that rmi removed meanwhile.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <string.h>

static int holder_check(const char *holder, husk_error **err)
{
	size_t n = holder ? strlen(holder) : 0;

	if (n == 0 || n > 255 || holder[0] == '.')
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (!((holder[i] >= 'a' && holder[i] <= 'z') ||
		      (holder[i] >= 'A' && holder[i] <= 'Z') ||
		      (holder[i] >= '0' && holder[i] <= '9') || holder[i] == '_' ||
		      holder[i] == '-' || holder[i] == '.'))
			goto bad;
	return 0;
bad:
	return husk_error_fail(err, HUSK_ERR_INVALID, "invalid image holder `%s`",
			       holder ? holder : "");
}

struct hold_args {
	const char *holder;
	const char *ref;
};

static int hold_change(struct husk_store *s, json_t *index, void *arg, husk_error **err)
{
	struct hold_args *a = arg;
	cleanup_free char *digest = NULL;

	/* Not synced (two journal commits per container): a hold guards the
	 * holder's use of the image, and what uses it (a container's record)
	 * is not synced either. A crash loses a hold only with the renames
	 * made after it (the journal keeps their order), or leaves it empty,
	 * which gc and rmi refuse as corrupt rather than read as nothing held. */
	if (index_resolve(index, a->ref, &digest, err) < 0 ||
	    store_write_file_whole(s->holdsfd, a->holder, digest, strlen(digest), err) < 0)
		return -1;
	return 0; /* the index itself is unchanged */
}

int husk_store_hold(struct husk_store *s, const char *holder, const char *ref, husk_error **err)
{
	struct hold_args a = {.holder = holder, .ref = ref};

	if (holder_check(holder, err) < 0)
		return -1;
	return index_modify(s, hold_change, &a, err);
}

int husk_store_release(struct husk_store *s, const char *holder, husk_error **err)
{
	if (holder_check(holder, err) < 0 || store_begin_write(s, err) < 0)
		return -1;
	if (unlinkat(s->holdsfd, holder, 0) < 0) {
		if (errno == ENOENT)
			return 0; /* released already: a cleanup may run twice */
		return husk_error_set(err, errno, "release the image of %s", holder);
	}
	/* Not synced: a release lost in a crash leaves a hold of a container
	 * that is no more, which system prune removes (and gc keeps an image
	 * a while longer); a removed container costs no journal commit. */
	return 0;
}

/* Each hold as "holder" and the digest it names. */
static int holds_read(struct husk_store *s, char ***ret_holders, char ***ret_digests,
		      husk_error **err)
{
	cleanup_strv char **names = NULL, **digests = calloc(1, sizeof(char *));

	if (digests == NULL)
		return husk_error_set(err, ENOMEM, "holds");
	if (store_list_dir(s->holdsfd, &names, err) < 0)
		return husk_error_wrap(err, "holds");
	for (size_t i = 0; names[i]; i++) {
		char *digest = NULL;
		if (read_file_at(s->holdsfd, names[i], &digest, NULL, err) < 0)
			return husk_error_wrap(err, "holds");
		if (!husk_digest_valid(digest)) {
			free(digest);
			return husk_error_fail(err, HUSK_ERR_INVALID, "hold `%s` is corrupt",
					       names[i]);
		}
		if (strv_append(&digests, digest) < 0)
			return husk_error_set(err, ENOMEM, "holds");
	}
	*ret_holders = steal_pointer(&names);
	*ret_digests = steal_pointer(&digests);
	return 0;
}

int holds_of(struct husk_store *s, const char *manifest_digest, char ***ret, husk_error **err)
{
	cleanup_strv char **holders = NULL, **digests = NULL, **out = NULL;

	if (holds_read(s, &holders, &digests, err) < 0)
		return -1;
	for (size_t i = 0; holders[i]; i++) {
		char *copy;
		if (strcmp(digests[i], manifest_digest) != 0)
			continue;
		copy = strdup(holders[i]);
		if (copy == NULL || strv_append(&out, copy) < 0)
			return husk_error_set(err, ENOMEM, "holds");
	}
	*ret = steal_pointer(&out);
	return 0;
}

int holds_all(struct husk_store *s, char ***ret, husk_error **err)
{
	cleanup_strv char **holders = NULL, **digests = NULL;

	if (holds_read(s, &holders, &digests, err) < 0)
		return -1;
	*ret = steal_pointer(&digests);
	return 0;
}
