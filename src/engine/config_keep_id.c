/* SPDX-License-Identifier: MIT */
/*
 * --userns keep-id: the container runs as the user's ids (unless -u), and
 * an image whose /etc/passwd or /etc/group lacks them gets files of the
 * container's own, the image's with an entry added, bound over them (as
 * podman adds one): the user's name on the host, its home dir there as
 * HOME when it has one (else /). The image's files stay as they are.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"
#include "util.h"

/* Whether the text of /etc/passwd or /etc/group has an entry with id as
 * its third field. */
static bool has_id(const char *text, unsigned long id)
{
	char want[32];
	size_t n = (size_t)snprintf(want, sizeof(want), "%lu", id);

	for (const char *line = text; line && *line;) {
		const char *f = line;
		for (int colons = 0; colons < 2 && f; colons++)
			f = strchr(f, ':') ? strchr(f, ':') + 1 : NULL;
		if (f && strncmp(f, want, n) == 0 && f[n] == ':')
			return true;
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return false;
}

/* The user's name and home on the host: its own ids are the outer ids of
 * our 0 (rootless.h). */
static void host_user(char *name, size_t name_size, char *home, size_t home_size)
{
	unsigned long hu = 0, hg = 0, nu, ng;
	struct passwd *pw = NULL;

	if (userns_host_self(&hu, &hg, &nu, &ng, NULL) == 0)
		pw = getpwuid((uid_t)hu);
	snprintf(name, name_size, "%s", pw && pw->pw_name[0] ? pw->pw_name : "user");
	snprintf(home, home_size, "%s", pw && pw->pw_dir[0] == '/' ? pw->pw_dir : "/");
}

/* dir/file: the image's text (may be NULL) and line, bound over
 * /etc/<file>. */
static int bind_with_line(struct config_ctx *c, const char *file, const char *text,
			  const char *line, husk_error **err)
{
	cleanup_close int dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *all = NULL, *source = NULL, *dest = NULL;
	size_t len = text ? strlen(text) : 0;
	int n;

	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", c->dir);
	n = asprintf(&all, "%s%s%s", text ? text : "", len && text[len - 1] != '\n' ? "\n" : "",
		     line);
	if (n < 0 || asprintf(&source, "%s/%s", c->dir, file) < 0 ||
	    asprintf(&dest, "/etc/%s", file) < 0)
		return husk_error_set(err, ENOMEM, "/etc/%s", file);
	if (write_file_atomic_at(dirfd, file, all, (size_t)n, 0644, err) < 0)
		return -1;
	return config_add_bind(c, dest, source, false, NULL, err);
}

int config_keep_id_files(struct config_ctx *c, const char *passwd, const char *group,
			 husk_error **err)
{
	const struct ctr_idmap *m = &c->idmap;
	char name[256], home[1024];
	cleanup_free char *pline = NULL, *gline = NULL;

	host_user(name, sizeof(name), home, sizeof(home));
	if (passwd && !has_id(passwd, m->user_uid) && !config_user_mounts(c->o, "/etc/passwd")) {
		if (asprintf(&pline, "%s:*:%lu:%lu:%s:%s:/bin/sh\n", name, m->user_uid, m->user_gid,
			     name, home) < 0 ||
		    bind_with_line(c, "passwd", passwd, pline, err) < 0)
			return pline ? -1 : husk_error_set(err, ENOMEM, "/etc/passwd");
	}
	if (group && !has_id(group, m->user_gid) && !config_user_mounts(c->o, "/etc/group")) {
		if (asprintf(&gline, "%s:x:%lu:\n", name, m->user_gid) < 0 ||
		    bind_with_line(c, "group", group, gline, err) < 0)
			return gline ? -1 : husk_error_set(err, ENOMEM, "/etc/group");
	}
	return 0;
}
