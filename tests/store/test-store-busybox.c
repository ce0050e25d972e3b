/* SPDX-License-Identifier: MIT */
/* The built-in busybox image: its content, its config, reproducible and
 * idempotent, quick, and gone after rmi and gc. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tap.h"
#include "store-test.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void check_layer(const char *path)
{
	char target[256] = "", *text;
	cleanup_free char *sh = path_in(path, "bin/sh");
	ssize_t n = readlink(sh, target, sizeof(target) - 1);

	if (n > 0)
		target[n] = '\0';
	CHECK_STR_EQ(target, "/bin/busybox", "/bin/sh -> /bin/busybox");
	CHECK(S_ISLNK(lmode(path, "usr/bin/env")), "an applet in /usr/bin");
	CHECK(S_ISREG(lmode(path, "bin/busybox")), "/bin/busybox is a file");
	CHECK_INT_EQ(lmode(path, "bin/busybox") & 07777, 0755, "mode 0755");
	CHECK_INT_EQ(lmode(path, "tmp") & 07777, 01777, "/tmp is 1777");
	CHECK_INT_EQ(lmode(path, "root") & 07777, 0700, "/root is 0700");
	CHECK(S_ISDIR(lmode(path, "proc")) && S_ISDIR(lmode(path, "sys")) &&
		  S_ISDIR(lmode(path, "dev")),
	      "/proc, /sys and /dev exist");
	{
		cleanup_free char *dev = path_in(path, "dev");
		CHECK_INT_EQ(count_entries(dev), 0, "/dev is empty");
	}
	text = read_text(path, "etc/passwd");
	CHECK_STR_CONTAINS(text, "root:x:0:0:root:/root:/bin/sh\n", "/etc/passwd has root");
	CHECK_STR_CONTAINS(text, "nobody:x:65534:65534:", "and nobody");
	free(text);
	text = read_text(path, "etc/group");
	CHECK_STR_CONTAINS(text, "root:x:0:", "/etc/group has root");
	free(text);
}

static void check_image(struct husk_store *s)
{
	struct husk_image *img = NULL;
	husk_error *err = NULL;

	if (!CHECK_INT_EQ(husk_store_image_get(s, "busybox", &img, &err), 0,
			  "`busybox` names it: %s", err_msg(err)))
		return;
	CHECK_INT_EQ(img->n_layers, 1, "one layer");
	CHECK(img->tags && strcmp(img->tags[0], "busybox:latest") == 0, "tagged busybox:latest");
	CHECK(img->config.cmd && strcmp(img->config.cmd[0], "sh") == 0 && !img->config.cmd[1],
	      "Cmd [\"sh\"]");
	CHECK(img->config.env &&
		  strcmp(img->config.env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
					     "/usr/bin:/sbin:/bin") == 0,
	      "Env PATH");
	CHECK_STR_EQ(img->os, "linux", "os linux");
	if (CHECK(img->layers[0].path != NULL, "the layer is unpacked"))
		check_layer(img->layers[0].path);
	husk_image_free(img);
}

int main(void)
{
	struct husk_store *s, *s2;
	husk_error *err = NULL;
	char *d1 = NULL, *d2 = NULL, *d3 = NULL, **problems = NULL;
	struct husk_store_gc_stats st = {0};
	int blobs;
	double t0, t1;

	if (access("/bin/busybox", X_OK) < 0) {
		printf("1..0 # SKIP no /bin/busybox (busybox-static)\n");
		return 0;
	}
	test_setup();
	s = test_open("busybox", false);
	t0 = now_ms();
	CHECK_INT_EQ(husk_store_ensure_busybox(s, &d1, &err), 0, "busybox is built: %s",
		     err_msg(err));
	t1 = now_ms();
	tap_diag("built in %.1f ms", t1 - t0);
	CHECK(t1 - t0 < 5000, "in less than 5 s (%.0f ms)", t1 - t0);
	check_image(s);
	blobs = count_in(s, "blobs/sha256");
	CHECK_INT_EQ(blobs, 3, "three blobs: layer, config, manifest");

	t0 = now_ms();
	CHECK_INT_EQ(husk_store_ensure_busybox(s, &d2, &err), 0, "ensure again");
	tap_diag("second ensure in %.2f ms", now_ms() - t0);
	CHECK_STR_EQ(d2, d1, "idempotent: the same digest");
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), blobs, "and no new blob");

	s2 = test_open("busybox-again", false);
	CHECK_INT_EQ(husk_store_ensure_busybox(s2, &d3, &err), 0, "built in another store");
	CHECK_STR_EQ(d3, d1, "reproducible: the same manifest digest");
	husk_store_close(s2);

	CHECK_INT_EQ(husk_store_check(s, &problems, &err), 0, "check");
	CHECK(problems == NULL, "the store checks clean (%s)", problems ? problems[0] : "");
	strv_free(problems);

	CHECK_INT_EQ(husk_store_remove_image(s, "busybox", false, NULL, &err), 0, "rmi busybox");
	CHECK_INT_EQ(husk_store_gc(s, &st, &err), 0, "gc");
	CHECK_INT_EQ(st.blobs, 3, "gc removed the three blobs");
	CHECK_INT_EQ(st.layers, 1, "and the layer");
	CHECK_INT_EQ(count_in(s, "layers"), 0, "layers/ is empty");
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0, "blobs/sha256 is empty");
	free(d1);
	free(d2);
	free(d3);
	husk_store_close(s);
	return tap_done();
}
