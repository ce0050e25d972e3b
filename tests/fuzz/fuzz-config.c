/* SPDX-License-Identifier: MIT */
/* config.json: the whole OCI runtime configuration, as create and run read it. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "spec.h"

static char *bundle;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *rootfs = NULL;

	/* root.path must name a directory: give relative paths one to find. */
	bundle = fuzz_tmpdir();
	if (asprintf(&rootfs, "%s/rootfs", bundle) < 0 || mkdir(rootfs, 0755) < 0)
		abort();
	free(rootfs);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_spec *spec = NULL;
	husk_error *err = NULL;
	int r;

	r = husk_spec_parse((const char *)data, size, bundle, &spec, &err);
	if (r < 0) {
		/* Library contract: an error is always explained, and the output
		 * parameter is untouched on failure. */
		FUZZ_ASSERT(err != NULL && err->msg != NULL);
		FUZZ_ASSERT(spec == NULL);
	} else {
		FUZZ_ASSERT(err == NULL && spec != NULL);
		FUZZ_ASSERT(spec->root_path != NULL && spec->root_path[0] == '/');
		FUZZ_ASSERT(!spec->has_process || spec->process.args != NULL);
	}
	husk_spec_free(spec);
	husk_error_free(&err);
	return 0;
}
