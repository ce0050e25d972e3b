/* SPDX-License-Identifier: MIT */
/* husk images: the store's images, as `docker images` shows them. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "human.h"
#include "util.h"

/* The image id's first 12 hex digits. */
static const char *short_id(const char *id)
{
	const char *colon = strchr(id, ':');

	return colon ? colon + 1 : id;
}

static void print_row(const struct husk_image_summary *img, const char *tag)
{
	char size[32], age[64], repo[256];
	const char *colon = tag ? strrchr(tag, ':') : NULL;

	human_size(img->size, size, sizeof(size));
	human_age(img->created, age, sizeof(age));
	/* the tag's colon is the last one, after any registry port */
	if (colon && strchr(colon, '/') == NULL)
		snprintf(repo, sizeof(repo), "%.*s", (int)(colon - tag), tag);
	else
		snprintf(repo, sizeof(repo), "%s", tag ? tag : "<none>");
	printf("%-30s %-10s %-14.12s %-16s %s\n", repo, colon ? colon + 1 : "<none>",
	       short_id(img->id), age, size);
}

int cmd_images(struct engine *e, int argc, char **argv)
{
	struct husk_store *s = NULL;
	struct husk_image_summary *list = NULL;
	husk_error *err = NULL;
	size_t n = 0;

	if (argc > 1) {
		engine_error("images: unexpected argument `%s` (filters are not supported yet)",
			     argv[1]);
		return EXIT_ENGINE;
	}
	if (engine_store_open(e, &s, &err) < 0)
		return engine_fail(err);
	if (husk_store_list_images(s, &list, &n, &err) < 0) {
		husk_store_close(s);
		return engine_fail(err);
	}
	husk_store_close(s);
	printf("%-30s %-10s %-14s %-16s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
	for (size_t i = 0; i < n; i++) {
		if (list[i].tags == NULL || list[i].tags[0] == NULL)
			print_row(&list[i], NULL);
		for (size_t t = 0; list[i].tags && list[i].tags[t]; t++)
			print_row(&list[i], list[i].tags[t]);
	}
	husk_image_summaries_free(list, n);
	return 0;
}
