/* SPDX-License-Identifier: MIT */
/* --userns auto: a range of host ids per container, and its namespace. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "subid.h"
#include "userns_auto.h"
#include "util.h"

#define SUBID_OWNER "containers"

static int parse_idmap(const char *text, struct ctr_idmap *m)
{
	return sscanf(text, "%lu %lu %lu", &m->uid, &m->gid, &m->size) == 3 && m->size > 0 ? 0 : -1;
}

static int read_at(int dirfd, const char *name, struct ctr_idmap *ret, husk_error **err)
{
	cleanup_free char *text = NULL;
	husk_error *e1 = NULL;

	ret->size = 0;
	if (read_file_at(dirfd, name, &text, NULL, &e1) < 0) {
		bool missing = husk_error_is(e1, HUSK_ERR_NOT_FOUND);
		if (missing) {
			husk_error_free(&e1);
			return 0;
		}
		*err = e1;
		return -1;
	}
	if (parse_idmap(text, ret) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: not an id range", name);
	return 0;
}

int userns_auto_read(const char *dir, struct ctr_idmap *ret, husk_error **err)
{
	cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	return read_at(dirfd, "idmap", ret, err);
}

/* Offsets (from the start of the `containers` range) that containers use,
 * as [begin, end) pairs; every dir counts, those being made or removed
 * too. */
static int offsets_taken(int containers_fd, unsigned long ustart, unsigned long **ret,
			 size_t *ret_n, husk_error **err)
{
	cleanup_dir DIR *d = fdopendir(dup(containers_fd));
	cleanup_free unsigned long *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (d == NULL)
		return husk_error_set(err, errno, "read the containers dir");
	while ((de = readdir(d)) != NULL) {
		cleanup_free char *name = NULL;
		struct ctr_idmap m;
		husk_error *e1 = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    asprintf(&name, "%s/idmap", de->d_name) < 0)
			continue;
		if (read_at(dirfd(d), name, &m, &e1) < 0 || m.size == 0) {
			husk_error_free(&e1); /* not a dir, or no range */
			continue;
		}
		if (n + 2 > cap) {
			unsigned long *grown =
			    reallocarray(v, cap = cap ? cap * 2 : 32, sizeof(*v));
			if (grown == NULL)
				return husk_error_set(err, ENOMEM, "id ranges");
			v = grown;
		}
		v[n++] = m.uid - ustart;
		v[n++] = m.uid - ustart + m.size;
	}
	*ret = steal_pointer(&v);
	*ret_n = n;
	return 0;
}

/* The lowest offset where size ids fit in [0, limit) between the taken
 * ranges. */
static bool first_free(const unsigned long *taken, size_t n, unsigned long size,
		       unsigned long limit, unsigned long *ret)
{
	unsigned long at = 0;
	bool moved = true;

	while (moved) {
		moved = false;
		for (size_t i = 0; i < n; i += 2)
			if (at < taken[i + 1] && taken[i] < at + size) {
				at = taken[i + 1];
				moved = true;
			}
	}
	if (at > limit || size > limit - at)
		return false;
	*ret = at;
	return true;
}

/* The core mounts a container's rootfs as the container's root: the
 * storage root and its containers dir are made searchable (not readable)
 * by all, as containers/storage makes its overlay dir; each container dir
 * stays closed to all but its own root's group. */
static int open_path_to_containers(const char *containers_dir, husk_error **err)
{
	cleanup_free char *root = strdup(containers_dir);
	char *slash = root ? strrchr(root, '/') : NULL;

	if (slash == NULL)
		return husk_error_set(err, root ? EINVAL : ENOMEM, "`%s`", containers_dir);
	*slash = '\0';
	if (chmod(containers_dir, 0711) < 0 || (root[0] && chmod(root, 0711) < 0))
		return husk_error_set(err, errno, "chmod `%s`", containers_dir);
	/* the storage root's parents are not ours to open: said, not changed */
	while ((slash = strrchr(root, '/')) != NULL) {
		struct stat st;
		*slash = '\0';
		if (stat(root[0] ? root : "/", &st) < 0)
			return husk_error_set(err, errno, "stat `%s`", root[0] ? root : "/");
		if ((st.st_mode & S_IXOTH) == 0)
			return husk_error_fail(
			    err, HUSK_ERR_PERMISSION,
			    "--userns auto: `%s` is not searchable by others, so "
			    "the container's root cannot reach its rootfs below it "
			    "(chmod o+x, or a storage root elsewhere)",
			    root);
	}
	return 0;
}

int userns_auto_allocate(const char *containers_dir, const char *dir, unsigned long size,
			 husk_error **err)
{
	cleanup_close int cfd = open(containers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_free unsigned long *taken = NULL;
	unsigned long us, uc, gs, gc, off;
	char text[96];
	size_t n = 0;

	if (!subid_range("/etc/subuid", SUBID_OWNER, (uid_t)-1, &us, &uc) ||
	    !subid_range("/etc/subgid", SUBID_OWNER, (uid_t)-1, &gs, &gc))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--userns auto: /etc/subuid and /etc/subgid need a range "
				       "for `" SUBID_OWNER "` (e.g. " SUBID_OWNER
				       ":2147483648:2147483648)");
	if (cfd < 0 || dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", cfd < 0 ? containers_dir : dir);
	if (open_path_to_containers(containers_dir, err) < 0)
		return -1;
	/* the containers dir's lock: one allocation at a time */
	if (flock(cfd, LOCK_EX) < 0)
		return husk_error_set(err, errno, "lock `%s`", containers_dir);
	if (offsets_taken(cfd, us, &taken, &n, err) < 0)
		return -1;
	if (!first_free(taken, n, size, uc < gc ? uc : gc, &off))
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "--userns auto: no free range of %lu ids left in the "
				       "`" SUBID_OWNER "` ranges of /etc/subuid and /etc/subgid",
				       size);
	snprintf(text, sizeof(text), "%lu %lu %lu\n", us + off, gs + off, size);
	return write_file_atomic_at(dirfd, "idmap", text, strlen(text), 0644, err);
}

/* Writes "0 START SIZE" to /proc/PID/FILE. */
static int write_map(pid_t pid, const char *file, unsigned long start, unsigned long size,
		     husk_error **err)
{
	char path[64], map[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	snprintf(map, sizeof(map), "0 %lu %lu\n", start, size);
	return write_file_at(AT_FDCWD, path, map, strlen(map), err);
}

/* The child: a user namespace of its own, said once it has one, then held
 * until the parent is done with it (its end of the socket closed). */
static _Noreturn void hold_userns(int sock)
{
	char c;

	if (unshare(CLONE_NEWUSER) < 0 || write(sock, "u", 1) != 1)
		_exit(1);
	while (read(sock, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

int userns_auto_fd(const struct ctr_idmap *m, husk_error **err)
{
	cleanup_close int sock = -1, fd = -1;
	char path[64], c;
	int sv[2], r = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_error_set(err, errno, "socketpair");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return husk_error_set(err, errno, "fork");
	}
	if (pid == 0) {
		close(sv[0]);
		hold_userns(sv[1]);
	}
	close(sv[1]);
	sock = sv[0];
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (read(sock, &c, 1) != 1)
		r = husk_error_fail(err, HUSK_ERR_SYSTEM, "--userns auto: no user namespace made");
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		r = husk_error_set(err, errno, "open `%s`", path);
	else if (write_map(pid, "uid_map", m->uid, m->size, err) < 0 ||
		 write_map(pid, "gid_map", m->gid, m->size, err) < 0)
		r = -1;
	close(steal_fd(&sock));
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? -1 : steal_fd(&fd);
}
