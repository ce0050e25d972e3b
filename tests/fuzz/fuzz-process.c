/* SPDX-License-Identifier: MIT */
/* process.json (exec --process) and the "process" object of config.json. */
#include <jansson.h>

#include "fuzz.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_process p;
	husk_error *err = NULL;
	json_error_t jerr;
	json_t *obj;
	int r;

	obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return 0;
	memset(&p, 0, sizeof(p));
	r = husk_process_parse(obj, "process", &p, &err);
	FUZZ_ASSERT(r < 0 ? err != NULL && err->msg != NULL : err == NULL);
	if (r == 0) {
		FUZZ_ASSERT(p.args != NULL && p.args[0] != NULL);
		for (size_t i = 0; i < p.n_rlimits; i++)
			FUZZ_ASSERT(p.rlimits[i].soft <= p.rlimits[i].hard);
	}
	/* Clearing must be safe after a failure half-way, as callers do it. */
	husk_process_clear(&p);
	husk_error_free(&err);
	json_decref(obj);
	return 0;
}
