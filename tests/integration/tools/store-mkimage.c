/* SPDX-License-Identifier: MIT */
/*
 * store-mkimage STORAGE_ROOT NAME DIR [CONFIG_JSON [BASE]]: an image in the
 * engine's store made of one layer packed from DIR, on top of the image BASE
 * (e.g. busybox) when given, with the "config" object CONFIG_JSON ({"User":
 * "app", "Volumes": {"/data": {}}, ...}; "" or absent: BASE's). For the
 * engine's tests, which have no `import` verb to make images with.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <husk/store.h>

int main(int argc, char **argv)
{
	struct husk_store_opts opts = {0};
	struct husk_pack_opts pack = {.mtime = 0};
	struct husk_image_create c = {0};
	struct husk_store *s = NULL;
	husk_error *err = NULL;
	json_t *config = NULL;
	int dirfd, r;

	if (argc < 4 || argc > 6) {
		fprintf(stderr,
			"usage: store-mkimage STORAGE_ROOT NAME DIR [CONFIG_JSON [BASE]]\n");
		return 2;
	}
	if (argc > 4 && argv[4][0] != '\0') {
		json_error_t jerr;
		config = json_loads(argv[4], 0, &jerr);
		if (config == NULL) {
			fprintf(stderr, "store-mkimage: config: %s\n", jerr.text);
			return 2;
		}
	}
	dirfd = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		perror(argv[3]);
		return 2;
	}
	opts.root = argv[1];
	c.name = argv[2];
	c.config = config;
	c.base = argc > 5 ? argv[5] : NULL;
	r = husk_store_open(&opts, &s, &err);
	if (r == 0 && c.base && strcmp(c.base, "busybox") == 0)
		r = husk_store_ensure_busybox(s, NULL, &err);
	if (r == 0)
		r = husk_store_import_dir(s, dirfd, &pack, &c, NULL, &err);
	if (r < 0)
		fprintf(stderr, "store-mkimage: %s\n", err && err->msg ? err->msg : "failed");
	husk_error_free(&err);
	husk_store_close(s);
	json_decref(config);
	close(dirfd);
	return r < 0 ? 1 : 0;
}
