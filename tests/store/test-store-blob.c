/* SPDX-License-Identifier: MIT */
/* The image store: its layout, blobs (streamed, verified, all-or-nothing),
 * and the cleanup of what a killed writer leaves. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "tap.h"
#include "store-test.h"

#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static void test_layout(void)
{
	struct husk_store *s = test_open("layout", false);
	char *root = NULL;
	husk_error *err = NULL;

	CHECK(S_ISDIR(lmode(husk_store_root(s), "blobs/sha256")), "open makes blobs/sha256");
	CHECK(S_ISDIR(lmode(husk_store_root(s), "layers")), "open makes layers");
	CHECK(S_ISDIR(lmode(husk_store_root(s), "holds")), "open makes holds");
	CHECK(S_ISREG(lmode(husk_store_root(s), "lock")), "open makes the lock file");
	CHECK_INT_EQ(lmode(husk_store_root(s), ".") & 07777, 0700, "the root is private (0700)");
	if (geteuid() == 0 &&
	    CHECK_INT_EQ(husk_store_default_root(&root, &err), 0, "default root for root"))
		CHECK_STR_EQ(root, "/var/lib/husk", "root's store is /var/lib/husk");
	free(root);
	husk_store_close(s);
}

static void test_write_and_read(void)
{
	struct husk_store *s = test_open("blob", false);
	husk_error *err = NULL;
	char *digest = NULL, *data = NULL;
	size_t len = 0;

	CHECK_INT_EQ(husk_store_write_blob(s, "hello", 5, NULL, &digest, &err), 0,
		     "a blob is written: %s", err_msg(err));
	CHECK_STR_EQ(digest, HELLO_DIGEST, "its name is the sha256 of its content");
	CHECK(husk_store_has_blob(s, HELLO_DIGEST), "has_blob finds it");
	CHECK(lexists(husk_store_root(s),
		      "blobs/sha256/"
		      "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
	      "it is blobs/sha256/<hex>");
	CHECK_INT_EQ(husk_store_read_blob(s, HELLO_DIGEST, 100, &data, &len, &err), 0, "read back");
	CHECK_STR_EQ(data, "hello", "same content");
	free(data);
	data = NULL;
	CHECK_INT_EQ(husk_store_read_blob(s, HELLO_DIGEST, 4, &data, &len, &err), -1,
		     "read_blob refuses a blob longer than asked");
	CHECK(husk_error_is(err, HUSK_ERR_INVALID), "as invalid");
	husk_error_free(&err);
	free(digest);
	digest = NULL;

	CHECK_INT_EQ(husk_store_write_blob(s, "hello", 5, HELLO_DIGEST, &digest, &err), 0,
		     "the same blob again, with its expected digest: no error");
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 1, "still one file (idempotent)");
	free(digest);
	husk_store_close(s);
}

static void test_mismatch(void)
{
	struct husk_store *s = test_open("mismatch", false);
	husk_error *err = NULL;
	char *digest = NULL;
	const char *wrong =
	    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

	CHECK_INT_EQ(husk_store_write_blob(s, "hello", 5, wrong, &digest, &err), -1,
		     "a digest mismatch is refused");
	CHECK(husk_error_is(err, HUSK_ERR_INVALID), "as invalid");
	CHECK_STR_CONTAINS(err_msg(err), "digest mismatch", "the error says why");
	CHECK_STR_CONTAINS(err_msg(err), HELLO_DIGEST, "and what the content is");
	CHECK(digest == NULL, "no digest handed back");
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0, "nothing left behind");
	husk_error_free(&err);

	CHECK_INT_EQ(husk_store_write_blob(s, "x", 1, "sha512:abcd", NULL, &err), -1,
		     "sha512 is refused");
	CHECK(husk_error_is(err, HUSK_ERR_UNSUPPORTED), "as unsupported: %s", err_msg(err));
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_write_blob(s, "x", 1, "sha256:../../../../etc/passwd", NULL, &err),
		     -1, "a digest that is a path is refused");
	CHECK(husk_error_is(err, HUSK_ERR_INVALID), "as invalid");
	husk_error_free(&err);
	CHECK(
	    !husk_digest_valid("sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B"
			       "9824"),
	    "upper-case hex is no digest");
	CHECK_INT_EQ(husk_store_read_blob(s, wrong, 10, &digest, NULL, &err), -1,
		     "reading a missing blob fails");
	CHECK(husk_error_is(err, HUSK_ERR_NOT_FOUND), "as not found");
	husk_error_free(&err);
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0, "still nothing");
	husk_store_close(s);
}

static void test_sizes(void)
{
	struct husk_store *s = test_open("sizes", false);
	struct husk_blob_writer *w = NULL;
	husk_error *err = NULL;
	char *digest = NULL;

	CHECK_INT_EQ(husk_blob_writer_new(s, NULL, 10, &w, &err), 0, "a writer for 10 bytes");
	CHECK_INT_EQ(husk_blob_writer_write(w, "123456", 6, &err), 0, "6 bytes are fine");
	CHECK_INT_EQ(husk_blob_writer_write(w, "789012", 6, &err), -1,
		     "12 bytes are more than declared: refused at once");
	CHECK_STR_CONTAINS(err_msg(err), "more data than the declared 10 bytes",
			   "the error says so");
	husk_error_free(&err);
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0, "the temporary file is gone already");
	CHECK_INT_EQ(husk_blob_writer_commit(w, &digest, NULL, &err), -1,
		     "a failed writer cannot commit");
	husk_error_free(&err);
	husk_blob_writer_free(w);

	CHECK_INT_EQ(husk_blob_writer_new(s, NULL, 10, &w, &err), 0, "a writer for 10 bytes");
	CHECK_INT_EQ(husk_blob_writer_write(w, "12345", 5, &err), 0, "5 bytes");
	CHECK_INT_EQ(husk_blob_writer_commit(w, &digest, NULL, &err), -1,
		     "a commit short of the size is refused");
	CHECK_STR_CONTAINS(err_msg(err), "truncated: 5 bytes of the declared 10", "as truncated");
	husk_error_free(&err);
	husk_blob_writer_free(w);
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0, "nothing left behind");

	CHECK_INT_EQ(husk_blob_writer_new(s, NULL, -1, &w, &err), 0, "a writer of unknown size");
	CHECK_INT_EQ(husk_blob_writer_write(w, "abc", 3, &err), 0, "3 bytes");
	husk_blob_writer_free(w);
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0,
		     "a writer freed without commit leaves nothing");
	husk_store_close(s);
}

static void test_stream_fd(void)
{
	struct husk_store *s = test_open("stream", false);
	size_t len = 3 << 20;
	char *big = malloc(len), *d1 = NULL, *d2 = NULL;
	husk_error *err = NULL;
	int64_t size = 0;
	int fds[2];
	pid_t pid;

	for (size_t i = 0; i < len; i++)
		big[i] = (char)(i * 7 + i / 4096);
	CHECK_INT_EQ(husk_store_write_blob(s, big, len, NULL, &d1, &err), 0, "3 MiB from memory");
	if (pipe(fds) < 0)
		TAP_BAIL_OUT("pipe");
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		_exit(write_all(fds[1], big, len) < 0);
	}
	close(fds[1]);
	CHECK_INT_EQ(husk_store_write_blob_fd(s, fds[0], d1, (int64_t)len, &d2, &size, &err), 0,
		     "the same 3 MiB from a pipe, expected digest and size: %s", err_msg(err));
	close(fds[0]);
	waitpid(pid, NULL, 0);
	CHECK_STR_EQ(d2, d1, "same digest");
	CHECK_INT_EQ(size, (long long)len, "size reported");
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 1, "one blob");
	free(big);
	free(d1);
	free(d2);
	husk_store_close(s);
}

static void test_corrupt(void)
{
	struct husk_store *s = test_open("corrupt", false);
	husk_error *err = NULL;
	char **problems = NULL, *data = NULL;

	husk_store_write_blob(s, "hello", 5, NULL, NULL, &err);
	CHECK_INT_EQ(husk_store_check(s, &problems, &err), 0, "check runs");
	CHECK(problems == NULL, "a sound store has no problems");
	write_text(husk_store_root(s),
		   "blobs/sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		   "hellO", 0644);
	CHECK_INT_EQ(husk_store_read_blob(s, HELLO_DIGEST, 100, &data, NULL, &err), -1,
		     "a corrupted blob is refused when read");
	CHECK_STR_CONTAINS(err_msg(err), "corrupt", "as corrupt");
	husk_error_free(&err);
	CHECK_INT_EQ(husk_store_check(s, &problems, &err), 0, "check runs");
	CHECK_INT_EQ(strv_length(problems), 1, "check finds the corrupted blob");
	if (problems)
		CHECK_STR_CONTAINS(problems[0], "its content is", "and says what is wrong");
	strv_free(problems);
	husk_store_close(s);
}

/* What a killed writer leaves: temps, removed by the next open when nobody
 * writes, and never while someone does. */
static void test_leftovers(void)
{
	cleanup_free char *root = test_root("crash");
	struct husk_store *s = test_open_at(root, false), *s2;
	struct husk_blob_writer *w = NULL;
	struct husk_store_gc_stats st = {0};
	husk_error *err = NULL;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		/* Dies holding a half-written blob. */
		husk_blob_writer_new(s, NULL, -1, &w, &err);
		husk_blob_writer_write(w, "partial", 7, &err);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	make_dir(root, "layers/.tmp-dead01", 0700);
	make_dir(root, "layers/.tmp-dead01/usr", 0755);
	write_text(root, "layers/.tmp-dead01/usr/half", "x", 0644);
	write_text(root, ".tmp-index1", "{", 0644);
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 1, "the dead writer left a temp blob");
	husk_store_close(s);

	s = test_open_at(root, false);
	CHECK_INT_EQ(count_in(s, "blobs/sha256"), 0, "open removed the temp blob");
	CHECK_INT_EQ(count_in(s, "layers"), 0, "and the half-unpacked layer");
	CHECK(!lexists(root, ".tmp-index1"), "and the half-written index");

	/* s writes (holds the store shared): another open must keep its temps. */
	CHECK_INT_EQ(husk_blob_writer_new(s, NULL, -1, &w, &err), 0, "a live writer");
	husk_blob_writer_write(w, "in progress", 11, &err);
	s2 = test_open_at(root, false);
	CHECK_INT_EQ(count_in(s2, "blobs/sha256"), 1, "open leaves a live writer's temp alone");
	husk_blob_writer_free(w);
	make_dir(root, "layers/.tmp-dead02", 0700);
	husk_store_close(s);
	CHECK_INT_EQ(husk_store_gc(s2, &st, &err), 0, "gc once the writer closed: %s",
		     err_msg(err));
	CHECK_INT_EQ(st.temps, 1, "gc removed the leftover temp");
	CHECK_INT_EQ(count_in(s2, "layers"), 0, "layers is empty");
	husk_store_close(s2);
}

int main(void)
{
	test_setup();
	test_layout();
	test_write_and_read();
	test_mismatch();
	test_sizes();
	test_stream_fd();
	test_corrupt();
	test_leftovers();
	return tap_done();
}
