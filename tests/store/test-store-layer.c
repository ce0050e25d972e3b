/* SPDX-License-Identifier: MIT */
/* Layers: unpacking (owners, modes, xattrs, whiteouts, compression), every
 * hostile archive refused with nothing left, packing a tree, and the
 * unpacked whiteouts working in a real overlay mount. Needs root. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <grp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "tap.h"
#include "store-test.h"

#define FAKE_HEX "3333333333333333333333333333333333333333333333333333333333333333"

static char *getx(const char *dir, const char *rel, const char *name)
{
	cleanup_free char *p = path_in(dir, rel);
	char v[256];
	ssize_t n = lgetxattr(p, name, v, sizeof(v) - 1);

	if (n < 0)
		return NULL;
	v[n] = '\0';
	return strdup(v);
}

static bool is_whiteout(const char *dir, const char *rel)
{
	cleanup_free char *p = path_in(dir, rel);
	struct stat st;

	return lstat(p, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

static const struct tentry basic[] = {
    {'d', "etc", NULL, 0755},	     {'f', "etc/hostname", "box\n", 0644},
    {'d', "secret", NULL, 0700},     {'f', "bin/su", "#!suid", 04755}, /* bin/ made implicitly */
    {'l', "bin/sh", "/bin/busybox"}, {'h', "etc/hostname.link", "etc/hostname"},
    {'p', "run/fifo", NULL, 0600},   {'c', "dev/null", NULL, 0666, 0x103},
    {'f', "etc/owned", "o", 0640},   {'f', "etc/xattr", "x", 0644, 0, 0, "user.husk", "value"},
    {'d', "./", NULL, 0755},	     {0},
};

static void test_basic(void)
{
	struct husk_store *s = test_open("basic", false);
	struct tbuf plain = make_tar(basic, T_NONE);
	husk_error *err = NULL;
	char *diff = NULL, *path = NULL, *blob = NULL, *text;
	struct stat st, st2;

	husk_store_write_blob(s, plain.data, plain.len, NULL, &blob, &err);
	free(plain.data);
	if (!CHECK_INT_EQ(husk_store_unpack_layer(s, blob, NULL, &diff, &path, &err), 0,
			  "a plain tar unpacks: %s", err_msg(err)))
		TAP_BAIL_OUT("cannot go on");
	CHECK_STR_EQ(diff, blob, "the DiffID of an uncompressed layer is its digest");
	CHECK(strstr(path, "/layers/") && strstr(path, blob + 7), "its dir is layers/<diffid hex>");
	text = read_text(path, "etc/hostname");
	CHECK_STR_EQ(text, "box\n", "file content");
	free(text);
	CHECK_INT_EQ(lmode(path, "bin/su") & 07777, 04755, "setuid kept");
	CHECK_INT_EQ(lmode(path, "secret") & 07777, 0700, "directory mode kept");
	CHECK_INT_EQ(lmode(path, "bin") & 07777, 0755, "implicit directory 0755");
	CHECK(S_ISLNK(lmode(path, "bin/sh")), "symlink");
	CHECK(S_ISFIFO(lmode(path, "run/fifo")), "fifo");
	CHECK(S_ISCHR(lmode(path, "dev/null")), "a device node, as root");
	{
		cleanup_free char *a = path_in(path, "etc/hostname"),
				  *b = path_in(path, "etc/hostname.link");
		CHECK(stat(a, &st) == 0 && stat(b, &st2) == 0 && st.st_ino == st2.st_ino,
		      "hardlink shares the inode");
		CHECK_INT_EQ(st.st_mtime, 1000000000, "mtime kept");
	}
	text = getx(path, "etc/xattr", "user.husk");
	CHECK_STR_EQ(text, "value", "xattr kept");
	free(text);
	CHECK_INT_EQ(lmode(path, ".") & 07777, 0755, "layer root 0755");
	free(diff);
	free(path);
	diff = path = NULL;

	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, blob, NULL, &path, &err), 0,
		     "unpacking it again reuses the directory");
	CHECK_INT_EQ(count_in(s, "layers"), 1, "one layer directory");
	free(path);
	free(blob);
	husk_store_close(s);
}

static void test_owner(void)
{
	struct husk_store *s = test_open("owner", false);
	struct tbuf b = make_tar(basic, T_NONE);
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	husk_error *err = NULL;
	char *path = NULL;
	struct stat st;
	struct tbuf t = {NULL};

	free(b.data);
	archive_write_set_format_pax_restricted(a);
	archive_write_open2(a, &t, NULL, tbuf_write, NULL, NULL);
	archive_entry_set_pathname(e, "owned");
	archive_entry_set_mode(e, AE_IFREG | 06755);
	archive_entry_set_uid(e, 1234);
	archive_entry_set_gid(e, 5678);
	archive_entry_set_size(e, 1);
	archive_write_header(a, e);
	archive_write_data(a, "x", 1);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	{
		char *blob = NULL;
		husk_store_write_blob(s, t.data, t.len, NULL, &blob, &err);
		CHECK_INT_EQ(husk_store_unpack_layer(s, blob, NULL, NULL, &path, &err), 0,
			     "unpack an owned setuid file");
		free(blob);
	}
	free(t.data);
	{
		cleanup_free char *p = path_in(path, "owned");
		CHECK(stat(p, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
		      "owner 1234:5678 kept");
		CHECK_INT_EQ(st.st_mode & 07777, 06755, "setuid and setgid survive the chown");
	}
	free(path);
	husk_store_close(s);
}

static void test_compressed(enum tcomp comp, const char *name)
{
	struct husk_store *s = test_open(name, false);
	struct tbuf plain = make_tar(basic, T_NONE);
	const char *blob;
	char *expected = NULL, *diff = NULL, *path = NULL, *text;
	husk_error *err = NULL;

	husk_store_write_blob(s, plain.data, plain.len, NULL, &expected, &err);
	free(plain.data);
	blob = store_tar(s, basic, comp);
	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, expected, &diff, &path, &err), 0,
		     "%s layer unpacks with its DiffID verified", name);
	if (err)
		tap_diag("%s", err->msg);
	CHECK_STR_EQ(diff, expected, "%s: DiffID is the uncompressed tar's digest", name);
	text = path ? read_text(path, "etc/hostname") : NULL;
	CHECK_STR_EQ(text, "box\n", "%s: content", name);
	free(text);
	free(expected);
	free(diff);
	free(path);
	husk_store_close(s);
}

static void test_diffid_mismatch(void)
{
	struct husk_store *s = test_open("diffid", false);
	const char *blob = store_tar(s, basic, T_GZIP);
	const char *wrong =
	    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	husk_error *err = NULL;

	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, wrong, NULL, NULL, &err), -1,
		     "a layer whose content is not its DiffID is refused");
	CHECK_STR_CONTAINS(err_msg(err), "DiffID mismatch", "as a DiffID mismatch");
	CHECK_INT_EQ(count_in(s, "layers"), 0, "and nothing is left in layers/");
	husk_error_free(&err);
	husk_store_close(s);
}

static void test_whiteouts(void)
{
	static const struct tentry wh[] = {
	    {'f', ".wh.gone"},
	    {'d', "d"},
	    {'f', "d/.wh..wh..opq"},
	    {'f', "d/new", "n"},
	    {'f', "e/.wh.x"},
	    {'f', "keep", "k"},
	    {'f', ".wh.keep"},
	    {'f', ".wh..wh.plnk"},
	    {'f', "implicit/.wh..wh..opq"},
	    {0},
	};
	struct husk_store *s = test_open("whiteout", false), *r = test_open("whiteout-rl", true);
	const char *blob = store_tar(s, wh, T_NONE);
	char *path = NULL, *v;
	husk_error *err = NULL;

	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, NULL, NULL, &path, &err), 0,
		     "a layer with whiteouts unpacks: %s", err_msg(err));
	CHECK(is_whiteout(path, "gone"), ".wh.gone is a 0/0 character device `gone`");
	CHECK(!lexists(path, ".wh.gone"), "no .wh.gone file");
	CHECK(is_whiteout(path, "e/x"), "a whiteout in an implicit directory");
	v = getx(path, "d", "trusted.overlay.opaque");
	CHECK_STR_EQ(v, "y", ".wh..wh..opq makes d opaque (trusted.overlay.opaque=y)");
	free(v);
	v = getx(path, "implicit", "trusted.overlay.opaque");
	CHECK_STR_EQ(v, "y", "an opaque marker in an implicit directory");
	free(v);
	CHECK(!lexists(path, "d/.wh..wh..opq"), "no marker file left");
	CHECK(S_ISREG(lmode(path, "d/new")), "d/new is there");
	CHECK(S_ISREG(lmode(path, "keep")), "a whiteout hides lower layers only: keep stays");
	CHECK(!lexists(path, ".wh..wh.plnk") && !lexists(path, "plnk"), "aufs metadata skipped");
	free(path);
	path = NULL;

	blob = store_tar(r, wh, T_NONE);
	CHECK_INT_EQ(husk_store_unpack_layer(r, blob, NULL, NULL, &path, &err), 0,
		     "rootless: the same layer unpacks: %s", err_msg(err));
	v = path ? getx(path, "d", "user.overlay.opaque") : NULL;
	CHECK_STR_EQ(v, "y", "rootless: user.overlay.opaque=y");
	free(v);
	v = path ? getx(path, "d", "trusted.overlay.opaque") : NULL;
	CHECK(v == NULL, "rootless: no trusted xattr");
	free(v);
	CHECK(path && is_whiteout(path, "gone"), "rootless: whiteouts are character devices too");
	free(path);
	husk_store_close(s);
	husk_store_close(r);
}

/* As an ordinary user (nobody): the store is rootless by itself, whiteouts
 * are still character devices, the opaque xattr is user.overlay.opaque, and
 * device nodes are refused. */
static void test_unprivileged(void)
{
	static const struct tentry wh[] = {
	    {'f', ".wh.gone"}, {'d', "d"}, {'f', "d/.wh..wh..opq"}, {'f', "d/f", "f"}, {0}};
	static const struct tentry dev[] = {{'c', "null", NULL, 0666, 0x103}, {0}};
	static const struct tentry ro[] = {{'d', "ro", NULL, 0555},
					   {'d', "ro/sub", NULL, 0500},
					   {'f', "ro/sub/f", "f", 0400},
					   {0}};
	cleanup_free char *root = test_root("nobody");
	struct tbuf a = make_tar(wh, T_NONE), b = make_tar(dev, T_NONE), c = make_tar(ro, T_NONE);
	int status = -1;
	pid_t pid;

	make_dir(root, ".", 0700);
	if (chmod(test_dir, 0711) < 0 || chown(root, 65534, 65534) < 0)
		TAP_BAIL_OUT("chown: %m");
	pid = fork();
	if (pid == 0) {
		struct husk_store *s;
		husk_error *err = NULL;
		char *d1 = NULL, *d2 = NULL, *d3 = NULL, *path = NULL, *v;
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		s = test_open_at(root, false);
		if (husk_store_write_blob(s, a.data, a.len, NULL, &d1, &err) < 0 ||
		    husk_store_write_blob(s, b.data, b.len, NULL, &d2, &err) < 0 ||
		    husk_store_write_blob(s, c.data, c.len, NULL, &d3, &err) < 0)
			_exit(11);
		if (husk_store_unpack_layer(s, d1, NULL, NULL, &path, &err) < 0)
			_exit(12);
		v = getx(path, "d", "user.overlay.opaque");
		if (!is_whiteout(path, "gone") || v == NULL || strcmp(v, "y") != 0)
			_exit(13);
		if (husk_store_unpack_layer(s, d2, NULL, NULL, NULL, &err) == 0 ||
		    !strstr(err->msg, "device node"))
			_exit(14);
		husk_error_free(&err);
		if (husk_store_unpack_layer(s, d3, "sha256:" FAKE_HEX, NULL, NULL, &err) == 0 ||
		    count_in(s, "layers") != 1)
			_exit(15); /* the read-only tree must be gone */
		if (husk_store_unpack_layer(s, d3, NULL, NULL, NULL, &err) < 0 ||
		    husk_store_gc(s, NULL, &err) < 0 || count_in(s, "layers") != 0)
			_exit(16);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK_INT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
		     "as nobody: whiteouts are 0/0 devices and opaque is user.overlay.opaque, a "
		     "device node is refused, a read-only tree goes after a failure and in gc");
	free(a.data);
	free(b.data);
	free(c.data);
}

static void expect_refused(const char *what, const struct tentry *entries, bool rootless,
			   const char *message)
{
	struct husk_store *s = test_open("hostile", rootless);
	const char *blob = store_tar(s, entries, T_NONE);
	husk_error *err = NULL;
	char *path = NULL;

	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, NULL, NULL, &path, &err), -1,
		     "hostile: %s is refused", what);
	CHECK(husk_error_is(err, HUSK_ERR_INVALID), "hostile: %s: invalid (%s)", what,
	      err_msg(err));
	CHECK_STR_CONTAINS(err_msg(err), message, "hostile: %s: the error says why", what);
	CHECK(err && !strchr(err->msg, '\n'), "hostile: %s: one line", what);
	CHECK_INT_EQ(count_in(s, "layers"), 0, "hostile: %s: nothing left in layers/", what);
	CHECK(path == NULL, "hostile: %s: no path handed back", what);
	husk_error_free(&err);
	husk_store_close(s);
}

static void test_hostile(void)
{
	char escape[64], escape_file[96];
	struct tentry dotdot[] = {{'f', "ok", "1"}, {'f', "../x", "evil"}, {0}};
	struct tentry nested[] = {{'f', "a/b/../../../x", "evil"}, {0}};
	struct tentry absolute[] = {{'f', "/abs", "evil"}, {0}};
	struct tentry through[] = {{'l', "link", "/"}, {'f', "link/FILE", "evil"}, {0}};
	struct tentry through_dir[] = {{'l', "link", NULL}, {'d', "link/sub"}, {0}};
	struct tentry hl_out[] = {{'h', "hl", "../outside"}, {0}};
	struct tentry hl_abs[] = {{'h', "hl", "/etc/passwd"}, {0}};
	struct tentry hl_via[] = {{'l', "etc", "/etc"}, {'h', "pw", "etc/passwd"}, {0}};
	struct tentry hl_missing[] = {{'h', "hl", "nothing/here"}, {0}};
	struct tentry dev[] = {{'c', "dev/mem", NULL, 0600, 0x101}, {0}};
	struct tentry newline[] = {{'f', "a\nb\033[2J/../../x", "evil"}, {0}};
	struct tentry blk[] = {{'b', "dev/sda", NULL, 0600, 0x800}, {0}};

	snprintf(escape, sizeof(escape), "/tmp/husk-escape-%d", (int)getpid());
	snprintf(escape_file, sizeof(escape_file), "%s/FILE", escape);
	expect_refused("`../x`", dotdot, false, "`..` leads out of the layer");
	expect_refused("`a/b/../../../x`", nested, false, "`..` leads out of the layer");
	expect_refused("`/abs`", absolute, false, "an absolute path");
	expect_refused("a symlink to / then link/FILE", through, false, "is a symlink");
	through_dir[0].data = escape;
	mkdir(escape, 0700);
	expect_refused("a symlink to a dir then link/sub", through_dir, false, "is a symlink");
	CHECK_INT_EQ(count_entries(escape), 0, "hostile: nothing was written through the symlink");
	rmdir(escape);
	CHECK(access("/FILE", F_OK) < 0, "hostile: no /FILE on the host");
	expect_refused("a hardlink to ../outside", hl_out, false, "leads out of the layer");
	expect_refused("a hardlink to /etc/passwd", hl_abs, false, "leads out of the layer");
	expect_refused("a hardlink through a symlink to /etc", hl_via, false, "is a symlink");
	expect_refused("a hardlink to nothing", hl_missing, false, "not in the layer");
	expect_refused("a name with a newline and an escape", newline, false, "a?b?[2J/../../x");
	expect_refused("a char device when rootless", dev, true, "device node");
	expect_refused("a block device when rootless", blk, true, "device node");
}

static void test_truncated_and_corrupt(void)
{
	static const struct tentry big[] = {
	    {'f', "a", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
	    {'f', "b", "second file"},
	    {0},
	};
	struct tbuf t = make_tar(big, T_NONE), g = make_tar(big, T_GZIP);
	struct husk_store *s = test_open("truncated", false);
	husk_error *err = NULL;
	char *blob = NULL;

	/* Cut in the middle of a's data: the header declares more than follows. */
	husk_store_write_blob(s, t.data, 512 + 30, NULL, &blob, &err);
	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, NULL, NULL, NULL, &err), -1,
		     "a truncated tar is refused");
	CHECK(husk_error_is(err, HUSK_ERR_INVALID), "as invalid: %s", err_msg(err));
	CHECK_INT_EQ(count_in(s, "layers"), 0, "nothing left in layers/");
	husk_error_free(&err);
	free(blob);
	blob = NULL;

	for (size_t i = g.len / 3; i < g.len - 8; i++)
		g.data[i] ^= 0x5a;
	husk_store_write_blob(s, g.data, g.len, NULL, &blob, &err);
	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, NULL, NULL, NULL, &err), -1,
		     "a corrupted gzip layer is refused");
	CHECK_INT_EQ(count_in(s, "layers"), 0, "nothing left in layers/ (%s)", err_msg(err));
	husk_error_free(&err);
	free(blob);
	free(t.data);
	free(g.data);
	husk_store_close(s);
}

static void test_empty_layer(void)
{
	struct husk_store *s = test_open("empty", false);
	static const struct tentry none[] = {{0}};
	const char *blob = store_tar(s, none, T_NONE);
	husk_error *err = NULL;
	char *path = NULL, *d0 = NULL;

	CHECK_INT_EQ(husk_store_unpack_layer(s, blob, NULL, NULL, &path, &err), 0,
		     "an empty tar is a layer: %s", err_msg(err));
	CHECK_INT_EQ(path ? count_entries(path) : -1, 0, "an empty directory");
	free(path);
	path = NULL;
	husk_store_write_blob(s, "", 0, NULL, &d0, &err);
	CHECK_INT_EQ(husk_store_unpack_layer(s, d0, NULL, NULL, &path, &err), 0,
		     "so is an empty blob: %s", err_msg(err));
	free(path);
	free(d0);
	husk_store_close(s);
}

/* An overlay upper dir packed (commit), then unpacked (a new layer). */
static void make_upper(const char *dir)
{
	cleanup_free char *wh = path_in(dir, "deleted"), *opq = path_in(dir, "opaque");
	cleanup_free char *a = path_in(dir, "data/file"), *b = path_in(dir, "data/link2");
	cleanup_free char *x = path_in(dir, "data/file");

	make_dir(dir, "data", 0750);
	write_text(dir, "data/file", "content", 0640);
	if (link(a, b) < 0)
		TAP_BAIL_OUT("link: %m");
	write_text(dir, "caf\xc3\xa9 \xe6\x97\xa5", "utf-8 name", 0644);
	write_text(dir, "latin\xe9", "not utf-8", 0644);
	make_dir(dir, "opaque", 0755);
	write_text(dir, "opaque/inside", "i", 0644);
	if (setxattr(opq, "trusted.overlay.opaque", "y", 1, 0) < 0)
		TAP_BAIL_OUT("setxattr: %m");
	if (setxattr(x, "user.keep", "me", 2, 0) < 0)
		TAP_BAIL_OUT("setxattr: %m");
	if (mknod(wh, S_IFCHR | 0, makedev(0, 0)) < 0)
		TAP_BAIL_OUT("mknod: %m");
	{
		cleanup_free char *l = path_in(dir, "sym");
		if (symlink("data/file", l) < 0)
			TAP_BAIL_OUT("symlink: %m");
	}
}

static char *pack_in_child(struct husk_store *s, int dirfd)
{
	struct husk_pack_opts o = {.overlay_upper = true, .mtime = 0};
	int fds[2];
	char buf[HUSK_DIGEST_LEN + 1] = "";
	pid_t pid;

	if (pipe(fds) < 0)
		TAP_BAIL_OUT("pipe");
	pid = fork();
	if (pid == 0) {
		struct husk_layer l = {NULL};
		husk_error *err = NULL;
		if (husk_store_pack_dir(s, dirfd, &o, &l, &err) < 0)
			_exit(1);
		_exit(write_all(fds[1], l.digest, strlen(l.digest)) < 0);
	}
	close(fds[1]);
	read_all(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	return strdup(buf);
}

static void test_pack(void)
{
	struct husk_store *s = test_open("pack", false);
	cleanup_free char *upper = test_root("upper");
	struct husk_pack_opts o = {.overlay_upper = true, .mtime = 0};
	struct husk_layer l1 = {NULL}, l2 = {NULL}, l3 = {NULL};
	husk_error *err = NULL;
	char *path = NULL, *v, *other;
	int dirfd;
	struct stat a, b;

	make_dir(upper, ".", 0755);
	make_upper(upper);
	dirfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_INT_EQ(husk_store_pack_dir(s, dirfd, &o, &l1, &err), 0, "an upper dir is packed: %s",
		     err_msg(err));
	CHECK_STR_EQ(l1.digest, l1.diff_id, "uncompressed: digest = DiffID");
	CHECK_INT_EQ(husk_store_pack_dir(s, dirfd, &o, &l2, &err), 0, "packed again");
	CHECK_STR_EQ(l2.digest, l1.digest, "same tree, same digest");
	other = pack_in_child(s, dirfd);
	CHECK_STR_EQ(other, l1.digest, "same digest from another process");
	free(other);
	CHECK_INT_EQ(husk_store_unpack_layer(s, l1.digest, l1.diff_id, NULL, &path, &err), 0,
		     "and unpacked: %s", err_msg(err));
	CHECK(path && is_whiteout(path, "deleted"), "the whiteout survives the round trip");
	v = path ? getx(path, "opaque", "trusted.overlay.opaque") : NULL;
	CHECK_STR_EQ(v, "y", "the opaque dir too");
	free(v);
	CHECK(path && S_ISREG(lmode(path, "opaque/inside")), "with what it holds");
	v = path ? getx(path, "data/file", "user.keep") : NULL;
	CHECK_STR_EQ(v, "me", "xattrs too");
	free(v);
	CHECK_INT_EQ(path ? lmode(path, "data") & 07777 : 0, 0750, "modes too");
	CHECK(path && S_ISREG(lmode(path, "caf\xc3\xa9 \xe6\x97\xa5")), "a UTF-8 name too");
	CHECK(path && S_ISREG(lmode(path, "latin\xe9")), "a name that is not UTF-8 too");
	{
		cleanup_free char *pa = path ? path_in(path, "data/file") : NULL;
		cleanup_free char *pb = path ? path_in(path, "data/link2") : NULL;
		CHECK(pa && stat(pa, &a) == 0 && stat(pb, &b) == 0 && a.st_ino == b.st_ino,
		      "hardlinks too");
		CHECK_INT_EQ(a.st_mtime, 0, "the fixed mtime");
	}
	o.overlay_upper = false;
	CHECK_INT_EQ(husk_store_pack_dir(s, dirfd, &o, &l3, &err), 0, "packed as a plain tree");
	CHECK(l3.digest && strcmp(l3.digest, l1.digest) != 0, "a different layer");
	close(dirfd);
	husk_layer_clear(&l1);
	husk_layer_clear(&l2);
	husk_layer_clear(&l3);
	free(path);
	husk_store_close(s);
}

/* An upper dir as fuse-overlayfs writes it where it may not make 0/0
 * devices (`.wh.NAME` files) or in a user namespace (its own opaque xattr,
 * the `.wh..wh..opq` file and the `.wh..opq` device that hides it). */
static void make_fuse_upper(const char *dir)
{
	cleanup_free char *opq = path_in(dir, "opaque"), *hider = path_in(dir, "opaque/.wh..opq");
	cleanup_free char *f = path_in(dir, "kept");

	write_text(dir, ".wh.deleted", "", 0);
	make_dir(dir, "opaque", 0755);
	write_text(dir, "opaque/inside", "i", 0644);
	write_text(dir, "opaque/.wh..wh..opq", "", 0700);
	if (mknod(hider, S_IFCHR | 0, makedev(0, 0)) < 0)
		TAP_BAIL_OUT("mknod: %m");
	if (setxattr(opq, "user.fuseoverlayfs.opaque", "y", 1, 0) < 0)
		TAP_BAIL_OUT("setxattr: %m");
	write_text(dir, "kept", "k", 0644);
	if (setxattr(f, "user.fuseoverlayfs.origin", "x", 1, 0) < 0)
		TAP_BAIL_OUT("setxattr: %m");
}

static void test_pack_fuse_upper(void)
{
	struct husk_store *s = test_open("packfuse", false);
	cleanup_free char *upper = test_root("fuse-upper");
	struct husk_pack_opts o = {.overlay_upper = true, .mtime = 0};
	struct husk_layer l = {NULL};
	husk_error *err = NULL;
	char *path = NULL, *v;
	int dirfd;

	make_dir(upper, ".", 0755);
	make_fuse_upper(upper);
	dirfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_INT_EQ(husk_store_pack_dir(s, dirfd, &o, &l, &err), 0,
		     "fuse-overlayfs's upper dir is packed: %s", err_msg(err));
	CHECK_INT_EQ(husk_store_unpack_layer(s, l.digest, l.diff_id, NULL, &path, &err), 0,
		     "and unpacked: %s", err_msg(err));
	CHECK(path && is_whiteout(path, "deleted"), "a `.wh.NAME` file is a whiteout");
	CHECK(path && !lexists(path, ".wh.deleted"), "not a file");
	v = path ? getx(path, "opaque", "trusted.overlay.opaque") : NULL;
	CHECK_STR_EQ(v, "y", "user.fuseoverlayfs.opaque is an opaque dir");
	free(v);
	CHECK(path && S_ISREG(lmode(path, "opaque/inside")), "with what it holds");
	CHECK(path && !lexists(path, "opaque/.wh..opq") && !lexists(path, "opaque/.wh..wh..opq"),
	      "and none of fuse-overlayfs's markers");
	v = path ? getx(path, "kept", "user.fuseoverlayfs.origin") : NULL;
	CHECK(v == NULL, "nor its xattrs");
	free(v);
	close(dirfd);
	husk_layer_clear(&l);
	free(path);
	husk_store_close(s);
}

/* husk_tar_dir (`export`): the same walk as a layer, to an fd. */
static void test_tar_dir(void)
{
	struct husk_store *s = test_open("tardir", false);
	cleanup_free char *upper = test_root("plain"), *blob = NULL, *tar = NULL;
	struct husk_pack_opts o = {.overlay_upper = false, .mtime = 0};
	struct husk_layer l = {NULL};
	husk_error *err = NULL;
	int dirfd, out = memfd_create("tar", MFD_CLOEXEC), fds[2];
	struct stat st;

	make_dir(upper, ".", 0755);
	make_upper(upper);
	dirfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_INT_EQ(husk_tar_dir(dirfd, out, &o, &err), 0, "a tree to an fd: %s", err_msg(err));
	CHECK_INT_EQ(husk_store_pack_dir(s, dirfd, &o, &l, &err), 0, "and as a layer");
	fstat(out, &st);
	tar = calloc(1, (size_t)st.st_size + 1);
	lseek(out, 0, SEEK_SET);
	read_all(out, tar, (size_t)st.st_size);
	husk_store_read_blob(s, l.digest, 1 << 20, &blob, NULL, &err);
	CHECK(blob && tar && st.st_size == l.size && memcmp(blob, tar, (size_t)l.size) == 0,
	      "the same bytes as the layer");
	if (pipe2(fds, O_CLOEXEC) < 0)
		TAP_BAIL_OUT("pipe");
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	husk_error_free(&err);
	CHECK(husk_tar_dir(dirfd, fds[1], &o, &err) < 0, "a reader gone: an error");
	CHECK(err && strstr(err->msg, "write the tar") != NULL, "which says so: %s", err_msg(err));
	husk_error_free(&err);
	close(fds[1]);
	close(out);
	close(dirfd);
	husk_layer_clear(&l);
	husk_store_close(s);
}

/* Ids through a map of several extents (rootless keep-id's, uid 1000):
 * inner 0..999 → 1..1000, 1000 → 0, 1001..65535 as they are. */
static void test_id_extents(void)
{
	const struct husk_id_extent keep[] = {{0, 1, 1000}, {1000, 0, 1}, {1001, 1001, 64535}};
	const struct husk_id_extent one[] = {{0, 100000, 65536}};

	CHECK(husk_id_inner(keep, 3, 0) == 1000, "the user's outer 0 is its inner 1000");
	CHECK(husk_id_inner(keep, 3, 1) == 0, "outer 1 is the container's root");
	CHECK(husk_id_inner(keep, 3, 1000) == 999, "outer 1000 is inner 999");
	CHECK(husk_id_inner(keep, 3, 1001) == 1001, "above the user: as it is");
	CHECK(husk_id_inner(keep, 3, 70000) == HUSK_OVERFLOW_ID, "unmapped: the overflow id");
	CHECK(husk_id_outer(keep, 3, 1000) == 0 && husk_id_outer(keep, 3, 0) == 1,
	      "and back: inner 1000 is outer 0, inner 0 outer 1");
	CHECK(husk_id_outer(one, 1, 70000) == 100000 + 65534,
	      "an inner id unmapped: the outer id of the overflow id");
	CHECK(husk_id_inner(NULL, 0, 12345) == 12345 && husk_id_outer(NULL, 0, 7) == 7,
	      "no map: ids as they are");
	for (unsigned long id = 0; id < 65536; id += 997)
		CHECK(husk_id_inner(keep, 3, husk_id_outer(keep, 3, id)) == id,
		      "inner %lu round-trips", id);
}

/* A directory renamed with redirect_dir holds only part of itself in the
 * upper dir: refused, not packed wrong. */
static void test_pack_partial(void)
{
	struct husk_store *s = test_open("partial", false);
	cleanup_free char *upper = test_root("redirect"), *moved = NULL;
	struct husk_pack_opts o = {.overlay_upper = true, .mtime = 0};
	struct husk_layer l = {NULL};
	husk_error *err = NULL;
	int dirfd;

	make_dir(upper, ".", 0755);
	make_dir(upper, "moved", 0755);
	moved = path_in(upper, "moved");
	if (setxattr(moved, "trusted.overlay.redirect", "/orig", 5, 0) < 0)
		TAP_BAIL_OUT("setxattr: %m");
	dirfd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(husk_store_pack_dir(s, dirfd, &o, &l, &err) < 0, "a redirect is refused");
	CHECK(husk_error_is(err, HUSK_ERR_UNSUPPORTED), "as unsupported: %s", err_msg(err));
	husk_error_free(&err);
	o.overlay_upper = false;
	CHECK_INT_EQ(husk_store_pack_dir(s, dirfd, &o, &l, &err), 0, "fine in a plain tree");
	husk_layer_clear(&l);
	close(dirfd);
	husk_store_close(s);
}

/* Lower layers in a real overlay mount: the whiteouts hide and the opaque
 * directory hides what is below it. */
static void test_overlay_mount(void)
{
	static const struct tentry lower[] = {
	    {'f', "a", "a"},	{'d', "d"},	    {'f', "d/x", "x"},
	    {'f', "e/x", "ex"}, {'f', "e/y", "ey"}, {0},
	};
	static const struct tentry upper[] = {
	    {'f', ".wh.a"},    {'d', "d"},	 {'f', "d/.wh..wh..opq"},
	    {'f', "d/y", "y"}, {'f', "e/.wh.x"}, {0},
	};
	struct husk_store *s = test_open("overlay", false);
	cleanup_free char *mnt = test_root("mnt"), *opts = NULL;
	char *l1 = NULL, *l2 = NULL;
	husk_error *err = NULL;

	husk_store_unpack_layer(s, store_tar(s, lower, T_NONE), NULL, NULL, &l1, &err);
	husk_store_unpack_layer(s, store_tar(s, upper, T_GZIP), NULL, NULL, &l2, &err);
	make_dir(mnt, ".", 0755);
	if (asprintf(&opts, "lowerdir=%s:%s", l2, l1) < 0)
		TAP_BAIL_OUT("asprintf");
	if (mount("overlay", mnt, "overlay", MS_RDONLY, opts) < 0) {
		tap_diag("SKIP: overlay mount: %s", strerror(errno));
	} else {
		CHECK(!lexists(mnt, "a"), "overlay: the whiteout hides a");
		CHECK(lexists(mnt, "d/y") && !lexists(mnt, "d/x"), "overlay: d is opaque");
		CHECK(!lexists(mnt, "e/x") && lexists(mnt, "e/y"), "overlay: e/x hidden, e/y not");
		umount2(mnt, MNT_DETACH);
	}
	free(l1);
	free(l2);
	husk_store_close(s);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	test_setup();
	test_basic();
	test_owner();
	test_compressed(T_GZIP, "gzip");
	test_compressed(T_ZSTD, "zstd");
	test_diffid_mismatch();
	test_whiteouts();
	test_unprivileged();
	test_hostile();
	test_truncated_and_corrupt();
	test_empty_layer();
	test_pack();
	test_pack_fuse_upper();
	test_tar_dir();
	test_id_extents();
	test_pack_partial();
	test_overlay_mount();
	return tap_done();
}
