/* SPDX-License-Identifier: MIT */
/* Archives: save and load in both formats, between stores, with gzip and
 * plain layers; a truncated archive, a digest mismatch and a broken image
 * record nothing; rmi's report. */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "store-test.h"

static const struct tentry base_layer[] = {{'d', "etc"}, {'f', "etc/base", "base\n"}, {0}};
static const struct tentry top_layer[] = {{'f', "top", "top\n"}, {0}};
static const struct tentry other_layer[] = {{'f', "other", "other\n"}, {0}};

/* A new file under the test directory, open for reading and writing. */
static int test_file(const char *name)
{
	cleanup_free char *path = test_root(name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		TAP_BAIL_OUT("create %s: %m", path);
	return fd;
}

static int tar_fd(const struct tentry *entries, enum tcomp comp)
{
	struct tbuf b = make_tar(entries, comp);
	int fd = test_file("layer.tar");

	if (write_all(fd, b.data, b.len) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		TAP_BAIL_OUT("write: %m");
	free(b.data);
	return fd;
}

static void import_tar(struct husk_store *s, const struct tentry *entries, enum tcomp comp,
		       const char *name, const char *base)
{
	struct husk_image_create c = {.name = name, .base = base, .created_by = "test"};
	husk_error *err = NULL;
	int fd = tar_fd(entries, comp);

	if (husk_store_import_tar(s, fd, &c, NULL, &err) < 0)
		TAP_BAIL_OUT("import %s: %s", name, err->msg);
	close(fd);
}

static char *image_id(struct husk_store *s, const char *ref)
{
	struct husk_image *img = NULL;
	husk_error *err = NULL;
	char *id;

	if (husk_store_image_get(s, ref, &img, &err) < 0) {
		husk_error_free(&err);
		return NULL;
	}
	id = strdup(img->id);
	husk_image_free(img);
	return id;
}

static char *index_text(struct husk_store *s)
{
	char *text = read_text(husk_store_root(s), "images.json");

	return text ? text : strdup("(none)");
}

/* The source store: gz:1 (a gzip layer), top:1 (gz:1 and a plain layer),
 * other:1 (a plain layer). */
static struct husk_store *source_store(void)
{
	struct husk_store *s = test_open("source", false);

	import_tar(s, base_layer, T_GZIP, "gz:1", NULL);
	import_tar(s, top_layer, T_NONE, "top:1", "gz:1");
	import_tar(s, other_layer, T_NONE, "other:1", NULL);
	return s;
}

static int save_to(struct husk_store *s, const char *const *refs, size_t n,
		   enum husk_archive_format format, int *ret_fd, husk_error **err)
{
	int fd = test_file("archive.tar"), r;

	r = husk_store_save(s, refs, n, format, fd, err);
	lseek(fd, 0, SEEK_SET);
	*ret_fd = fd;
	return r;
}

static bool strv_is(char **v, const char *const *want)
{
	size_t i = 0;

	for (; want[i]; i++)
		if (v == NULL || v[i] == NULL || strcmp(v[i], want[i]) != 0)
			return false;
	return v == NULL ? i == 0 : v[i] == NULL;
}

/* The docker-archive's layer entries are uncompressed: each one's sha256 is
 * the name of its directory (the DiffID). */
static void check_docker_layers(int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	unsigned layers = 0, good = 0;
	bool manifest = false;

	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
		TAP_BAIL_OUT("read archive: %s", archive_error_string(a));
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		unsigned char md[32];
		char hex[65];
		size_t len = (size_t)archive_entry_size(e);
		char *data = malloc(len + 1);
		manifest |= strcmp(name, "manifest.json") == 0;
		if (strlen(name) != 74 || strcmp(name + 64, "/layer.tar") != 0) {
			free(data);
			continue;
		}
		layers++;
		if (archive_read_data(a, data, len) != (la_ssize_t)len)
			TAP_BAIL_OUT("read %s", name);
		EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
		for (int i = 0; i < 32; i++)
			sprintf(hex + 2 * i, "%02x", md[i]);
		good += strncmp(hex, name, 64) == 0;
		free(data);
	}
	archive_read_free(a);
	lseek(fd, 0, SEEK_SET);
	CHECK(manifest, "docker-archive: manifest.json");
	CHECK_UINT_EQ(layers, 3, "docker-archive: each layer once (gz:1's shared by top:1)");
	CHECK_UINT_EQ(good, 3, "docker-archive: layers uncompressed, named by their DiffID");
}

static void check_loaded(struct husk_store *src, struct husk_store *dst, const char *what)
{
	cleanup_free char *a = image_id(src, "top:1"), *b = image_id(dst, "top:1");
	cleanup_free char *c = image_id(src, "other:1"), *d = image_id(dst, "other:1");
	struct husk_image *img = NULL;
	husk_error *err = NULL;

	CHECK(a && b && strcmp(a, b) == 0, "%s: top:1 has its id", what);
	CHECK(c && d && strcmp(c, d) == 0, "%s: other:1 has its id", what);
	if (CHECK_INT_EQ(husk_store_image_get(dst, "top:1", &img, &err), 0, "%s: top:1 read",
			 what)) {
		char *t0 = read_text(img->layers[0].path, "etc/base");
		char *t1 = read_text(img->layers[1].path, "top");
		CHECK_STR_EQ(t0, "base\n", "%s: its base layer unpacked", what);
		CHECK_STR_EQ(t1, "top\n", "%s: its top layer unpacked", what);
		free(t0);
		free(t1);
		husk_image_free(img);
	}
	husk_error_free(&err);
}

static void test_round_trips(void)
{
	struct husk_store *src = source_store();
	cleanup_free char *gz = image_id(src, "gz:1");
	const char *refs[] = {"top:1", "other", gz};
	struct husk_load_result res = {NULL};
	husk_error *err = NULL;
	int fd;

	/* "other" is no name of the store: other:1 is; an unknown ref fails */
	CHECK_INT_EQ(save_to(src, refs, 3, HUSK_ARCHIVE_DOCKER, &fd, &err), -1,
		     "save of an unknown name fails");
	CHECK(husk_error_is(err, HUSK_ERR_NOT_FOUND), "as not found: %s", err_msg(err));
	CHECK(lseek(fd, 0, SEEK_END) == 0, "and writes nothing");
	husk_error_free(&err);
	close(fd);
	refs[1] = "other:1";

	for (int f = 0; f < 2; f++) {
		enum husk_archive_format format = f ? HUSK_ARCHIVE_OCI : HUSK_ARCHIVE_DOCKER;
		const char *what = f ? "oci-archive" : "docker-archive";
		struct husk_store *dst = test_open(what, false);
		CHECK_INT_EQ(save_to(src, refs, 3, format, &fd, &err), 0, "%s: saved: %s", what,
			     err_msg(err));
		if (!f)
			check_docker_layers(fd);
		CHECK_INT_EQ(husk_store_load(dst, fd, &res, &err), 0, "%s: loaded: %s", what,
			     err_msg(err));
		CHECK(strv_is(res.names, (const char *const[]){"other:1", "top:1", NULL}),
		      "%s: the names saved", what);
		CHECK(strv_is(res.ids, (const char *const[]){gz, NULL}),
		      "%s: the image saved by id, by id", what);
		CHECK(image_id(dst, "gz:1") == NULL, "%s: gz:1 was saved by id: no name", what);
		check_loaded(src, dst, what);
		husk_load_result_clear(&res);
		close(fd);
		husk_store_close(dst);
	}
	husk_store_close(src);
}

/* A docker-archive of the same images is the same bytes, from either store. */
static void test_reproducible(void)
{
	struct husk_store *src = source_store(), *dst = test_open("repro", false);
	const char *refs[] = {"top:1", "other:1"};
	struct husk_load_result res = {NULL};
	husk_error *err = NULL;
	int a, b;

	if (save_to(src, refs, 2, HUSK_ARCHIVE_DOCKER, &a, &err) < 0 ||
	    husk_store_load(dst, a, &res, &err) < 0 ||
	    save_to(dst, refs, 2, HUSK_ARCHIVE_DOCKER, &b, &err) < 0)
		TAP_BAIL_OUT("save and load: %s", err_msg(err));
	{
		off_t la = lseek(a, 0, SEEK_END), lb = lseek(b, 0, SEEK_END);
		char *x = malloc((size_t)la), *y = malloc((size_t)lb);
		pread(a, x, (size_t)la, 0);
		pread(b, y, (size_t)lb, 0);
		CHECK(la == lb && memcmp(x, y, (size_t)la) == 0,
		      "the same images give the same docker-archive bytes");
		free(x);
		free(y);
	}
	husk_load_result_clear(&res);
	close(a);
	close(b);
	husk_store_close(dst);
	husk_store_close(src);
}

static size_t image_count(struct husk_store *s)
{
	struct husk_image_summary *list = NULL;
	husk_error *err = NULL;
	size_t n = 0;

	if (husk_store_list_images(s, &list, &n, &err) < 0)
		TAP_BAIL_OUT("list: %s", err_msg(err));
	husk_image_summaries_free(list, n);
	return n;
}

/* A docker-archive of an image whose layer is gzip'd in the store gives,
 * loaded back, a manifest of the plain layer: the same image (its config),
 * which keeps its manifest and takes the new name. */
static void test_same_image_back(void)
{
	struct husk_store *s = source_store();
	cleanup_free char *id = image_id(s, "gz:1"), *back = NULL;
	const char *refs[] = {"gz:1"};
	struct husk_load_result res = {NULL};
	size_t before = image_count(s);
	husk_error *err = NULL;
	int fd;

	if (save_to(s, refs, 1, HUSK_ARCHIVE_DOCKER, &fd, &err) < 0)
		TAP_BAIL_OUT("save: %s", err_msg(err));
	CHECK_INT_EQ(husk_store_load(s, fd, &res, &err), 0, "loaded back: %s", err_msg(err));
	CHECK_UINT_EQ(image_count(s), before, "no second entry for the same image");
	back = image_id(s, id + 7);
	CHECK(back != NULL && strcmp(back, id) == 0, "its id still names one image");
	husk_load_result_clear(&res);
	close(fd);
	husk_store_close(s);
}

static void expect_load_fails(struct husk_store *s, int fd, const char *needle, const char *what)
{
	cleanup_free char *before = index_text(s), *after = NULL;
	struct husk_load_result res = {NULL};
	husk_error *err = NULL;

	CHECK_INT_EQ(husk_store_load(s, fd, &res, &err), -1, "%s: refused", what);
	CHECK(husk_error_is(err, HUSK_ERR_INVALID), "%s: as invalid", what);
	CHECK_STR_CONTAINS(err_msg(err), needle, "%s: says why", what);
	CHECK(res.names == NULL && res.ids == NULL, "%s: no result", what);
	after = index_text(s);
	CHECK_STR_EQ(after, before, "%s: the index is as it was", what);
	husk_error_free(&err);
}

/* An OCI archive written by hand: one blob whose name is not its digest. */
static int forged_oci_archive(void)
{
	static const char fake[] =
	    "blobs/sha256/"
	    "1111111111111111111111111111111111111111111111111111111111111111";
	const struct tentry entries[] = {
	    {'f', "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"},
	    {'f', fake, "not what the name says"},
	    {'f', "index.json", "{\"schemaVersion\":2,\"manifests\":[]}"},
	    {0}};

	return tar_fd(entries, T_NONE);
}

static void test_bad_archives(void)
{
	struct husk_store *src = source_store(), *dst = test_open("bad", false);
	const char *refs[] = {"top:1", "other:1"};
	husk_error *err = NULL;
	int fd, half;
	off_t len;

	import_tar(dst, other_layer, T_NONE, "keep:1", NULL);
	if (save_to(src, refs, 2, HUSK_ARCHIVE_OCI, &fd, &err) < 0)
		TAP_BAIL_OUT("save: %s", err_msg(err));
	len = lseek(fd, 0, SEEK_END);
	half = test_file("half.tar");
	{
		char *buf = malloc((size_t)len);
		pread(fd, buf, (size_t)len, 0);
		write_all(half, buf, (size_t)len / 2);
		free(buf);
	}
	lseek(half, 0, SEEK_SET);
	expect_load_fails(dst, half, "truncated", "a truncated archive");
	close(half);
	close(fd);
	fd = forged_oci_archive();
	expect_load_fails(dst, fd, "digest mismatch", "a blob that is not its digest");
	close(fd);
	fd = tar_fd(top_layer, T_NONE);
	expect_load_fails(dst, fd, "not an image archive", "a tar of no image");
	close(fd);
	husk_store_close(dst);
	husk_store_close(src);
}

/* A blob of the store gone bad: save fails rather than write it. */
static void test_save_corrupt_store(void)
{
	struct husk_store *s = source_store();
	cleanup_free char *id = image_id(s, "other:1"), *path = NULL;
	const char *refs[] = {"other:1"};
	husk_error *err = NULL;
	int fd;

	if (asprintf(&path, "%s/blobs/sha256/%s", husk_store_root(s), id + 7) < 0)
		TAP_BAIL_OUT("asprintf");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, "X", 1, 0) != 1)
		TAP_BAIL_OUT("corrupt %s: %m", path);
	close(fd);
	CHECK_INT_EQ(save_to(s, refs, 1, HUSK_ARCHIVE_OCI, &fd, &err), -1,
		     "save of an image whose config blob is corrupt fails");
	CHECK_STR_CONTAINS(err_msg(err), "corrupt", "saying so");
	husk_error_free(&err);
	close(fd);
	husk_store_close(s);
}

static void test_rmi_report(void)
{
	struct husk_store *s = test_open("rmi", false);
	cleanup_free char *id = NULL;
	struct husk_removal r = {NULL};
	husk_error *err = NULL;

	import_tar(s, other_layer, T_NONE, "a:1", NULL);
	husk_store_tag(s, "a:1", "b:1", &err);
	id = image_id(s, "a:1");
	CHECK_INT_EQ(husk_store_rmi(s, "a:1", false, &r, &err), 0, "rmi a name");
	CHECK(strv_is(r.untagged, (const char *const[]){"a:1", NULL}), "reports that name");
	CHECK(r.deleted_id == NULL, "the image stays (another name)");
	husk_removal_clear(&r);
	CHECK_INT_EQ(husk_store_hold(s, "ctr", "b:1", &err), 0, "a container holds it");
	CHECK_INT_EQ(husk_store_rmi(s, "b:1", false, &r, &err), -1, "rmi of a held image");
	CHECK(husk_error_is(err, HUSK_ERR_BUSY), "is busy");
	CHECK_STR_CONTAINS(err_msg(err), "in use by container ctr", "naming the container");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_rmi(s, "b:1", true, &r, &err), 0, "forced");
	CHECK(strv_is(r.untagged, (const char *const[]){"b:1", NULL}) && r.deleted_id == NULL,
	      "untags only: the held image stays");
	husk_removal_clear(&r);
	husk_store_release(s, "ctr", &err);
	CHECK_INT_EQ(husk_store_rmi(s, id, false, &r, &err), 0, "released, by id");
	CHECK(r.untagged == NULL && r.deleted_id && strcmp(r.deleted_id, id) == 0,
	      "deleted, reported by its id");
	husk_removal_clear(&r);
	husk_store_close(s);
}

static void test_format_names(void)
{
	enum husk_archive_format f;
	husk_error *err = NULL;

	CHECK(husk_archive_format_parse("docker-archive", &f, &err) == 0 &&
		  f == HUSK_ARCHIVE_DOCKER,
	      "docker-archive");
	CHECK(husk_archive_format_parse("oci-archive", &f, &err) == 0 && f == HUSK_ARCHIVE_OCI,
	      "oci-archive");
	CHECK_INT_EQ(husk_archive_format_parse("oci", &f, &err), -1, "oci refused");
	CHECK(husk_error_is(err, HUSK_ERR_INVALID), "as invalid");
	husk_error_free(&err);
}

int main(void)
{
	test_setup();
	test_round_trips();
	test_reproducible();
	test_same_image_back();
	test_bad_archives();
	test_save_corrupt_store();
	test_rmi_report();
	test_format_names();
	return tap_done();
}
