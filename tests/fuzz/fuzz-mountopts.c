/* SPDX-License-Identifier: MIT */
/* mounts[].options of config.json: the input is the option list, separated by
 * commas or NULs ("ro,nosuid,size=65536k"). */
#include <sys/mount.h>

#include "fuzz.h"
#include "spec.h"

/* Splits in place; empty options stay (they must be refused, not skipped). */
static char **split_options(char *s, size_t size)
{
	size_t n = 1, k = 0;
	char **v;

	for (size_t i = 0; i < size; i++)
		n += s[i] == ',' || s[i] == '\0';
	v = calloc(n + 1, sizeof(*v));
	if (v == NULL)
		abort();
	v[k++] = s;
	for (size_t i = 0; i < size; i++)
		if (s[i] == ',' || s[i] == '\0') {
			s[i] = '\0';
			v[k++] = s + i + 1;
		}
	return v;
}

static void parse_as(const char *type, char *const *options)
{
	struct husk_mount m = {.type = (char *)type};
	husk_error *err = NULL;
	int r;

	r = husk_mount_parse_options(&m, options, &err);
	FUZZ_ASSERT(r < 0 ? err != NULL && err->msg != NULL : err == NULL);
	if (r == 0) {
		/* An option and its negation: the last one wins, never both. */
		FUZZ_ASSERT((m.flags & m.clear_flags) == 0);
		FUZZ_ASSERT(!m.bind || (m.flags & MS_BIND));
		FUZZ_ASSERT(m.data == NULL || m.data[0] != '\0');
	}
	free(m.data);
	husk_error_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	char **options;

	if (size == 0)
		return 0; /* no options at all is a different case: the NULL vector */
	copy = fuzz_strndup(data, size);
	options = split_options(copy, size);
	parse_as(NULL, options);
	parse_as("bind", options);
	free(options);
	free(copy);
	return 0;
}
