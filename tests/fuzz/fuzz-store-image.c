/* SPDX-License-Identifier: MIT */
/* An image manifest, index or manifest list (OCI or Docker), as a registry or
 * `load` hands it over: written to a store that already holds one image (so
 * that seeds naming its config and layer get past the blob checks), then
 * recorded as fuzz:1. A failure is explained and records nothing; a success can be
 * read back, removed and collected. */
#define _GNU_SOURCE
#include <husk/store.h>
#include <sys/stat.h>

#include "fuzz.h"

static struct husk_store *store;
static char *seed_manifest;

/* One image is there from the start, named seed:1, so that gc keeps its
 * blobs: an empty layer (1024 zero bytes) and a config naming it. Their
 * digests are fixed, and the seeds in corpus/store-image use them. */
static void seed_image(void)
{
	static char empty_tar[1024];
	const char *config =
	    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"],"
	    "\"Env\":[\"A=1\"],\"Labels\":{\"a\":\"b\"},\"Healthcheck\":{\"Test\":[\"NONE\"]}},"
	    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
	    "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\"]}}";
	char *config_digest = NULL, *layer_digest = NULL, *manifest = NULL;
	husk_error *err = NULL;

	if (husk_store_write_blob(store, empty_tar, sizeof(empty_tar), NULL, &layer_digest, &err) <
		0 ||
	    husk_store_write_blob(store, config, strlen(config), NULL, &config_digest, &err) < 0 ||
	    asprintf(&manifest,
		     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
		     "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{"
		     "\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\","
		     "\"size\":1024}]}",
		     config_digest, strlen(config), layer_digest) < 0 ||
	    husk_store_write_blob(store, manifest, strlen(manifest), NULL, &seed_manifest, &err) <
		0 ||
	    husk_store_record_image(store, seed_manifest, "seed:1", NULL, &err) < 0) {
		fprintf(stderr, "fuzz: %s\n", err ? err->msg : "out of memory");
		abort();
	}
	free(config_digest);
	free(layer_digest);
	free(manifest);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *base = fuzz_tmpdir(), *root = NULL;
	struct husk_store_opts opts = {.rootless = true};
	husk_error *err = NULL;

	if (asprintf(&root, "%s/store", base) < 0)
		abort();
	opts.root = root;
	if (husk_store_open(&opts, &store, &err) < 0) {
		fprintf(stderr, "fuzz: %s\n", err->msg);
		abort();
	}
	seed_image();
	free(base);
	free(root);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_image *img = NULL;
	char *digest = NULL, *recorded = NULL;
	husk_error *err = NULL;
	bool deleted = false;
	int r;

	FUZZ_ASSERT(husk_store_write_blob(store, data, size, NULL, &digest, &err) == 0);
	r = husk_store_record_image(store, digest, "fuzz:1", &recorded, &err);
	if (r < 0) {
		FUZZ_ASSERT(err != NULL && err->msg != NULL && recorded == NULL);
		husk_error_free(&err);
		FUZZ_ASSERT(husk_store_resolve(store, "fuzz:1", &recorded, &err) < 0);
		husk_error_free(&err);
	} else {
		FUZZ_ASSERT(err == NULL && husk_digest_valid(recorded));
		FUZZ_ASSERT(husk_store_image_get(store, "fuzz:1", &img, &err) == 0);
		FUZZ_ASSERT(strcmp(img->manifest_digest, recorded) == 0);
		for (size_t i = 0; i < img->n_layers; i++)
			FUZZ_ASSERT(img->layers[i].path != NULL);
		husk_image_free(img);
		FUZZ_ASSERT(husk_store_remove_image(store, "fuzz:1", true, &deleted, &err) == 0);
		FUZZ_ASSERT(deleted || strcmp(recorded, seed_manifest) == 0);
	}
	/* What the input wrote goes; seed:1 stays. */
	FUZZ_ASSERT(husk_store_gc(store, NULL, &err) == 0);
	free(digest);
	free(recorded);
	return 0;
}
