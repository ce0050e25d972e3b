/* SPDX-License-Identifier: MIT */
/* An image archive (docker-archive or oci-archive, maybe compressed), as
 * `husk load` reads it, into an empty store. A failure is explained in one
 * line, gives no result and leaves images.json as it was; a success names
 * images that read back with their layers unpacked, and they are removed and
 * collected again. */
#define _GNU_SOURCE
#include <husk/store.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

static struct husk_store *store;
static char *root;

static char *index_text(void)
{
	char *path = NULL, *text = NULL;
	FILE *f;
	size_t len = 0;

	if (asprintf(&path, "%s/images.json", root) < 0)
		abort();
	f = fopen(path, "re");
	free(path);
	if (f == NULL)
		return strdup("");
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	return text;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *base = fuzz_tmpdir();
	struct husk_store_opts opts = {.rootless = true};
	husk_error *err = NULL;

	if (asprintf(&root, "%s/store", base) < 0)
		abort();
	opts.root = root;
	if (husk_store_open(&opts, &store, &err) < 0) {
		fprintf(stderr, "fuzz: %s\n", err->msg);
		abort();
	}
	free(base);
	return 0;
}

/* Each name loaded reads back, its layers unpacked. */
static void check_loaded(char **names)
{
	husk_error *err = NULL;

	for (size_t i = 0; names != NULL && names[i]; i++) {
		struct husk_image *img = NULL;
		FUZZ_ASSERT(husk_store_image_get(store, names[i], &img, &err) == 0);
		for (size_t l = 0; l < img->n_layers; l++)
			FUZZ_ASSERT(img->layers[l].path != NULL);
		husk_image_free(img);
	}
}

/* Every image goes, by manifest digest (two may share a config). */
static void remove_all(void)
{
	struct husk_image_summary *list = NULL;
	husk_error *err = NULL;
	size_t n = 0;

	FUZZ_ASSERT(husk_store_list_images(store, &list, &n, &err) == 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(
		    husk_store_remove_image(store, list[i].manifest_digest, true, NULL, &err) == 0);
	husk_image_summaries_free(list, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_load_result res = {NULL};
	char *before = index_text(), *after;
	husk_error *err = NULL;
	int fd = memfd_create("archive", MFD_CLOEXEC);

	FUZZ_ASSERT(fd >= 0 && write(fd, data, size) == (ssize_t)size);
	FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	if (husk_store_load(store, fd, &res, &err) < 0) {
		FUZZ_ASSERT(err != NULL && err->msg != NULL && strchr(err->msg, '\n') == NULL);
		FUZZ_ASSERT(res.names == NULL && res.ids == NULL);
		after = index_text();
		FUZZ_ASSERT(strcmp(before, after) == 0);
		free(after);
		husk_error_free(&err);
	} else {
		FUZZ_ASSERT(err == NULL && (res.names != NULL || res.ids != NULL));
		check_loaded(res.names);
		husk_load_result_clear(&res);
		remove_all();
	}
	/* What the input wrote goes. */
	FUZZ_ASSERT(husk_store_gc(store, NULL, &err) == 0);
	close(fd);
	free(before);
	return 0;
}
