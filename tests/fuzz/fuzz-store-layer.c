/* SPDX-License-Identifier: MIT */
/* A layer blob (a tar, plain or compressed), as a registry or `load` hands it
 * over: written to a store and unpacked. Whatever the input, unpacking
 * succeeds into layers/<diffid> or fails with a one-line error and leaves
 * nothing, and nothing appears outside the store. gc empties the store after
 * each input. */
#define _GNU_SOURCE
#include <dirent.h>
#include <husk/store.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static struct husk_store *store;
static char *root, *outside;

static int count_in(const char *dir, const char *sub)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *base = fuzz_tmpdir();
	/* Rootless: no device nodes from the fuzzer, even when run as root. */
	struct husk_store_opts opts = {.rootless = true};
	husk_error *err = NULL;

	if (asprintf(&root, "%s/store", base) < 0 || asprintf(&outside, "%s/outside", base) < 0 ||
	    mkdir(outside, 0755) < 0)
		abort();
	opts.root = root;
	if (husk_store_open(&opts, &store, &err) < 0) {
		fprintf(stderr, "fuzz: %s\n", err->msg);
		abort();
	}
	free(base);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *digest = NULL, *diff = NULL, *path = NULL;
	husk_error *err = NULL;
	int r;

	FUZZ_ASSERT(husk_store_write_blob(store, data, size, NULL, &digest, &err) == 0);
	r = husk_store_unpack_layer(store, digest, NULL, &diff, &path, &err);
	if (r < 0) {
		FUZZ_ASSERT(err != NULL && err->msg != NULL && strchr(err->msg, '\n') == NULL);
		FUZZ_ASSERT(diff == NULL && path == NULL);
		FUZZ_ASSERT(count_in(root, "layers") == 0);
		husk_error_free(&err);
	} else {
		FUZZ_ASSERT(err == NULL && husk_digest_valid(diff));
		FUZZ_ASSERT(path != NULL && strncmp(path, root, strlen(root)) == 0);
		FUZZ_ASSERT(strcmp(path + strlen(path) - 64, diff + 7) == 0);
	}
	FUZZ_ASSERT(count_in(outside, ".") == 0);
	FUZZ_ASSERT(husk_store_gc(store, NULL, &err) == 0);
	FUZZ_ASSERT(count_in(root, "layers") == 0 && count_in(root, "blobs/sha256") == 0);
	free(digest);
	free(diff);
	free(path);
	return 0;
}
