/* SPDX-License-Identifier: MIT */
/*
 * The container's user: -u or the image's User, USER[:GROUP] by name or id,
 * looked up in the image's /etc/passwd and /etc/group as docker does (a
 * name must be there; an id need not; without an explicit group, the
 * user's own and the groups that list it as a member).
 *
 * The files come from the image's unpacked layers, topmost first, before
 * the overlay is mounted. They are the image's, hence hostile: each path is
 * resolved inside its layer (openat2 RESOLVE_IN_ROOT: no symlink leads out),
 * only a regular file is opened for reading (O_PATH first: no device or
 * FIFO of the image is ever opened), and its size is bounded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config_internal.h"
#include "config_user.h"
#include "read_bounded.h"
#include "util.h"

#define ETC_FILE_MAX (4 << 20)

static int open_in_layer(int layerfd, const char *path, int *ret)
{
	struct open_how how = {.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
			       .resolve =
				   RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	int fd;

	do
		fd = (int)syscall(SYS_openat2, layerfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0)
		return -errno;
	*ret = fd;
	return 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int fd)
{
	char path[32], v[2];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return (getxattr(path, "trusted.overlay.opaque", v, sizeof(v)) == 1 ||
		getxattr(path, "user.overlay.opaque", v, sizeof(v)) == 1) &&
	       v[0] == 'y';
}

/* Whether this layer hides what lower layers have at path: one of its
 * parent directories is a whiteout or an opaque directory here. */
static bool hides_below(int layerfd, const char *path)
{
	cleanup_free char *parent = strdup(path);

	for (char *slash = parent ? strrchr(parent, '/') : NULL; slash && slash != parent;
	     slash = strrchr(parent, '/')) {
		cleanup_close int fd = -1;
		struct stat st;
		*slash = '\0';
		if (open_in_layer(layerfd, parent, &fd) < 0 || fstat(fd, &st) < 0)
			continue;
		if (is_whiteout(&st) || (S_ISDIR(st.st_mode) && is_opaque(fd)))
			return true;
	}
	return false;
}

/* The file in one layer: 1 read, 0 not in this layer, 2 deleted (a whiteout
 * or hidden), -1 error. */
static int read_in_layer(int layerfd, const char *path, char **ret, husk_error **err)
{
	cleanup_close int fd = -1, rfd = -1;
	struct stat st;
	char p[32];
	int r = open_in_layer(layerfd, path, &fd);

	if (r == -ENOENT || r == -ENOTDIR)
		return hides_below(layerfd, path) ? 2 : 0;
	if (r < 0)
		return husk_error_set(err, -r, "the image's `%s`", path);
	if (fstat(fd, &st) < 0)
		return husk_error_set(err, errno, "the image's `%s`", path);
	if (is_whiteout(&st))
		return 2;
	if (!S_ISREG(st.st_mode))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "the image's `%s` is not a regular file", path);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	rfd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (rfd < 0)
		return husk_error_set(err, errno, "the image's `%s`", path);
	if (read_fd_bounded(rfd, ETC_FILE_MAX, path, ret, NULL, err) < 0)
		return -1;
	return 1;
}

int image_read_file(const struct husk_image *img, const char *path, char **ret, husk_error **err)
{
	*ret = NULL;
	for (size_t i = img->n_layers; i-- > 0;) {
		const char *dir = img->layers[i].path;
		cleanup_close int layerfd = -1;
		int r;
		if (dir == NULL)
			return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "layer %s is not unpacked",
					       img->layers[i].diff_id);
		layerfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (layerfd < 0)
			return husk_error_set(err, errno, "open layer `%s`", dir);
		r = read_in_layer(layerfd, path, ret, err);
		if (r < 0)
			return -1;
		if (r > 0)
			return 0;
	}
	return 0;
}

/* Splits a line of an /etc file at ':' into at most n fields; the number
 * found. */
static size_t split_fields(char *line, char **fields, size_t n)
{
	size_t k = 0;

	for (char *c = line; k < n && c; k++) {
		fields[k] = c;
		c = strchr(c, ':');
		if (c)
			*c++ = '\0';
	}
	return k;
}

static bool parse_id(const char *s, uint32_t *ret)
{
	int64_t v;

	if (parse_int64(s, 0, UINT32_MAX - 1, &v) < 0)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* The passwd entry whose name (or, for a number, uid) is spec. */
static bool passwd_lookup(const char *passwd, const char *spec, bool numeric, uint32_t id,
			  char **ret_name, uint32_t *ret_uid, uint32_t *ret_gid)
{
	cleanup_free char *copy = strdup(passwd ? passwd : "");
	char *save = NULL;

	for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[7];
		uint32_t uid, gid;
		if (split_fields(line, f, 7) < 4 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
			continue;
		if (numeric ? uid != id : strcmp(f[0], spec) != 0)
			continue;
		*ret_name = strdup(f[0]);
		*ret_uid = uid;
		*ret_gid = gid;
		return *ret_name != NULL;
	}
	return false;
}

static bool member_of(char *members, const char *user)
{
	char *save = NULL;

	for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (strcmp(m, user) == 0)
			return true;
	return false;
}

static int add_gid(struct user_ids *u, uint32_t gid)
{
	uint32_t *n;

	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == gid)
			return 0;
	n = realloc(u->groups, (u->n_groups + 1) * sizeof(*n));
	if (n == NULL)
		return -1;
	n[u->n_groups++] = gid;
	u->groups = n;
	return 0;
}

/* With a group spec: its gid (1) or 0 when not found. Without: the groups
 * that name user as a member, in u->groups. */
static int group_scan(const char *group, const char *spec, const char *user, struct user_ids *u)
{
	cleanup_free char *copy = strdup(group ? group : "");
	char *save = NULL;

	if (copy == NULL)
		return -1;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		size_t n = split_fields(line, f, 4);
		uint32_t gid;
		if (n < 3 || !parse_id(f[2], &gid))
			continue;
		if (spec && strcmp(f[0], spec) == 0) {
			u->gid = gid;
			return 1;
		}
		if (!spec && user && n == 4 && member_of(f[3], user) && add_gid(u, gid) < 0)
			return -1;
	}
	return 0;
}

void user_ids_clear(struct user_ids *u)
{
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

static int resolve_group(const char *spec, const char *group_file, const char *user_name,
			 const char *user_spec, struct user_ids *u, husk_error **err)
{
	uint32_t gid;
	int r;

	if (spec == NULL) {
		/* docker's: the groups that list the user as a member */
		if (user_name && group_scan(group_file, NULL, user_name, u) < 0)
			return husk_error_set(err, ENOMEM, "groups");
		return 0;
	}
	if (parse_id(spec, &gid)) {
		u->gid = gid;
		return 0;
	}
	r = group_scan(group_file, spec, NULL, u);
	if (r < 0)
		return husk_error_set(err, ENOMEM, "groups");
	if (r == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "user `%s`: no group `%s` in the image's /etc/group",
				       user_spec, spec);
	return 0;
}

int user_resolve(const char *user_spec, const char *passwd, const char *group, struct user_ids *ret,
		 husk_error **err)
{
	cleanup_free char *copy = strdup(user_spec ? user_spec : "");
	cleanup_free char *name = NULL;
	char *group_spec;
	struct user_ids u = {0};
	uint32_t id = 0;
	bool numeric;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "user");
	group_spec = strchr(copy, ':');
	if (group_spec)
		*group_spec++ = '\0';
	if (group_spec && *group_spec == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID, "user `%s`: an empty group",
				       user_spec);
	/* "" is root, found by id as docker does */
	numeric = copy[0] == '\0' || parse_id(copy, &id);
	if (copy[0] == '\0' && group_spec)
		return husk_error_fail(err, HUSK_ERR_INVALID, "user `%s`: no user", user_spec);
	if (passwd_lookup(passwd, copy, numeric, id, &name, &u.uid, &u.gid)) {
		/* found: its gid, unless a group is given */
	} else if (!numeric) {
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "user `%s`: no user `%s` in the image's /etc/passwd",
				       user_spec, copy);
	} else {
		u.uid = id;
		u.gid = 0;
	}
	if (resolve_group(group_spec, group, name, user_spec, &u, err) < 0) {
		user_ids_clear(&u);
		return -1;
	}
	*ret = u;
	return 0;
}

static json_t *user_json(const struct user_ids *u)
{
	json_t *user =
	    json_pack("{s:I, s:I}", "uid", (json_int_t)u->uid, "gid", (json_int_t)u->gid);
	json_t *gids = u->n_groups ? json_array() : NULL;

	for (size_t i = 0; gids && i < u->n_groups; i++)
		json_array_append_new(gids, json_integer(u->groups[i]));
	if (user && gids)
		json_object_set_new(user, "additionalGids", gids);
	return user;
}

int config_apply_user(struct config_ctx *c, husk_error **err)
{
	const char *spec = c->o->user ? c->o->user : c->img->config.user;
	cleanup_free char *passwd = NULL, *group = NULL, *keep_id = NULL;
	struct user_ids u = {0};
	json_t *user;

	if (image_read_file(c->img, "/etc/passwd", &passwd, err) < 0 ||
	    image_read_file(c->img, "/etc/group", &group, err) < 0)
		return -1;
	/* keep-id: the user's ids, whatever the image's User, as podman */
	if (c->idmap.keep_id && c->o->user == NULL) {
		if (asprintf(&keep_id, "%lu:%lu", c->idmap.user_uid, c->idmap.user_gid) < 0)
			return husk_error_set(err, ENOMEM, "user");
		spec = keep_id;
	}
	if (c->idmap.keep_id && config_keep_id_files(c, passwd, group, err) < 0)
		return -1;
	if (user_resolve(spec, passwd, group, &u, err) < 0)
		return -1;
	user = user_json(&u);
	user_ids_clear(&u);
	if (user == NULL ||
	    json_object_set_new(json_object_get(c->config, "process"), "user", user) < 0)
		return husk_error_set(err, ENOMEM, "process.user");
	return 0;
}
