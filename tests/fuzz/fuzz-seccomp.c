/* SPDX-License-Identifier: MIT */
/* linux.seccomp of config.json (and --seccomp FILE): validated and compiled to
 * BPF, never loaded. */
#include <jansson.h>

#include "fuzz.h"
#include "seccomp_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_seccomp *s = NULL;
	husk_error *err = NULL;
	json_error_t jerr;
	json_t *obj;
	int r;

	obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return 0;
	r = husk_seccomp_prepare(obj, &s, &err);
	if (r < 0) {
		FUZZ_ASSERT(err != NULL && err->msg != NULL && s == NULL);
	} else {
		FUZZ_ASSERT(err == NULL && s != NULL);
		FUZZ_ASSERT(!husk_seccomp_uses_notify(s) || husk_seccomp_listener_path(s) != NULL);
	}
	husk_seccomp_free(s);
	husk_error_free(&err);
	json_decref(obj);
	return 0;
}
