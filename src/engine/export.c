/* SPDX-License-Identifier: MIT */
/* husk export [-o FILE] CONTAINER: its filesystem (the merged rootfs) as a
 * tar stream, running or not. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs_access.h"
#include "userns_auto.h"
#include "util.h"

static int parse(int argc, char **argv, const char **ret_output)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		if (c != 'o')
			return engine_flag_error("export", c, argv);
		*ret_output = optarg;
	}
	if (argc - optind != 1) {
		engine_error("export: %s",
			     optind >= argc ? "a container is required" : "takes one container");
		return EXIT_ENGINE;
	}
	if (*ret_output == NULL && isatty(STDOUT_FILENO)) {
		engine_error("export: refusing to write a tar to a terminal (use -o FILE or a "
			     "redirection)");
		return EXIT_ENGINE;
	}
	return 0;
}

static int export_to_fd(struct engine *e, struct ctr *c, int fd, husk_error **err)
{
	struct husk_pack_opts pack = {.mtime = -1};
	struct ctr_rootfs root;
	cleanup_close int dirfd = -1;
	struct ctr_idmap m;
	int r;

	if (userns_auto_read(c->dir, &m, err) < 0 || ctr_rootfs_open(e, c, &root, err) < 0)
		return -1;
	pack.uids = m.uids;
	pack.n_uids = m.n_uids;
	pack.gids = m.gids;
	pack.n_gids = m.n_gids;
	dirfd = openat(root.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = dirfd < 0 ? husk_error_set(err, errno, "open the rootfs")
		      : husk_tar_dir(dirfd, fd, &pack, err);
	closep(&dirfd);
	ctr_rootfs_release(&root);
	return r;
}

/* -o FILE: written under a temporary name and renamed once complete, so
 * that a failed export leaves no half a tar behind. */
static int export_to_file(struct engine *e, struct ctr *c, const char *path, husk_error **err)
{
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;
	mode_t mask = umask(0);

	umask(mask);
	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
		return husk_error_set(err, ENOMEM, "export");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "create `%s`", path);
	if (fchmod(fd, 0666 & ~mask) < 0 || export_to_fd(e, c, fd, err) < 0 || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		if (err && *err == NULL)
			husk_error_set(err, errno, "write `%s`", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cmd_export(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	const char *output = NULL;
	husk_error *err = NULL;
	int r = parse(argc, argv, &output);

	if (r != 0)
		return r;
	/* A reader that goes away (export | head) is an error to report, and
	 * the rootfs to unmount, not a death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (ctr_lookup(e, argv[optind], &c, &err) < 0)
		return engine_fail(err);
	r = output ? export_to_file(e, c, output, &err) : export_to_fd(e, c, STDOUT_FILENO, &err);
	return r < 0 ? engine_fail(err) : 0;
}
