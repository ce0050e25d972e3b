/* SPDX-License-Identifier: MIT */
/* What the image verbs share: flag errors, and image references that may
 * name the built-in busybox before it is made. */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "engine.h"
#include "util.h"

int engine_flag_error(const char *verb, int c, char **argv)
{
	bool short_flag = optopt != 0 && optopt < 256;

	if (c == ':' && short_flag)
		engine_error("%s: flag `-%c` needs a value", verb, optopt);
	else if (c == ':')
		engine_error("%s: flag `%s` needs a value", verb, argv[optind - 1]);
	else if (short_flag)
		engine_error("%s: unknown flag `-%c`", verb, optopt);
	else
		engine_error("%s: unknown flag `%s`", verb, argv[optind - 1]);
	return EXIT_ENGINE;
}

int engine_image_resolve(struct husk_store *s, const char *ref, char **ret_digest, husk_error **err)
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
