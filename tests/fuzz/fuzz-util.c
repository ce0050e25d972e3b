/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <stdlib.h>

#include "fuzz.h"

char *fuzz_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = NULL;

	if (asprintf(&tmpl, "%s/husk-fuzz-target.XXXXXX", base && *base ? base : "/tmp") < 0 ||
	    mkdtemp(tmpl) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	return tmpl;
}
