/* SPDX-License-Identifier: MIT */
/* The volume store (see volumes.h). */
#define _GNU_SOURCE
#include "volumes.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "run_parsers.h"
#include "util.h"

#define META "volume.json"

struct store {
	char *root;	  /* <storage_root>/volumes */
	char *containers; /* <storage_root>/containers */
	int dirfd;	  /* of root */
	int lockfd;	  /* volumes/.lock, held exclusively */
};

static void store_close(struct store *s)
{
	free(s->root);
	free(s->containers);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* the flock goes with it */
	s->root = s->containers = NULL;
	s->dirfd = s->lockfd = -1;
}
#define cleanup_store __attribute__((cleanup(store_close)))

/* Without create, a store never made is 1: nothing in it. */
static int store_open(const char *storage_root, bool create, struct store *s, husk_error **err)
{
	*s = (struct store){.dirfd = -1, .lockfd = -1};
	if (asprintf(&s->root, "%s/volumes", storage_root) < 0 ||
	    asprintf(&s->containers, "%s/containers", storage_root) < 0)
		return husk_error_set(err, ENOMEM, "volumes");
	if (!create && access(s->root, F_OK) < 0 && errno == ENOENT)
		return 1;
	if (mkdir_p(s->root, 0700, err) < 0)
		return -1;
	s->dirfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", s->root);
	s->lockfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0)
		return husk_error_set(err, errno, "open `%s/.lock`", s->root);
	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return husk_error_set(err, errno, "lock `%s`", s->root);
	return 0;
}

void volume_info_clear(struct volume_info *v)
{
	free(v->name);
	free(v->created_at);
	free(v->mountpoint);
	memset(v, 0, sizeof(*v));
}

void volume_infos_free(struct volume_info *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		volume_info_clear(&v[i]);
	free(v);
}

static bool container_exists(const struct store *s, const char *id)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/%s", s->containers, id) < 0)
		return true; /* cannot tell: keep the record */
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/* Live users of volume name; stale records are removed on the way. */
static int count_users(const struct store *s, const char *name, size_t *ret, char **ret_one,
		       husk_error **err)
{
	cleanup_free char *rel = NULL;
	int fd;
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	if (asprintf(&rel, "%s/users", name) < 0)
		return husk_error_set(err, ENOMEM, "volume `%s`", name);
	fd = openat(s->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "volume `%s`: open its users", name);
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return husk_error_set(err, errno, "volume `%s`", name);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!container_exists(s, de->d_name)) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (n++ == 0 && ret_one)
			*ret_one = strdup(de->d_name);
	}
	closedir(d);
	*ret = n;
	return 0;
}

static bool volume_exists(const struct store *s, const char *name)
{
	struct stat st;

	return fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int random_hex(char *buf, size_t bytes, husk_error **err)
{
	unsigned char r[32];

	if (bytes > sizeof(r) || getrandom(r, bytes, 0) != (ssize_t)bytes)
		return husk_error_set(err, errno ? errno : EINVAL, "random name");
	for (size_t i = 0; i < bytes; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static char *now_rfc3339(void)
{
	char buf[40];
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return strdup("1970-01-01T00:00:00Z");
	return strdup(buf);
}

static int write_meta(int dirfd, const char *tmp, const char *name, bool anonymous,
		      husk_error **err)
{
	cleanup_free char *created = now_rfc3339(), *text = NULL, *path = NULL;
	cleanup_json json_t *meta = NULL;

	if (created == NULL || asprintf(&path, "%s/" META, tmp) < 0)
		return husk_error_set(err, ENOMEM, "volume `%s`", name);
	meta = json_pack("{s:s, s:s, s:b}", "Name", name, "CreatedAt", created, "Anonymous",
			 anonymous);
	text = meta ? json_dumps(meta, JSON_INDENT(2)) : NULL;
	if (text == NULL)
		return husk_error_set(err, ENOMEM, "volume `%s`", name);
	return write_file_atomic_at(dirfd, path, text, strlen(text), 0644, err);
}

static int make_tmp_dirs(int dirfd, const char *tmp, const char *name, husk_error **err)
{
	cleanup_free char *data = NULL, *users = NULL;

	if (asprintf(&data, "%s/_data", tmp) < 0 || asprintf(&users, "%s/users", tmp) < 0)
		return husk_error_set(err, ENOMEM, "volume `%s`", name);
	if (mkdirat(dirfd, tmp, 0700) < 0)
		return husk_error_set(err, errno, "volume `%s`: mkdir", name);
	if (mkdirat(dirfd, data, 0755) < 0 || mkdirat(dirfd, users, 0700) < 0)
		return husk_error_set(err, errno, "volume `%s`: mkdir", name);
	/* mkdir's mode went through the umask: _data is 0755 as docker's */
	if (fchmodat(dirfd, data, 0755, 0) < 0)
		return husk_error_set(err, errno, "volume `%s`: chmod", name);
	return 0;
}

/* Under the lock. name NULL: an anonymous one. */
static int create_locked(const struct store *s, const char *name, char **ret_name,
			 bool *ret_created, husk_error **err)
{
	char hex[65], tmp[32];
	bool anonymous = name == NULL;
	int r;

	if (anonymous) {
		if (random_hex(hex, 32, err) < 0)
			return -1;
		name = hex;
	} else if (!run_volume_name_valid(name)) {
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "`%s` is not a volume name: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				       "are allowed, two characters at least",
				       name);
	}
	if (ret_created)
		*ret_created = false;
	if (!volume_exists(s, name)) {
		memcpy(tmp, ".tmp-", 5);
		if (random_hex(tmp + 5, 8, err) < 0)
			return -1;
		r = make_tmp_dirs(s->dirfd, tmp, name, err);
		if (r == 0)
			r = write_meta(s->dirfd, tmp, name, anonymous, err);
		if (r == 0 && renameat2(s->dirfd, tmp, s->dirfd, name, RENAME_NOREPLACE) < 0)
			r = husk_error_set(err, errno, "volume `%s`: rename into place", name);
		if (r < 0) {
			rm_rf_at(s->dirfd, tmp);
			return -1;
		}
		if (ret_created)
			*ret_created = true;
	}
	if (ret_name && (*ret_name = strdup(name)) == NULL)
		return husk_error_set(err, ENOMEM, "volume");
	return 0;
}

int volume_create(const char *storage_root, const char *name, char **ret_name, bool *ret_created,
		  husk_error **err)
{
	cleanup_store struct store s;

	if (store_open(storage_root, true, &s, err) < 0)
		return -1;
	return create_locked(&s, name, ret_name, ret_created, err);
}

int volume_attach(const char *storage_root, const char *name, const char *container_id,
		  char **ret_name, char **ret_data, husk_error **err)
{
	cleanup_store struct store s;
	cleanup_free char *vname = NULL, *user = NULL, *data = NULL;
	int fd;

	if (store_open(storage_root, true, &s, err) < 0 ||
	    create_locked(&s, name, &vname, NULL, err) < 0)
		return -1;
	if (asprintf(&user, "%s/users/%s", vname, container_id) < 0 ||
	    asprintf(&data, "%s/%s/_data", s.root, vname) < 0)
		return husk_error_set(err, ENOMEM, "volume `%s`", vname);
	fd = openat(s.dirfd, user, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_error_set(err, errno, "volume `%s`: record its user", vname);
	close(fd);
	if (ret_name)
		*ret_name = steal_pointer(&vname);
	*ret_data = steal_pointer(&data);
	return 0;
}

static int read_meta(const struct store *s, const char *name, struct volume_info *ret,
		     husk_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *meta = NULL;
	const char *created;
	size_t users = 0;

	if (asprintf(&path, "%s/%s/" META, s->root, name) < 0)
		return husk_error_set(err, ENOMEM, "volume `%s`", name);
	meta = json_load_file(path, 0, NULL);
	if (!json_is_object(meta))
		return husk_error_fail(err, HUSK_ERR_INVALID, "volume `%s`: `%s` is unreadable",
				       name, path);
	if (count_users(s, name, &users, NULL, err) < 0)
		return -1;
	created = json_string_value(json_object_get(meta, "CreatedAt"));
	*ret = (struct volume_info){
	    .name = strdup(name),
	    .created_at = strdup(created ? created : ""),
	    .anonymous = json_is_true(json_object_get(meta, "Anonymous")),
	    .n_users = users,
	};
	if (asprintf(&ret->mountpoint, "%s/%s/_data", s->root, name) < 0)
		ret->mountpoint = NULL;
	if (!ret->name || !ret->created_at || !ret->mountpoint) {
		volume_info_clear(ret);
		return husk_error_set(err, ENOMEM, "volume `%s`", name);
	}
	return 0;
}

/* Renamed aside first: a volume is there whole or not at all. */
static int remove_locked(const struct store *s, const char *name, husk_error **err)
{
	char tmp[32];

	memcpy(tmp, ".tmp-", 5);
	if (random_hex(tmp + 5, 8, err) < 0)
		return -1;
	if (renameat(s->dirfd, name, s->dirfd, tmp) < 0)
		return husk_error_set(err, errno, "remove volume `%s`", name);
	if (rm_rf_at(s->dirfd, tmp) < 0)
		return husk_error_set(err, errno, "remove volume `%s`", name);
	return 0;
}

static int release_one(const struct store *s, const char *name, const char *container_id,
		       bool remove_anonymous, husk_error **err)
{
	cleanup_free char *user = NULL;
	struct volume_info info = {0};
	int r;

	if (asprintf(&user, "%s/users/%s", name, container_id) < 0)
		return husk_error_set(err, ENOMEM, "volume `%s`", name);
	if (unlinkat(s->dirfd, user, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		return husk_error_set(err, errno, "volume `%s`: drop its user", name);
	}
	if (!remove_anonymous)
		return 0;
	if (read_meta(s, name, &info, err) < 0)
		return -1;
	r = info.anonymous && info.n_users == 0 ? remove_locked(s, name, err) : 0;
	volume_info_clear(&info);
	return r;
}

/* The volumes' names, sorted; .lock and .tmp-* left out. */
static int names_locked(const struct store *s, char ***ret, husk_error **err)
{
	cleanup_strv char **names = NULL;
	struct dirent **list = NULL;
	int n = scandirat(s->dirfd, ".", &list, NULL, alphasort);

	if (n < 0)
		return husk_error_set(err, errno, "list `%s`", s->root);
	names = calloc(1, sizeof(char *));
	for (int i = 0; i < n; i++) {
		if (names && list[i]->d_name[0] != '.' && volume_exists(s, list[i]->d_name)) {
			char *copy = strdup(list[i]->d_name);
			if (copy == NULL || strv_append(&names, copy) < 0) {
				strv_free(names);
				names = NULL;
			}
		}
		free(list[i]);
	}
	free(list);
	if (names == NULL)
		return husk_error_set(err, ENOMEM, "volumes");
	*ret = steal_pointer(&names);
	return 0;
}

int volumes_release(const char *storage_root, const char *container_id, bool remove_anonymous,
		    husk_error **err)
{
	cleanup_store struct store s;
	cleanup_strv char **names = NULL;
	husk_error *first = NULL;
	int r = store_open(storage_root, false, &s, err);

	if (r != 0)
		return r < 0 ? -1 : 0;
	if (names_locked(&s, &names, err) < 0)
		return -1;
	/* every volume, even after a failure: no record left behind */
	for (size_t i = 0; names[i]; i++) {
		husk_error *e = NULL;
		if (release_one(&s, names[i], container_id, remove_anonymous, &e) < 0 &&
		    first == NULL)
			first = steal_pointer(&e);
		husk_error_free(&e);
	}
	if (first == NULL)
		return 0;
	*err = first;
	return -1;
}

int volume_list(const char *storage_root, struct volume_info **ret, size_t *ret_n, husk_error **err)
{
	cleanup_store struct store s;
	cleanup_strv char **names = NULL;
	struct volume_info *list;
	size_t n;
	int r = store_open(storage_root, false, &s, err);

	if (r < 0 || (r == 0 && names_locked(&s, &names, err) < 0))
		return -1;
	n = strv_length(names);
	list = calloc(n + 1, sizeof(*list));
	if (list == NULL)
		return husk_error_set(err, ENOMEM, "volumes");
	for (size_t i = 0; i < n; i++)
		if (read_meta(&s, names[i], &list[i], err) < 0) {
			volume_infos_free(list, n);
			return -1;
		}
	*ret = list;
	*ret_n = n;
	return 0;
}

int volume_inspect(const char *storage_root, const char *name, struct volume_info *ret,
		   husk_error **err)
{
	cleanup_store struct store s;
	int r = store_open(storage_root, false, &s, err);

	if (r < 0)
		return -1;
	if (r > 0 || !run_volume_name_valid(name) || !volume_exists(&s, name))
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such volume: %s", name);
	return read_meta(&s, name, ret, err);
}

json_t *volume_info_json(const struct volume_info *v)
{
	return json_pack("{s:s, s:s, s:{}, s:s, s:s, s:{}, s:s}", "CreatedAt", v->created_at,
			 "Driver", "local", "Labels", "Mountpoint", v->mountpoint, "Name", v->name,
			 "Options", "Scope", "local");
}

int volume_remove(const char *storage_root, const char *name, husk_error **err)
{
	cleanup_store struct store s;
	cleanup_free char *user = NULL;
	size_t users = 0;
	int r = store_open(storage_root, false, &s, err);

	if (r < 0)
		return -1;
	if (r > 0 || !run_volume_name_valid(name) || !volume_exists(&s, name))
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such volume: %s", name);
	if (count_users(&s, name, &users, &user, err) < 0)
		return -1;
	if (users > 0)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "volume `%s` is in use by container %.12s", name,
				       user ? user : "?");
	return remove_locked(&s, name, err);
}

static uint64_t du_total;

static int du_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	/* docker's: what the files hold */
	if (flag == FTW_F && S_ISREG(st->st_mode))
		du_total += (uint64_t)st->st_size;
	return 0;
}

/* Leftovers of a husk killed while it made or removed a volume. */
static void sweep_tmp(const struct store *s)
{
	struct dirent **list = NULL;
	int n = scandirat(s->dirfd, ".", &list, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		if (strncmp(list[i]->d_name, ".tmp-", 5) == 0)
			rm_rf_at(s->dirfd, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

static int prune_one(const struct store *s, const char *name, bool all, char ***removed,
		     uint64_t *bytes, husk_error **err)
{
	struct volume_info info = {0};
	char *copy;
	int r;

	if (read_meta(s, name, &info, err) < 0)
		return -1;
	if (info.n_users > 0 || (!all && !info.anonymous)) {
		volume_info_clear(&info);
		return 0;
	}
	du_total = 0;
	nftw(info.mountpoint, du_add, 16, FTW_PHYS | FTW_MOUNT);
	volume_info_clear(&info);
	r = remove_locked(s, name, err);
	if (r < 0)
		return r;
	*bytes += du_total;
	copy = strdup(name);
	if (copy == NULL || strv_append(removed, copy) < 0)
		return husk_error_set(err, ENOMEM, "prune");
	return 0;
}

int volume_prune(const char *storage_root, bool all, char ***ret_removed, uint64_t *ret_bytes,
		 husk_error **err)
{
	cleanup_store struct store s;
	cleanup_strv char **names = NULL, **removed = NULL;
	uint64_t bytes = 0;
	int r = store_open(storage_root, false, &s, err);

	*ret_removed = NULL;
	*ret_bytes = 0;
	if (r != 0)
		return r < 0 ? -1 : 0;
	sweep_tmp(&s);
	if (names_locked(&s, &names, err) < 0)
		return -1;
	for (size_t i = 0; names[i]; i++)
		if (prune_one(&s, names[i], all, &removed, &bytes, err) < 0)
			return -1;
	*ret_removed = steal_pointer(&removed);
	*ret_bytes = bytes;
	return 0;
}
