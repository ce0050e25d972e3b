/* SPDX-License-Identifier: MIT */
/*
 * --init: husk-init (init/husk-init.c, a static binary) as the container's
 * PID 1, in front of its command: it reaps the zombies that a command not
 * written as an init leaves, forwards signals to it and exits as it did.
 *
 * The container gets a copy of its own (containers/<id>/init), bound
 * read-only at /dev/init: a privileged container that remounted it writable
 * could change that copy only, never the host's binary.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "util.h"

#ifndef HUSK_LIBEXECDIR
#define HUSK_LIBEXECDIR "/usr/local/libexec/husk"
#endif

#define INIT_NAME "husk-init"
#define INIT_DEST "/dev/init"

static bool executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Beside husk in the build tree (init/husk-init) or installed (libexec). */
static int find_init(char **ret, husk_error **err)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *dir;
	char *path = NULL;

	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		if (asprintf(&path, "%s/init/" INIT_NAME, dir) >= 0 && executable_file(path))
			goto found;
		free(path);
		if (asprintf(&path, "%s/" INIT_NAME, dir) >= 0 && executable_file(path))
			goto found;
		free(path);
	}
	path = strdup(HUSK_LIBEXECDIR "/" INIT_NAME);
	if (path && executable_file(path))
		goto found;
	free(path);
	return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
			       "--init: " INIT_NAME " is not installed (" HUSK_LIBEXECDIR ")");
found:
	*ret = path;
	return 0;
}

static int copy_file(const char *from, int dirfd, const char *name, husk_error **err)
{
	cleanup_close int in = open(from, O_RDONLY | O_CLOEXEC), out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0)
		return husk_error_set(err, errno, "open `%s`", from);
	out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0555);
	if (out < 0)
		return husk_error_set(err, errno, "create the container's `%s`", name);
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_all(out, buf, (size_t)n) < 0)
			return husk_error_set(err, errno, "copy `%s`", from);
	}
	return 0;
}

static int prepend_init(json_t *process, husk_error **err)
{
	json_t *args = json_object_get(process, "args");

	if (json_array_insert_new(args, 0, json_string("--")) < 0 ||
	    json_array_insert_new(args, 0, json_string(INIT_DEST)) < 0)
		return husk_error_set(err, ENOMEM, "process.args");
	return 0;
}

int config_apply_init(struct config_ctx *c, husk_error **err)
{
	cleanup_free char *init = NULL, *copy = NULL;
	cleanup_close int dirfd = -1;

	if (!c->o->security.init)
		return 0;
	if (find_init(&init, err) < 0)
		return -1;
	dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", c->dir);
	if (copy_file(init, dirfd, "init", err) < 0)
		return -1;
	if (asprintf(&copy, "%s/init", c->dir) < 0)
		return husk_error_set(err, ENOMEM, "--init");
	if (config_add_bind(c, INIT_DEST, copy, true, NULL, err) < 0)
		return -1;
	return prepend_init(json_object_get(c->config, "process"), err);
}
