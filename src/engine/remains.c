/* SPDX-License-Identifier: MIT */
/* Telling what a killed husk left from work under way (remains.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "record.h"
#include "remains.h"
#include "util.h"

bool ctr_id_valid(const char *id)
{
	return strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

enum ctr_remains ctr_remains_of(const struct engine *e, const char *id, int *ret_lock_fd)
{
	cleanup_free char *dir = engine_container_path(&e->paths, id, NULL);
	cleanup_close int dirfd = -1, lock = -1;

	if (ret_lock_fd)
		*ret_lock_fd = -1;
	dirfd = dir ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dirfd < 0)
		return REMAINS_NONE;
	if (faccessat(dirfd, "container.json", F_OK, 0) == 0)
		return REMAINS_RECORD;
	/* Every dir has its lock from before it gets its id's name: none is
	 * left by something else (an older husk), which nobody works on. */
	lock = openat(dirfd, "lock", O_RDWR | O_CLOEXEC);
	if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0)
		return REMAINS_BUSY;
	/* free: unless its maker finished just now */
	if (faccessat(dirfd, "container.json", F_OK, 0) == 0)
		return REMAINS_RECORD;
	if (ret_lock_fd)
		*ret_lock_fd = steal_fd(&lock);
	return REMAINS_ABANDONED;
}

char *ctr_transit_path(const struct engine *e, const char *what, const char *id)
{
	unsigned long long start = 0;
	char *path = NULL;

	proc_start_time(getpid(), &start);
	if (asprintf(&path, "%s/.%s-%s-%d-%llu", e->paths.containers, what, id, (int)getpid(),
		     start) < 0)
		return NULL;
	return path;
}

bool ctr_transit_parse(const char *name, const char **ret_what, char ret_id[65], bool *ret_alive)
{
	static const char *const whats[] = {"creating", "removing"};
	unsigned long long start;
	int pid, end = 0;

	for (size_t i = 0; i < ARRAY_SIZE(whats); i++) {
		size_t len = strlen(whats[i]);
		if (name[0] != '.' || strncmp(name + 1, whats[i], len) != 0 || name[len + 1] != '-')
			continue;
		name += len + 2;
		if (strlen(name) < 65 || name[64] != '-')
			return false;
		memcpy(ret_id, name, 64);
		ret_id[64] = '\0';
		if (!ctr_id_valid(ret_id) ||
		    sscanf(name + 65, "%d-%llu%n", &pid, &start, &end) != 2 ||
		    name[65 + end] != '\0')
			return false;
		*ret_what = whats[i];
		*ret_alive = process_alive(pid, start);
		return true;
	}
	return false;
}

/* Whether the container's record gives it that name (a record that cannot
 * be read is taken to: nothing is taken from it). */
static bool ctr_has_name(const struct engine *e, const char *id, const char *name)
{
	cleanup_ctr struct ctr *c = NULL;

	return ctr_load(e, id, &c, NULL) < 0 || (c->name && strcmp(c->name, name) == 0);
}

bool name_stale(const struct engine *e, const char *name, const char *id)
{
	cleanup_free char *lock_path = engine_container_path(&e->paths, id, "lock");
	cleanup_close int lock = -1;

	switch (ctr_remains_of(e, id, NULL)) {
	case REMAINS_NONE:
	case REMAINS_ABANDONED:
		return true;
	case REMAINS_BUSY:
		return false;
	case REMAINS_RECORD:
		break;
	}
	if (ctr_has_name(e, id, name))
		return false;
	/* a rename under way holds the lock until the old name is released */
	lock = lock_path ? open(lock_path, O_RDWR | O_CLOEXEC) : -1;
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
		return false;
	return !ctr_has_name(e, id, name);
}

/* A copy of s appended to *v. */
static int strv_add(char ***v, const char *s)
{
	char *copy = strdup(s);

	return copy ? strv_append(v, copy) : -ENOMEM;
}

int names_of(const struct engine *e, const char *id, char ***ret, husk_error **err)
{
	cleanup_dir DIR *d = opendir(e->paths.names);
	cleanup_strv char **found = calloc(1, sizeof(char *));
	struct dirent *de;

	if (d == NULL)
		return husk_error_set(err, errno, "open `%s`", e->paths.names);
	if (found == NULL)
		return husk_error_set(err, ENOMEM, "names");
	while ((de = readdir(d)) != NULL) {
		cleanup_free char *data = NULL;
		if (de->d_name[0] == '.' ||
		    read_file_at(dirfd(d), de->d_name, &data, NULL, NULL) < 0 ||
		    strcmp(data, id) != 0)
			continue;
		if (strv_add(&found, de->d_name) < 0)
			return husk_error_set(err, ENOMEM, "names");
	}
	*ret = steal_pointer(&found);
	return 0;
}

int ids_in_dir(const char *dir, char ***ret, husk_error **err)
{
	cleanup_dir DIR *d = opendir(dir);
	cleanup_strv char **found = calloc(1, sizeof(char *));
	struct dirent *de;

	if (found == NULL)
		return husk_error_set(err, ENOMEM, "%s", dir);
	if (d == NULL && errno != ENOENT)
		return husk_error_set(err, errno, "open `%s`", dir);
	while (d && (de = readdir(d)) != NULL)
		if (ctr_id_valid(de->d_name) && strv_add(&found, de->d_name) < 0)
			return husk_error_set(err, ENOMEM, "%s", dir);
	*ret = steal_pointer(&found);
	return 0;
}
