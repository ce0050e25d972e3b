/* SPDX-License-Identifier: MIT */
/* linux.seccomp of config.json (and --seccomp FILE): validated and compiled to
 * BPF, never loaded. */
#include <jansson.h>
#include <stdbool.h>

#include "fuzz.h"
#include "seccomp_filter.h"

/* run.sh --no-known: leave out the inputs of the open libseccomp hang (see
 * README.md), which the fuzzer finds again within a minute otherwise. */
static bool skip_known;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	skip_known = getenv("HUSK_FUZZ_NO_KNOWN") != NULL;
	return 0;
}

/* The shape of the hang, widened: an entry that compares several arguments,
 * one of them with a range operator. */
static bool has_known_hang(json_t *cfg)
{
	json_t *entry, *arg;
	size_t i, j;

	json_array_foreach (json_object_get(cfg, "syscalls"), i, entry) {
		bool range = false, several = false;
		json_int_t first = -1;

		json_array_foreach (json_object_get(entry, "args"), j, arg) {
			const char *op = json_string_value(json_object_get(arg, "op"));
			json_int_t index = json_integer_value(json_object_get(arg, "index"));

			range |= op && (strstr(op, "_LT") || strstr(op, "_LE") ||
					strstr(op, "_GT") || strstr(op, "_GE"));
			several |= first >= 0 && index != first;
			if (first < 0)
				first = index;
		}
		if (range && several)
			return true;
	}
	return false;
}

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
	if (skip_known && has_known_hang(obj)) {
		json_decref(obj);
		return 0;
	}
	/* in this process, unbounded: a fork per input would starve the fuzzer */
	r = husk_seccomp_prepare_within(obj, NULL, -1, &s, &err);
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
