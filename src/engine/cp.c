/* SPDX-License-Identifier: MIT */
/*
 * husk cp [-a] [-L] SRC DEST, one of them CONTAINER:PATH: files and trees
 * between the host and a container (running or not), with Docker's rules:
 *
 *   a file to a missing DEST becomes DEST (DEST/ must be a directory that
 *   exists), to an existing file replaces it, to a directory goes into it;
 *   a directory to a missing DEST becomes DEST, to a directory goes into it
 *   (SRC/. : what it holds does), to a file is refused.
 *
 * Container paths are taken from its root (a relative one too) and
 * resolved in its merged rootfs as the container would (symlinks included)
 * but never out of it: the directory is opened with openat2(RESOLVE_IN_ROOT)
 * and all the copying is done relative to fds (copy_tree.c). The last
 * component of SRC is copied as it is, a symlink as a symlink (-L: the file
 * it points to); an existing DEST that is a symlink is followed, in the
 * container's root. Files copied into a container are root's (-a: the
 * source's owners), those copied out the caller's (-a: the container's).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "copy_tree.h"
#include "rootfs_access.h"
#include "userns_auto.h"
#include "util.h"

#define MAX_SYMLINKS 40

/* One side of the copy, as given. */
struct cp_arg {
	char *container; /* NULL: the host */
	const char *path;
	bool trailing_slash, contents; /* "dir/", "dir/." */
};

/* Where a side is: the directory holding it, and its name there ("." for
 * the directory itself: a root). */
struct place {
	int dir; /* O_PATH */
	char *name;
	bool exists, is_dir;
	char *shown; /* for messages */
};

static void place_clear(struct place *p)
{
	closep(&p->dir);
	free(p->name);
	free(p->shown);
}

/* Docker's split: an absolute path, or one starting with ".", is the
 * host's; else "NAME:PATH" names a container. */
static int split_arg(const char *s, struct cp_arg *ret)
{
	const char *colon = strchr(s, ':');
	size_t len;

	*ret = (struct cp_arg){.path = s};
	if (s[0] != '/' && s[0] != '.' && colon != NULL) {
		ret->container = strndup(s, (size_t)(colon - s));
		ret->path = colon + 1;
		if (ret->container == NULL)
			return -1;
	}
	len = strlen(ret->path);
	ret->trailing_slash = len > 0 && ret->path[len - 1] == '/';
	ret->contents =
	    (len >= 2 && strcmp(ret->path + len - 2, "/.") == 0) || strcmp(ret->path, ".") == 0;
	return 0;
}

/* "/a/./b//c/../d" → "/a/b/d": container paths from the root, ".." never
 * above it. */
static char *clean_container_path(const char *path)
{
	char *out = malloc(strlen(path) + 2), *save = NULL;
	cleanup_free char *copy = strdup(path);
	size_t len = 0;

	if (out == NULL || copy == NULL) {
		free(out);
		return NULL;
	}
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			while (len > 0 && out[--len] != '/')
				;
			continue;
		}
		len += (size_t)sprintf(out + len, "/%s", c);
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return out;
}

/* path in the container's root, as it would resolve it (symlinks, "..")
 * but never out of it: an O_PATH fd. */
static int open_in_root(int rootfd, const char *path, int *ret, husk_error **err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd;

	do
		fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0 && errno == ENOSYS)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "cp needs openat2(2) (Linux 5.6 or later)");
	if (fd < 0)
		return husk_error_set(err, errno, "`%s`", path);
	*ret = fd;
	return 0;
}

/* path ("/a/b", clean) → the O_PATH dir "/a" in root and "b" ("/" → the
 * root and "."). */
static int open_parent_in_root(int rootfd, const char *path, int *ret_dir, char **ret_name,
			       husk_error **err)
{
	const char *slash = strrchr(path, '/');
	cleanup_free char *parent = strndup(path, (size_t)(slash - path) + 1);
	struct stat st;

	if (parent == NULL)
		return husk_error_set(err, ENOMEM, "cp");
	*ret_name = strdup(strcmp(path, "/") == 0 ? "." : slash + 1);
	if (*ret_name == NULL)
		return husk_error_set(err, ENOMEM, "cp");
	if (open_in_root(rootfd, parent, ret_dir, err) < 0)
		goto fail;
	if (fstat(*ret_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		closep(ret_dir);
		husk_error_set(err, ENOTDIR, "`%s`", parent);
		goto fail;
	}
	return 0;
fail:
	free(steal_pointer(ret_name));
	return -1;
}

/* The link's target, as a clean path from the root, relative to the
 * directory of path. */
static char *follow_link(int dir, const char *name, const char *path)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);
	cleanup_free char *joined = NULL;

	if (n < 0)
		return NULL;
	target[n] = '\0';
	if (target[0] == '/')
		return clean_container_path(target);
	if (asprintf(&joined, "%.*s/%s", (int)(strrchr(path, '/') - path), path, target) < 0)
		return NULL;
	return clean_container_path(joined);
}

/* A container path to a place in its rootfs; follow: the last component
 * too, while it is a symlink (each hop resolved in the root again). */
static int container_place(int rootfd, const char *path, bool follow, struct place *ret,
			   husk_error **err)
{
	cleanup_free char *p = clean_container_path(*path ? path : "/");
	struct stat st;

	if (p == NULL)
		return husk_error_set(err, ENOMEM, "cp");
	for (int hops = 0;; hops++) {
		*ret = (struct place){.dir = -1};
		if (open_parent_in_root(rootfd, p, &ret->dir, &ret->name, err) < 0)
			return -1;
		if (fstatat(ret->dir, ret->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				return husk_error_set(err, errno, "`%s`", p);
			return 0;
		}
		ret->exists = true;
		ret->is_dir = S_ISDIR(st.st_mode);
		if (!follow || !S_ISLNK(st.st_mode))
			return 0;
		char *next = hops < MAX_SYMLINKS ? follow_link(ret->dir, ret->name, p) : NULL;
		place_clear(ret);
		if (next == NULL)
			return husk_error_set(err, hops < MAX_SYMLINKS ? errno : ELOOP, "`%s`", p);
		free(p);
		p = next;
	}
}

/* A host path to a place; follow: through a last symlink (realpath). */
static int host_place(const char *path, bool follow, struct place *ret, husk_error **err)
{
	cleanup_free char *copy = strdup(path), *real = NULL;
	struct stat st;
	char *dir, *base;

	*ret = (struct place){.dir = -1};
	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "cp");
	/* "dir/", "dir/.", "..": the directory itself, by its real name */
	if ((follow && stat(path, &st) == 0) || strcmp(basename(copy), ".") == 0 ||
	    strcmp(basename(copy), "..") == 0 || path[strlen(path) - 1] == '/') {
		real = realpath(path, NULL);
		if (real != NULL) {
			free(copy);
			copy = strdup(real);
			if (copy == NULL)
				return husk_error_set(err, ENOMEM, "cp");
		}
	}
	base = strdup(strcmp(copy, "/") == 0 ? "." : basename(copy));
	dir = dirname(copy);
	ret->name = base;
	ret->dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (base == NULL || ret->dir < 0)
		return husk_error_set(err, base ? errno : ENOMEM, "`%s`", path);
	if (fstatat(ret->dir, ret->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : husk_error_set(err, errno, "`%s`", path);
	ret->exists = true;
	ret->is_dir = S_ISDIR(st.st_mode);
	return 0;
}

static int side_place(const struct cp_arg *a, int rootfd, bool follow, struct place *ret,
		      husk_error **err)
{
	int r = a->container ? container_place(rootfd, a->path, follow, ret, err)
			     : host_place(a->path, follow, ret, err);

	if (r < 0)
		return husk_error_wrap(err, "%s%s%s", a->container ? a->container : "",
				       a->container ? ":" : "", a->path);
	if (asprintf(&ret->shown, "%s%s%s", a->container ? a->container : "",
		     a->container ? ":" : "", a->path) < 0)
		ret->shown = NULL;
	return r;
}

/* The source's name at the destination: the last component as given. */
static char *source_base(const struct place *src)
{
	return strdup(src->name);
}

/* Docker's rules (see the top of this file), once both ends are known. */
static int copy_by_rules(const struct cp_arg *sa, struct place *src, const struct cp_arg *da,
			 struct place *dst, const struct copy_opts *o, husk_error **err)
{
	cleanup_close int into = -1;
	cleanup_free char *base = NULL;

	if (!src->exists)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such file or directory: %s",
				       src->shown);
	if (!src->is_dir && (sa->trailing_slash || sa->contents))
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s: not a directory", src->shown);
	if (!dst->exists) {
		if (da->trailing_slash && !src->is_dir)
			return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
					       "destination directory %s does not exist",
					       dst->shown);
		return copy_entry(src->dir, src->name, dst->dir, dst->name, o, err);
	}
	if (!dst->is_dir) {
		if (src->is_dir)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "cannot copy a directory to a file: %s", dst->shown);
		return copy_entry(src->dir, src->name, dst->dir, dst->name, o, err);
	}
	into = openat(dst->dir, dst->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (into < 0)
		return husk_error_set(err, errno, "open %s", dst->shown);
	if (src->is_dir && sa->contents) {
		cleanup_close int from =
		    openat(src->dir, src->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (from < 0)
			return husk_error_set(err, errno, "open %s", src->shown);
		return copy_dir_contents(from, into, o, err);
	}
	base = source_base(src);
	if (base == NULL)
		return husk_error_set(err, ENOMEM, "cp");
	return copy_entry(src->dir, src->name, into, base, o, err);
}

struct cp_options {
	bool archive, follow;
	struct cp_arg src, dst;
};

static int parse(struct cp_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"archive", no_argument, NULL, 'a'},
	    {"follow-link", no_argument, NULL, 'L'},
	    {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:aL", opts, NULL)) != -1) {
		if (c == 'a')
			o->archive = true;
		else if (c == 'L')
			o->follow = true;
		else
			return engine_flag_error("cp", c, argv);
	}
	if (argc - optind != 2) {
		engine_error("cp: takes SRC and DEST, one of them CONTAINER:PATH");
		return EXIT_ENGINE;
	}
	if (split_arg(argv[optind], &o->src) < 0 || split_arg(argv[optind + 1], &o->dst) < 0) {
		engine_error("cp: out of memory");
		return EXIT_ENGINE;
	}
	if (strcmp(argv[optind], "-") == 0 || strcmp(argv[optind + 1], "-") == 0) {
		engine_error("cp: `-` (a tar stream) is not supported");
		return EXIT_ENGINE;
	}
	if ((o->src.container == NULL) == (o->dst.container == NULL)) {
		engine_error("cp: %s", o->src.container
					   ? "copying between containers is not supported"
					   : "one of SRC and DEST must be CONTAINER:PATH");
		return EXIT_ENGINE;
	}
	if (o->src.path[0] == '\0' || o->dst.path[0] == '\0') {
		engine_error("cp: an empty path");
		return EXIT_ENGINE;
	}
	return 0;
}

static int cp(struct engine *e, struct ctr *c, const struct cp_options *o, husk_error **err)
{
	struct ctr_rootfs root;
	struct place src = {.dir = -1}, dst = {.dir = -1};
	bool into = o->dst.container != NULL;
	struct copy_opts copy = {.keep_owner = o->archive, .follow = o->follow};
	int r;

	struct ctr_idmap m;

	if (userns_auto_read(c->dir, &m, err) < 0)
		return -1;
	/* into the container: its root's; out of it: ours */
	copy.uid = into ? (uid_t)(m.size ? m.uid : 0) : geteuid();
	copy.gid = into ? (gid_t)(m.size ? m.gid : 0) : getegid();
	/* -a across its user namespace: its ids, as it sees them */
	copy.uids = m.uids;
	copy.n_uids = m.n_uids;
	copy.gids = m.gids;
	copy.n_gids = m.n_gids;
	copy.ids_inward = into;
	if (ctr_rootfs_open(e, c, &root, err) < 0)
		return -1;
	r = side_place(&o->src, root.fd, o->follow, &src, err);
	if (r == 0)
		r = side_place(&o->dst, root.fd, true, &dst, err);
	if (r == 0)
		r = copy_by_rules(&o->src, &src, &o->dst, &dst, &copy, err);
	place_clear(&src);
	place_clear(&dst);
	ctr_rootfs_release(&root);
	return r;
}

int cmd_cp(struct engine *e, int argc, char **argv)
{
	struct cp_options o = {0};
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	int r = parse(&o, argc, argv);

	if (r == 0 &&
	    (ctr_lookup(e, o.src.container ? o.src.container : o.dst.container, &c, &err) < 0 ||
	     cp(e, c, &o, &err) < 0))
		r = engine_fail(err);
	free(o.src.container);
	free(o.dst.container);
	return r;
}
