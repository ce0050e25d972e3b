/* SPDX-License-Identifier: MIT */
/* Images: import, config, names, resolving, rmi, holds, gc, Docker and OCI
 * manifests and indexes, and concurrent and killed writers. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "tap.h"
#include "store-test.h"

static const char *full_config =
    "{\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"-x\",\"y\"],\"Env\":[\"A=1\",\"PATH=/bin\"],"
    "\"WorkingDir\":\"/w\",\"User\":\"1000:1000\",\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},"
    "\"Volumes\":{\"/data\":{}},\"StopSignal\":\"SIGINT\",\"Labels\":{\"b\":\"2\",\"a\":\"1\"},"
    "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000,\"Retries\":3}}";

static char *make_tree(const char *name, const char *hostname)
{
	char *dir = test_root(name);

	make_dir(dir, ".", 0755);
	make_dir(dir, "etc", 0755);
	make_dir(dir, "bin", 0755);
	write_text(dir, "etc/hostname", hostname, 0644);
	return dir;
}

static int import_tree(struct husk_store *s, const char *dir, const char *name, json_t *config,
		       char **ret, husk_error **err)
{
	struct husk_pack_opts pack = {.mtime = 0};
	struct husk_image_create c = {.config = config, .name = name, .created_by = "test"};
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		TAP_BAIL_OUT("open %s: %m", dir);
	r = husk_store_import_dir(s, fd, &pack, &c, ret, err);
	close(fd);
	return r;
}

static bool strv_eq(char **v, const char *const *want)
{
	size_t i = 0;

	for (; want[i]; i++)
		if (v == NULL || v[i] == NULL || strcmp(v[i], want[i]) != 0)
			return false;
	return v != NULL && v[i] == NULL;
}

static void check_config(const struct husk_image_config *c)
{
	CHECK(strv_eq(c->entrypoint, (const char *[]){"/bin/ep", NULL}), "config: Entrypoint");
	CHECK(strv_eq(c->cmd, (const char *[]){"-x", "y", NULL}), "config: Cmd");
	CHECK(strv_eq(c->env, (const char *[]){"A=1", "PATH=/bin", NULL}), "config: Env");
	CHECK_STR_EQ(c->working_dir, "/w", "config: WorkingDir");
	CHECK_STR_EQ(c->user, "1000:1000", "config: User");
	CHECK(strv_eq(c->exposed_ports, (const char *[]){"53/udp", "80/tcp", NULL}),
	      "config: ExposedPorts, sorted");
	CHECK(strv_eq(c->volumes, (const char *[]){"/data", NULL}), "config: Volumes");
	CHECK_STR_EQ(c->stop_signal, "SIGINT", "config: StopSignal");
	CHECK(strv_eq(c->labels, (const char *[]){"a=1", "b=2", NULL}), "config: Labels");
	if (CHECK(c->healthcheck != NULL, "config: Healthcheck")) {
		CHECK(strv_eq(c->healthcheck->test, (const char *[]){"CMD", "true", NULL}),
		      "config: Healthcheck.Test");
		CHECK_INT_EQ(c->healthcheck->interval_ns, 1000000000,
			     "config: Healthcheck.Interval");
		CHECK_INT_EQ(c->healthcheck->retries, 3, "config: Healthcheck.Retries");
	}
}

static void test_import(void)
{
	struct husk_store *s = test_open("import", false);
	cleanup_free char *dir = make_tree("tree", "one\n");
	json_t *config = json_loads(full_config, 0, NULL);
	struct husk_image *img = NULL;
	husk_error *err = NULL;
	char *digest = NULL, *text, **problems = NULL;

	CHECK_INT_EQ(import_tree(s, dir, "myimg", config, &digest, &err), 0,
		     "a directory is imported: %s", err_msg(err));
	json_decref(config);
	if (!CHECK_INT_EQ(husk_store_image_get(s, "myimg", &img, &err), 0, "and found by name: %s",
			  err_msg(err)))
		TAP_BAIL_OUT("no image");
	CHECK_STR_EQ(img->manifest_digest, digest, "the manifest digest returned");
	CHECK(strv_eq(img->tags, (const char *[]){"myimg:latest", NULL}), "tagged myimg:latest");
	CHECK_STR_EQ(img->media_type, "application/vnd.oci.image.manifest.v1+json", "OCI manifest");
	CHECK_INT_EQ(img->n_layers, 1, "one layer");
	CHECK(img->id && img->id[0] == 's' && strcmp(img->id, digest) != 0,
	      "its id is the config digest");
	text = img->layers[0].path ? read_text(img->layers[0].path, "etc/hostname") : NULL;
	CHECK_STR_EQ(text, "one\n", "its layer is unpacked");
	free(text);
	CHECK(img->size > 0 && img->size == img->layers[0].size, "size: the layers' blobs");
	check_config(&img->config);
	CHECK(json_is_array(json_object_get(img->config_json, "history")), "history kept");
	CHECK_INT_EQ(husk_store_check(s, &problems, &err), 0, "check");
	CHECK(problems == NULL, "checks clean (%s)", problems ? problems[0] : "");
	strv_free(problems);
	husk_image_free(img);
	free(digest);
	husk_store_close(s);
}

static void expect_name(const char *in, const char *out)
{
	char *got = NULL;
	husk_error *err = NULL;

	if (out == NULL) {
		CHECK_INT_EQ(husk_store_normalize_name(in, &got, &err), -1, "name `%s` refused",
			     in);
		CHECK(husk_error_is(err, HUSK_ERR_INVALID), "as invalid");
		husk_error_free(&err);
		return;
	}
	CHECK_INT_EQ(husk_store_normalize_name(in, &got, &err), 0, "name `%s` accepted", in);
	CHECK_STR_EQ(got, out, "`%s` normalized", in);
	free(got);
}

static void test_names(void)
{
	expect_name("busybox", "busybox:latest");
	expect_name("busybox:1.36", "busybox:1.36");
	expect_name("library/busybox", "library/busybox:latest");
	expect_name("localhost:5000/x", "localhost:5000/x:latest");
	expect_name("registry.example.com:443/ns/img:v1.2_rc-1",
		    "registry.example.com:443/ns/img:v1.2_rc-1");
	expect_name("a__b.c-d---e", "a__b.c-d---e:latest");
	expect_name("Upper", NULL);
	expect_name("a:", NULL);
	expect_name(":tag", NULL);
	expect_name("", NULL);
	expect_name("a//b", NULL);
	expect_name("-a", NULL);
	expect_name("a-", NULL);
	expect_name("a..b", NULL);
	expect_name("a:b:c", NULL);
	expect_name("a@sha256:00", NULL);
	expect_name("../../etc", NULL);
	expect_name("../x", NULL);
	expect_name("a..b/x", NULL);
	expect_name("-a.b/x", NULL);
	expect_name("a.b:/x", NULL);
	expect_name("a.b:12x/x", NULL);
	expect_name("my-registry.example:5000/a/b:c", "my-registry.example:5000/a/b:c");
}

static char *create_plain(struct husk_store *s, int i, const char *name)
{
	char env[32], *digest = NULL;
	json_t *config;
	husk_error *err = NULL;
	struct husk_image_create c = {.name = name};

	snprintf(env, sizeof(env), "N=%d", i);
	config = json_pack("{s:[s]}", "Env", env);
	c.config = config;
	if (husk_store_create_image(s, &c, &digest, &err) < 0)
		TAP_BAIL_OUT("create image %d: %s", i, err->msg);
	json_decref(config);
	return digest;
}

static void test_resolve(void)
{
	struct husk_store *s = test_open("resolve", false);
	cleanup_free char *dir = make_tree("tree", "r\n");
	struct husk_image *img = NULL;
	husk_error *err = NULL;
	char *digest = NULL, *got = NULL, ref[128];
	struct husk_image_summary *list = NULL;
	size_t n = 0;
	char first[17] = {0};
	bool ambiguous_checked = false;

	import_tree(s, dir, "app:1", NULL, &digest, &err);
	husk_store_image_get(s, "app:1", &img, &err);
#define RESOLVES(r, what)                                                                          \
	do {                                                                                       \
		CHECK_INT_EQ(husk_store_resolve(s, r, &got, &err), 0, "resolve %s", what);         \
		CHECK_STR_EQ(got, digest, "%s names the image", what);                             \
		free(got);                                                                         \
		got = NULL;                                                                        \
	} while (0)
	RESOLVES("app:1", "name:tag");
	RESOLVES(img->id, "the full id");
	snprintf(ref, sizeof(ref), "%.12s", img->id + 7);
	RESOLVES(ref, "a 12-hex id prefix");
	snprintf(ref, sizeof(ref), "sha256:%.20s", img->id + 7);
	RESOLVES(ref, "sha256:prefix");
	snprintf(ref, sizeof(ref), "%.10s", digest + 7);
	RESOLVES(ref, "a manifest digest prefix");
	snprintf(ref, sizeof(ref), "app@%s", digest);
	RESOLVES(ref, "name@digest");
	CHECK_INT_EQ(husk_store_resolve(s, "nothere", &got, &err), -1, "an unknown name");
	CHECK(husk_error_is(err, HUSK_ERR_NOT_FOUND), "is not found: %s", err_msg(err));
	CHECK_STR_CONTAINS(err_msg(err), "no such image: nothere", "the error names it");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_resolve(s, "app", &got, &err), -1, "app means app:latest");
	husk_error_free(&err);
	husk_image_free(img);
	free(digest);

	/* 17 images: two of them share their ids' first hex digit. */
	for (int i = 0; i < 17; i++)
		free(create_plain(s, i, NULL));
	CHECK_INT_EQ(husk_store_list_images(s, &list, &n, &err), 0, "list");
	CHECK_INT_EQ(n, 18, "18 images listed");
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(list[i - 1].id, list[i].id) < 0, "sorted by id (%zu)", i);
	for (size_t i = 1; i < n && !ambiguous_checked; i++) {
		if (list[i - 1].id[7] != list[i].id[7])
			continue;
		first[0] = list[i].id[7];
		CHECK_INT_EQ(husk_store_resolve(s, first, &got, &err), -1,
			     "an ambiguous prefix `%s`", first);
		CHECK(husk_error_is(err, HUSK_ERR_INVALID), "is invalid: %s", err_msg(err));
		CHECK_STR_CONTAINS(err_msg(err), "ambiguous", "and says so");
		husk_error_free(&err);
		ambiguous_checked = true;
	}
	CHECK(ambiguous_checked, "an ambiguous prefix was found");
	husk_image_summaries_free(list, n);
	husk_store_close(s);
}

static void test_tags_and_rmi(void)
{
	struct husk_store *s = test_open("rmi", false);
	cleanup_free char *dir = make_tree("tree", "t\n");
	struct husk_image_summary *list = NULL;
	struct husk_store_gc_stats st = {0};
	husk_error *err = NULL;
	char *digest = NULL, *got = NULL;
	size_t n = 0;
	bool deleted = true;

	import_tree(s, dir, "myimg", NULL, &digest, &err);
	CHECK_INT_EQ(husk_store_tag(s, "myimg", "other:1", &err), 0, "tag myimg other:1");
	CHECK_INT_EQ(husk_store_resolve(s, "other:1", &got, &err), 0, "the new name resolves");
	CHECK_STR_EQ(got, digest, "to the same image");
	free(got);
	CHECK_INT_EQ(husk_store_tag(s, "nothere", "x", &err), -1, "tagging nothing fails");
	CHECK(husk_error_is(err, HUSK_ERR_NOT_FOUND), "as not found");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_tag(s, "myimg", "Bad Name", &err), -1, "a bad name is refused");
	husk_error_free(&err);
	husk_store_list_images(s, &list, &n, &err);
	CHECK(n == 1 && strv_eq(list[0].tags, (const char *[]){"myimg:latest", "other:1", NULL}),
	      "one image, two names");
	husk_image_summaries_free(list, n);

	CHECK_INT_EQ(husk_store_remove_image(s, digest + 7, false, &deleted, &err), -1,
		     "rmi by id of an image with two names needs force");
	CHECK(husk_error_is(err, HUSK_ERR_BUSY), "busy: %s", err_msg(err));
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_remove_image(s, "other:1", false, &deleted, &err), 0,
		     "rmi other:1");
	CHECK(!deleted, "only untagged");
	CHECK_INT_EQ(husk_store_gc(s, &st, &err), 0, "gc");
	CHECK_INT_EQ(st.blobs + st.layers, 0, "gc keeps a named image");
	CHECK_INT_EQ(husk_store_remove_image(s, "myimg", false, &deleted, &err), 0, "rmi myimg");
	CHECK(deleted, "its last name: deleted");
	CHECK_INT_EQ(husk_store_resolve(s, "myimg", &got, &err), -1, "gone");
	husk_error_free(&err);
	CHECK_INT_EQ(count_in(s, "layers"), 1, "the layer stays until gc");
	CHECK_INT_EQ(husk_store_gc(s, &st, &err), 0, "gc: %s", err_msg(err));
	CHECK_INT_EQ(st.blobs, 3, "gc removed layer, config and manifest blobs");
	CHECK_INT_EQ(st.layers, 1, "and the layer");
	CHECK_INT_EQ(count_in(s, "layers"), 0, "layers/ is empty");
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0, "blobs/ is empty");
	free(digest);
	husk_store_close(s);
}

static void test_holds(void)
{
	struct husk_store *s = test_open("holds", false);
	cleanup_free char *dir = make_tree("tree", "h\n");
	struct husk_image_summary *list = NULL;
	struct husk_store_gc_stats st = {0};
	husk_error *err = NULL;
	char *digest = NULL;
	size_t n = 0;
	bool deleted = true;

	import_tree(s, dir, "held", NULL, &digest, &err);
	CHECK_INT_EQ(husk_store_hold(s, "ctr1", "held", &err), 0, "a container holds the image");
	CHECK_INT_EQ(husk_store_hold(s, "../x", "held", &err), -1,
		     "a holder that is a path is refused");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_hold(s, "ctr2", "nothere", &err), -1, "holding nothing fails");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_remove_image(s, "held", false, &deleted, &err), -1,
		     "rmi of a held image is refused");
	CHECK(husk_error_is(err, HUSK_ERR_BUSY), "busy: %s", err_msg(err));
	CHECK_STR_CONTAINS(err_msg(err), "ctr1", "naming the holder");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_remove_image(s, "held", true, &deleted, &err), 0, "forced");
	CHECK(!deleted, "the name went, the held image stays");
	husk_store_list_images(s, &list, &n, &err);
	CHECK(n == 1 && list[0].tags == NULL, "listed without a name");
	husk_image_summaries_free(list, n);
	CHECK_INT_EQ(husk_store_gc(s, &st, &err), 0, "gc");
	CHECK_INT_EQ(st.blobs + st.layers, 0, "gc keeps what is held");
	CHECK_INT_EQ(husk_store_release(s, "ctr1", &err), 0, "release");
	CHECK_INT_EQ(husk_store_release(s, "ctr1", &err), 0, "release twice is fine");
	CHECK_INT_EQ(husk_store_remove_image(s, digest, false, &deleted, &err), 0,
		     "rmi by digest: %s", err_msg(err));
	CHECK(deleted, "deleted");
	CHECK_INT_EQ(husk_store_gc(s, &st, &err), 0, "gc");
	CHECK_INT_EQ(st.layers, 1, "now the layer goes");
	free(digest);
	husk_store_close(s);
}

static char *put_json(struct husk_store *s, const char *fmt, ...)
{
	char *text = NULL, *digest = NULL;
	husk_error *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		TAP_BAIL_OUT("vasprintf");
	va_end(ap);
	if (husk_store_write_blob(s, text, strlen(text), NULL, &digest, &err) < 0)
		TAP_BAIL_OUT("blob: %s", err->msg);
	free(text);
	return digest;
}

static int64_t size_of(struct husk_store *s, const char *digest)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", husk_store_root(s), digest + 7);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static const struct tentry small_layer[] = {{'f', "hello", "world"}, {0}};

/* A pulled image, as a registry would hand it over: Docker schema 2, gzip. */
static void test_docker_manifest(void)
{
	struct husk_store *s = test_open("docker", false);
	struct tbuf plain = make_tar(small_layer, T_NONE);
	char *diff = NULL, *layer, *config, *manifest, *got = NULL, *text, *bad;
	struct husk_image *img = NULL;
	husk_error *err = NULL;

	husk_store_write_blob(s, plain.data, plain.len, NULL, &diff, &err);
	free(plain.data);
	layer = strdup(store_tar(s, small_layer, T_GZIP));
	config = put_json(s,
			  "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/"
			  "hello\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
			  diff);
	manifest = put_json(
	    s,
	    "{\"schemaVersion\":2,\"mediaType\":\"application/"
	    "vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/"
	    "vnd.docker.container.image.v1+json\",\"size\":%lld,\"digest\":\"%s\"},\"layers\":[{"
	    "\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":%lld,"
	    "\"digest\":\"%s\"}]}",
	    (long long)size_of(s, config), config, (long long)size_of(s, layer), layer);
	CHECK_INT_EQ(husk_store_record_image(s, manifest, "dock:1", &got, &err), 0,
		     "a Docker schema 2 image is recorded: %s", err_msg(err));
	CHECK_STR_EQ(got, manifest, "as its manifest");
	free(got);
	got = NULL;
	if (CHECK_INT_EQ(husk_store_image_get(s, "dock:1", &img, &err), 0, "and read")) {
		text = img->layers[0].path ? read_text(img->layers[0].path, "hello") : NULL;
		CHECK_STR_EQ(text, "world", "its gzip layer is unpacked");
		free(text);
		CHECK(img->config.cmd && strcmp(img->config.cmd[0], "/hello") == 0, "its Cmd");
		husk_image_free(img);
	}

	/* The same manifest with a wrong layer size. */
	bad = put_json(
	    s,
	    "{\"schemaVersion\":2,\"mediaType\":\"application/"
	    "vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/"
	    "vnd.docker.container.image.v1+json\",\"size\":%lld,\"digest\":\"%s\"},\"layers\":[{"
	    "\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":%lld,"
	    "\"digest\":\"%s\"}]}",
	    (long long)size_of(s, config), config, (long long)size_of(s, layer) + 1, layer);
	CHECK_INT_EQ(husk_store_record_image(s, bad, "bad:1", &got, &err), -1,
		     "a layer size other than the manifest's is refused");
	CHECK_STR_CONTAINS(err_msg(err), "the manifest says", "as such");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_resolve(s, "bad:1", &got, &err), -1, "and not recorded");
	husk_error_free(&err);
	free(bad);

	/* A config whose DiffID the layer does not have. */
	bad =
	    put_json(s,
		     "{\"schemaVersion\":2,\"mediaType\":\"application/"
		     "vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/"
		     "vnd.oci.image.config.v1+json\",\"size\":%lld,\"digest\":\"%s\"},\"layers\":[{"
		     "\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"size\":%lld,"
		     "\"digest\":\"%s\"}]}",
		     (long long)size_of(s, config), config, (long long)size_of(s, layer),
		     store_tar(s, (const struct tentry[]){{'f', "other", "x"}, {0}}, T_GZIP));
	CHECK_INT_EQ(husk_store_record_image(s, bad, "bad:2", &got, &err), -1,
		     "a layer that is not the config's DiffID is refused");
	husk_error_free(&err);
	CHECK_INT_EQ(count_in(s, "layers"), 1, "nothing more in layers/");
	free(bad);
	free(layer);
	free(config);
	free(manifest);
	free(diff);
	husk_store_close(s);
}

static void test_index(void)
{
	struct husk_store *s = test_open("index", false);
	char *diff = NULL, *config, *manifest, *index, *got = NULL;
	const char *missing =
	    "sha256:2222222222222222222222222222222222222222222222222222222222222222";
	husk_error *err = NULL;
	const char *layer = store_tar(s, small_layer, T_NONE);

	diff = strdup(layer);
	config = put_json(
	    s, "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", diff);
	manifest =
	    put_json(s,
		     "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
		     "vnd.oci.image.config.v1+json\",\"size\":%lld,\"digest\":\"%s\"},"
		     "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
		     "\"size\":%lld,\"digest\":\"%s\"}]}",
		     (long long)size_of(s, config), config, (long long)size_of(s, diff), diff);
	index =
	    put_json(s,
		     "{\"schemaVersion\":2,\"mediaType\":\"application/"
		     "vnd.oci.image.index.v1+json\",\"manifests\":["
		     "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":1,"
		     "\"digest\":\"%s\",\"platform\":{\"os\":\"linux\",\"architecture\":\"s390x-"
		     "not-this\"}},"
		     "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":%lld,"
		     "\"digest\":\"%s\",\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}]}",
		     missing, (long long)size_of(s, manifest), manifest,
#if defined(__x86_64__)
		     "amd64"
#elif defined(__aarch64__)
		     "arm64"
#else
		     "unknown"
#endif
	    );
	CHECK_INT_EQ(husk_store_record_image(s, index, "multi", &got, &err), 0,
		     "an OCI index is recorded: %s", err_msg(err));
	CHECK_STR_EQ(got, manifest, "as this platform's manifest (no mediaType field needed)");
	free(got);
	got = NULL;
	CHECK_INT_EQ(husk_store_record_image(s, config, NULL, &got, &err), -1,
		     "a config is no manifest");
	CHECK(husk_error_is(err, HUSK_ERR_UNSUPPORTED), "unsupported: %s", err_msg(err));
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_record_image(s, missing, NULL, &got, &err), -1,
		     "a missing manifest");
	CHECK(husk_error_is(err, HUSK_ERR_NOT_FOUND), "not found: %s", err_msg(err));
	husk_error_free(&err);
	free(diff);
	free(config);
	free(manifest);
	free(index);
	husk_store_close(s);
}

static void test_import_tar_and_base(void)
{
	struct husk_store *s = test_open("importtar", false);
	cleanup_free char *file = test_root("rootfs.tar.gz"), *dir = make_tree("top", "top\n");
	struct tbuf g = make_tar(small_layer, T_GZIP);
	struct husk_image_create c = {.name = "fromtar"};
	struct husk_image *img = NULL;
	husk_error *err = NULL;
	char *digest = NULL, *text;
	int fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	write_all(fd, g.data, g.len);
	lseek(fd, 0, SEEK_SET);
	free(g.data);
	CHECK_INT_EQ(husk_store_import_tar(s, fd, &c, &digest, &err), 0,
		     "a gzip rootfs tar is imported: %s", err_msg(err));
	close(fd);
	free(digest);
	digest = NULL;
	if (CHECK_INT_EQ(husk_store_image_get(s, "fromtar", &img, &err), 0, "and read")) {
		CHECK_STR_EQ(img->layers[0].media_type,
			     "application/vnd.oci.image.layer.v1.tar+gzip", "its layer is gzip");
		husk_image_free(img);
		img = NULL;
	}
	{
		json_t *config = json_pack("{s:[s]}", "Cmd", "/top");
		struct husk_pack_opts pack = {.mtime = 0};
		struct husk_image_create top = {
		    .base = "fromtar", .name = "stacked", .config = config};
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		CHECK_INT_EQ(husk_store_import_dir(s, dfd, &pack, &top, &digest, &err), 0,
			     "an image on a base: %s", err_msg(err));
		close(dfd);
		json_decref(config);
	}
	if (CHECK_INT_EQ(husk_store_image_get(s, "stacked", &img, &err), 0, "read")) {
		CHECK_INT_EQ(img->n_layers, 2, "base layer + new layer");
		text = read_text(img->layers[0].path, "hello");
		CHECK_STR_EQ(text, "world", "the base layer first");
		free(text);
		text = read_text(img->layers[1].path, "etc/hostname");
		CHECK_STR_EQ(text, "top\n", "then the new one");
		free(text);
		CHECK_INT_EQ(json_array_size(json_object_get(img->config_json, "history")), 2,
			     "two history entries");
		husk_image_free(img);
	}
	free(digest);
	husk_store_close(s);
}

/* Two (and four) processes import the same image at once. */
static void test_concurrent_imports(int n)
{
	cleanup_free char *root = test_root("concurrent");
	cleanup_free char *dir = make_tree("tree", "same\n");
	struct husk_store *s;
	struct husk_image_summary *list = NULL;
	husk_error *err = NULL;
	char **problems = NULL;
	size_t count = 0;
	int ok = 0;
	pid_t pids[8];

	for (int i = 0; i < 20; i++) {
		char sub[32];
		snprintf(sub, sizeof(sub), "bin/f%02d", i);
		write_text(dir, sub, "some content to make it take a little while", 0755);
	}
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct husk_store *cs = test_open_at(root, false);
			husk_error *cerr = NULL;
			int r = import_tree(cs, dir, "same:1", NULL, NULL, &cerr);
			husk_store_close(cs);
			_exit(r < 0);
		}
	}
	for (int i = 0; i < n; i++) {
		int status = 0;
		waitpid(pids[i], &status, 0);
		ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	CHECK_INT_EQ(ok, n, "%d concurrent imports all succeed", n);
	s = test_open_at(root, false);
	husk_store_list_images(s, &list, &count, &err);
	CHECK_INT_EQ(count, 1, "%d concurrent imports: one image", n);
	CHECK(count == 1 && strv_eq(list[0].tags, (const char *[]){"same:1", NULL}), "one name");
	husk_image_summaries_free(list, count);
	CHECK_INT_EQ(count_in(s, "layers"), 1, "one layer directory");
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 3, "three blobs");
	husk_store_check(s, &problems, &err);
	CHECK(problems == NULL, "the store checks clean (%s)", problems ? problems[0] : "");
	strv_free(problems);
	husk_store_close(s);
}

/* One process imports images while another collects garbage: the lock
 * keeps gc from taking the blobs of an image not yet recorded. */
static void test_gc_races_import(void)
{
	cleanup_free char *root = test_root("gcrace");
	struct husk_store *s;
	struct husk_image_summary *list = NULL;
	husk_error *err = NULL;
	char **problems = NULL;
	size_t count = 0;
	int status = 0, gc_status = 0;
	pid_t importer, collector;

	s = test_open_at(root, false); /* creates the store */
	husk_store_close(s);
	importer = fork();
	if (importer == 0) {
		for (int i = 0; i < 8; i++) {
			char name[32], host[32];
			cleanup_free char *dir = NULL;
			struct husk_store *cs = test_open_at(root, false);
			husk_error *cerr = NULL;
			snprintf(name, sizeof(name), "img%d", i);
			snprintf(host, sizeof(host), "h%d\n", i);
			dir = make_tree(name, host);
			if (import_tree(cs, dir, name, NULL, NULL, &cerr) < 0)
				_exit(1);
			husk_store_close(cs);
		}
		_exit(0);
	}
	collector = fork();
	if (collector == 0) {
		for (int i = 0; i < 30; i++) {
			struct husk_store *cs = test_open_at(root, false);
			husk_error *cerr = NULL;
			if (husk_store_gc(cs, NULL, &cerr) < 0)
				_exit(1);
			husk_store_close(cs);
		}
		_exit(0);
	}
	waitpid(importer, &status, 0);
	waitpid(collector, &gc_status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "8 imports while gc runs succeed");
	CHECK(WIFEXITED(gc_status) && WEXITSTATUS(gc_status) == 0, "30 gcs succeed");
	s = test_open_at(root, false);
	husk_store_list_images(s, &list, &count, &err);
	CHECK_INT_EQ(count, 8, "all 8 images are there");
	husk_image_summaries_free(list, count);
	husk_store_check(s, &problems, &err);
	CHECK(problems == NULL, "the store checks clean (%s)", problems ? problems[0] : "");
	strv_free(problems);
	husk_store_close(s);
}

/* An import killed at random points: every time, the store holds the old
 * state or the new one, checks clean, and gc leaves no temp. */
static void test_killed_imports(void)
{
	cleanup_free char *root = test_root("killed");
	cleanup_free char *dir = make_tree("big", "big\n");
	struct husk_store_gc_stats st = {0};
	struct husk_store *s;
	husk_error *err = NULL;
	int recorded = 0, rounds = 24, clean = 0;
	char *data = malloc(1 << 20);

	for (int i = 0; i < (1 << 20); i++)
		data[i] = (char)(i * 31 + i / 977);
	for (int i = 0; i < 8; i++) {
		char sub[32];
		cleanup_free char *p = NULL;
		int fd;
		snprintf(sub, sizeof(sub), "bin/blob%d", i);
		p = path_in(dir, sub);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		data[0] = (char)i;
		write_all(fd, data, 1 << 20);
		close(fd);
	}
	free(data);
	s = test_open_at(root, false);
	husk_store_close(s);
	for (int round = 0; round < rounds; round++) {
		char name[32], **problems = NULL, *got = NULL;
		pid_t pid;
		snprintf(name, sizeof(name), "killed%d", round);
		pid = fork();
		if (pid == 0) {
			struct husk_store *cs = test_open_at(root, false);
			husk_error *cerr = NULL;
			_exit(import_tree(cs, dir, name, NULL, NULL, &cerr) < 0);
		}
		usleep((useconds_t)(round * 4000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		s = test_open_at(root, false);
		if (husk_store_resolve(s, name, &got, &err) == 0)
			recorded++;
		husk_error_free(&err);
		free(got);
		husk_store_check(s, &problems, &err);
		clean += problems == NULL;
		if (problems)
			tap_diag("round %d: %s", round, problems[0]);
		strv_free(problems);
		husk_store_close(s);
	}
	tap_diag("%d of %d killed imports had finished", recorded, rounds);
	CHECK_INT_EQ(clean, rounds, "after every kill the store checks clean");
	s = test_open_at(root, false);
	CHECK_INT_EQ(husk_store_gc(s, &st, &err), 0, "gc");
	CHECK_INT_EQ(st.temps + count_in(s, "layers"), st.temps + (recorded > 0 ? 1 : 0),
		     "gc leaves one layer at most (they are all the same)");
	husk_store_close(s);
}

int main(void)
{
	test_setup();
	test_import();
	test_names();
	test_resolve();
	test_tags_and_rmi();
	test_holds();
	test_docker_manifest();
	test_index();
	test_import_tar_and_base();
	test_concurrent_imports(2);
	test_concurrent_imports(4);
	test_gc_races_import();
	test_killed_imports();
	return tap_done();
}
