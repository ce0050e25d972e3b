/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup.h"
#include "util.h"

const char *husk_status_name(enum husk_status s)
{
	static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};
	return names[s];
}

int husk_state_root_default(char **ret, husk_error **err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	bool real_root = geteuid() == 0 && !in_user_namespace();

	*ret = NULL;
	if (real_root)
		*ret = strdup("/run/husk");
	else if (xdg != NULL && *xdg != '\0') {
		if (asprintf(ret, "%s/husk", xdg) < 0)
			*ret = NULL;
	} else if (asprintf(ret, "/tmp/husk-%u", (unsigned)geteuid()) < 0) {
		*ret = NULL;
	}
	return *ret ? 0 : husk_error_set(err, ENOMEM, "state root");
}

int husk_id_validate(const char *id, husk_error **err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "container id: must not be empty");
	if (n > 1024)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "container id: longer than 1024 bytes");
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (i > 0 && strchr("_.+-", c) != NULL);
		if (!ok)
			return husk_error_fail(
			    err, HUSK_ERR_INVALID,
			    "container id `%s`: invalid character `%c` (allowed: "
			    "letters, digits and _ . + - after the first)",
			    id, c);
	}
	return 0;
}

static int lock_dir(int dirfd, bool exclusive, const char *id, husk_error **err)
{
	while (flock(dirfd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		if (errno != EINTR)
			return husk_error_set(err, errno, "lock container `%s`", id);
	return 0;
}

int husk_state_dir_create(const char *root, const char *id, int *ret_dirfd, husk_error **err)
{
	cleanup_close int rootfd = -1, fd = -1;

	if (husk_id_validate(id, err) < 0)
		return -1;
	if (mkdir_p(root, 0700, err) < 0)
		return husk_error_wrap(err, "state root");
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return husk_error_set(err, errno, "open state root `%s`", root);
	if (mkdirat(rootfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return husk_error_fail(err, HUSK_ERR_EXISTS,
					       "container `%s` already exists", id);
		return husk_error_set(err, errno, "create state directory `%s/%s`", root, id);
	}
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || lock_dir(fd, true, id, err) < 0) {
		int e = errno;
		unlinkat(rootfd, id, AT_REMOVEDIR);
		return husk_error_set(err, e, "open state directory `%s/%s`", root, id);
	}
	*ret_dirfd = steal_fd(&fd);
	return 0;
}

int husk_state_dir_open(const char *root, const char *id, bool exclusive, int *ret_dirfd,
			husk_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_close int fd = -1;

	if (husk_id_validate(id, err) < 0)
		return -1;
	if (asprintf(&path, "%s/%s", root, id) < 0)
		return husk_error_set(err, ENOMEM, "state");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
					       "container `%s` does not exist", id);
		return husk_error_set(err, errno, "open `%s`", path);
	}
	if (lock_dir(fd, exclusive, id, err) < 0)
		return -1;
	/* The directory may have been removed by a delete we waited for. */
	if (faccessat(fd, "state.json", F_OK, 0) < 0 && faccessat(fd, ".", F_OK, 0) == 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_nlink == 0)
			return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
					       "container `%s` does not exist", id);
	}
	*ret_dirfd = steal_fd(&fd);
	return 0;
}

int husk_state_dir_remove(const char *root, const char *id)
{
	cleanup_close int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (rootfd < 0)
		return -1;
	return rm_rf_at(rootfd, id);
}

static json_t *state_to_private_json(const struct husk_state *st)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:b, s:b}", "ociVersion",
			      st->oci_version ? st->oci_version : "1.0.2", "id", st->id, "bundle",
			      st->bundle ? st->bundle : "", "pid", (int)st->pid, "pidStartTime",
			      (json_int_t)st->pid_start_time, "created",
			      st->created ? st->created : "", "owner", st->owner ? st->owner : "",
			      "rootless", st->rootless, "systemdCgroup", st->systemd_cgroup);
	if (o == NULL)
		return NULL;
	if (st->cgroup)
		json_object_set(o, "cgroup", st->cgroup);
	if (st->annotations)
		json_object_set(o, "annotations", st->annotations);
	if (st->config)
		json_object_set(o, "config", st->config);
	return o;
}

int husk_state_write(int dirfd, const struct husk_state *st, husk_error **err)
{
	cleanup_json json_t *o = state_to_private_json(st);
	cleanup_free char *text = NULL;

	if (o == NULL)
		return husk_error_set(err, ENOMEM, "state");
	text = json_dumps(o, JSON_COMPACT);
	if (text == NULL)
		return husk_error_set(err, ENOMEM, "state");
	return write_file_atomic_at(dirfd, "state.json", text, strlen(text), 0600, err);
}

static char *dup_string(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? strdup(s) : NULL;
}

int husk_state_read(int dirfd, struct husk_state *st, husk_error **err)
{
	cleanup_free char *text = NULL;
	json_error_t jerr;
	cleanup_json json_t *o = NULL;
	size_t len;

	memset(st, 0, sizeof(*st));
	if (read_file_at(dirfd, "state.json", &text, &len, err) < 0)
		return -1;
	o = json_loadb(text, len, 0, &jerr);
	if (o == NULL || !json_is_object(o))
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "state.json: corrupt: %s", jerr.text);
	st->id = dup_string(o, "id");
	st->bundle = dup_string(o, "bundle");
	st->oci_version = dup_string(o, "ociVersion");
	st->created = dup_string(o, "created");
	st->owner = dup_string(o, "owner");
	st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	st->pid_start_time =
	    (unsigned long long)json_integer_value(json_object_get(o, "pidStartTime"));
	st->rootless = json_is_true(json_object_get(o, "rootless"));
	st->systemd_cgroup = json_is_true(json_object_get(o, "systemdCgroup"));
	st->cgroup = json_incref(json_object_get(o, "cgroup"));
	st->annotations = json_incref(json_object_get(o, "annotations"));
	st->config = json_incref(json_object_get(o, "config"));
	if (st->id == NULL)
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "state.json: corrupt: no id");
	return 0;
}

void husk_state_clear(struct husk_state *st)
{
	free(st->id);
	free(st->bundle);
	free(st->oci_version);
	free(st->created);
	free(st->owner);
	json_decref(st->cgroup);
	json_decref(st->annotations);
	json_decref(st->config);
	memset(st, 0, sizeof(*st));
}

static bool process_alive(pid_t pid, unsigned long long start_time)
{
	unsigned long long now;
	char path[64], buf[512];
	cleanup_close int fd = -1;
	ssize_t n;
	char *p;

	if (pid <= 0 || proc_start_time(pid, &now) < 0 || now != start_time)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read_all(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

enum husk_status husk_state_status(int dirfd, const struct husk_state *st)
{
	if (!process_alive(st->pid, st->pid_start_time))
		return HUSK_STATUS_STOPPED;
	if (faccessat(dirfd, "exec.sock", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return HUSK_STATUS_CREATED;
	if (st->cgroup) {
		struct husk_cgroup cg = {0};
		bool frozen =
		    husk_cgroup_from_json(st->cgroup, &cg, NULL) == 0 && husk_cgroup_is_frozen(&cg);
		husk_cgroup_clear(&cg);
		if (frozen)
			return HUSK_STATUS_PAUSED;
	}
	return HUSK_STATUS_RUNNING;
}

json_t *husk_state_to_json(const struct husk_state *st, enum husk_status status)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ociVersion",
			      st->oci_version ? st->oci_version : "1.0.2", "id", st->id, "status",
			      husk_status_name(status), "bundle", st->bundle ? st->bundle : "");

	if (o == NULL)
		return NULL;
	if (status != HUSK_STATUS_STOPPED)
		json_object_set_new(o, "pid", json_integer(st->pid));
	json_object_set_new(o, "annotations",
			    st->annotations ? json_incref(st->annotations) : json_object());
	return o;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int husk_state_list(const char *root, char ***ret, husk_error **err)
{
	cleanup_strv char **ids = calloc(1, sizeof(char *));
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (ids == NULL)
		return husk_error_set(err, ENOMEM, "list");
	d = opendir(root);
	if (d == NULL) {
		if (errno == ENOENT) {
			*ret = steal_pointer(&ids);
			return 0;
		}
		return husk_error_set(err, errno, "open `%s`", root);
	}
	while ((de = readdir(d)) != NULL) {
		char **nids;
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		nids = realloc(ids, (n + 2) * sizeof(char *));
		if (nids == NULL)
			break;
		ids = nids;
		ids[n] = strdup(de->d_name);
		ids[++n] = NULL;
	}
	closedir(d);
	qsort(ids, n, sizeof(char *), cmp_str);
	*ret = steal_pointer(&ids);
	return 0;
}
