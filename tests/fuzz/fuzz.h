/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shared by the libFuzzer targets. A target returns 0 for every input; a
 * finding is a sanitizer report, a leak, or a broken invariant (FUZZ_ASSERT
 * aborts, which libFuzzer records as a crash with the input).
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL-terminated copy of the input (the parsers under test take C strings). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A private directory under /tmp for the whole fuzzing run (removal is left to
 * run.sh, which points TMPDIR at its work directory). */
char *fuzz_tmpdir(void);
