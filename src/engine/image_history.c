/* SPDX-License-Identifier: MIT */
/*
 * husk history IMAGE: the image's history, newest first, as Docker shows it:
 * one row per entry of the config's "history", each entry that made a layer
 * (not "empty_layer") paired with the next layer and its size. An image with
 * no history, or one that does not fit its layers, gets a row per layer.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "human.h"
#include "table.h"
#include "util.h"

#define CREATED_BY_WIDTH 45

static const char history_usage[] = "usage: husk history [options] IMAGE\n"
				    "  --no-trunc    do not truncate the output\n"
				    "  -q, --quiet   only the image ids\n";

struct history_opts {
	bool no_trunc, quiet;
};

static size_t char_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Docker's Ellipsis: a longer text is cut to width - 1 characters and "…";
 * tabs become spaces. */
static void created_by_cell(const char *s, bool no_trunc, char *buf, size_t len)
{
	size_t keep =
	    no_trunc || char_count(s) <= CREATED_BY_WIDTH ? SIZE_MAX : CREATED_BY_WIDTH - 1;
	size_t n = 0, chars = 0;

	for (; *s && n + 4 < len; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80 && chars++ == keep)
			break;
		buf[n++] = *s == '\t' ? ' ' : *s;
	}
	buf[n] = '\0';
	if (keep != SIZE_MAX)
		strcat(buf, "…");
}

static int history_row(struct table *t, const char *image, const char *created,
		       const char *created_by, int64_t size, const char *comment,
		       const struct history_opts *o)
{
	char age[64], by[4096], sz[32];

	human_age(created, age, sizeof(age));
	created_by_cell(created_by ? created_by : "", o->no_trunc, by, sizeof(by));
	human_size(size, sz, sizeof(sz));
	return table_add(t, (const char *[]){image, age, by, sz, comment ? comment : ""});
}

static size_t layers_made(json_t *history)
{
	size_t i, n = 0;
	json_t *h;

	json_array_foreach (history, i, h)
		if (!json_is_true(json_object_get(h, "empty_layer")))
			n++;
	return n;
}

/* Rows oldest first; the caller prints them the other way round. */
static int history_rows(const struct husk_image *img, const char *top, struct table *t,
			const struct history_opts *o)
{
	json_t *history = json_object_get(img->config_json, "history"), *h;
	size_t i, n = json_array_size(history), layer = 0;

	if (n == 0 || layers_made(history) != img->n_layers) {
		for (i = 0; i < img->n_layers; i++)
			if (history_row(t, i + 1 == img->n_layers ? top : "<missing>", img->created,
					NULL, img->layers[i].size, NULL, o) < 0)
				return -1;
		return 0;
	}
	json_array_foreach (history, i, h) {
		bool empty = json_is_true(json_object_get(h, "empty_layer"));
		int64_t size = empty ? 0 : img->layers[layer++].size;
		if (history_row(t, i + 1 == n ? top : "<missing>",
				json_string_value(json_object_get(h, "created")),
				json_string_value(json_object_get(h, "created_by")), size,
				json_string_value(json_object_get(h, "comment")), o) < 0)
			return -1;
	}
	return 0;
}

static void history_print(const struct table *rows, const struct history_opts *o)
{
	struct table out = {.n_cols = 5};

	if (o->quiet) {
		for (size_t r = rows->n_rows; r-- > 0;)
			puts(rows->cells[r * rows->n_cols]);
		return;
	}
	table_add(&out, (const char *[]){"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"});
	for (size_t r = rows->n_rows; r-- > 0;)
		table_add(&out, (const char *const *)&rows->cells[r * rows->n_cols]);
	table_print(&out, stdout);
	table_clear(&out);
}

static int history_parse(int argc, char **argv, struct history_opts *o)
{
	static const struct option opts[] = {{"no-trunc", no_argument, NULL, 'T'},
					     {"quiet", no_argument, NULL, 'q'},
					     {"help", no_argument, NULL, 'H'},
					     {0}};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+:q", opts, NULL)) != -1) {
		if (c == 'T') {
			o->no_trunc = true;
		} else if (c == 'q') {
			o->quiet = true;
		} else if (c == 'H') {
			fputs(history_usage, stdout);
			return 0;
		} else {
			return -engine_flag_error("history", c, argv);
		}
	}
	if (argc - optind != 1) {
		engine_error("history: needs exactly one image");
		return -EXIT_ENGINE;
	}
	return optind;
}

int cmd_history(struct engine *e, int argc, char **argv)
{
	struct history_opts o = {0};
	struct husk_store *s = NULL;
	struct husk_image *img = NULL;
	struct table rows = {.n_cols = 5};
	cleanup_free char *digest = NULL;
	husk_error *err = NULL;
	char top[HUSK_DIGEST_LEN + 1];
	int arg = history_parse(argc, argv, &o), r;

	if (arg <= 0)
		return -arg;
	if (engine_store_open(e, &s, &err) < 0)
		return engine_fail(err);
	r = engine_image_resolve(s, argv[arg], &digest, &err);
	if (r == 0)
		r = husk_store_image_get(s, digest, &img, &err);
	husk_store_close(s);
	if (r < 0)
		return engine_fail(err);
	/* Docker's short id: the id's first 12 hex digits */
	snprintf(top, sizeof(top), "%.*s", o.no_trunc ? HUSK_DIGEST_LEN : 12,
		 o.no_trunc ? img->id : img->id + strlen("sha256:"));
	r = history_rows(img, top, &rows, &o);
	if (r == 0)
		history_print(&rows, &o);
	table_clear(&rows);
	husk_image_free(img);
	if (r < 0) {
		engine_error("history: out of memory");
		return EXIT_ENGINE;
	}
	return 0;
}
