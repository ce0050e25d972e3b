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

static void extent_add(struct husk_id_extent *e, size_t *n, unsigned long inner,
		       unsigned long outer, unsigned long count)
{
	if (count > 0)
		e[(*n)++] = (struct husk_id_extent){inner, outer, count};
}

/* podman's keep-id: 0..u-1 → 1..u, u → 0 (the user), u+1..total-1 as they
 * are. */
static void keep_id_extents(struct husk_id_extent *e, size_t *n, unsigned long u,
			    unsigned long total)
{
	*n = 0;
	extent_add(e, n, 0, 1, u);
	extent_add(e, n, u, 0, 1);
	extent_add(e, n, u + 1, u + 1, total - u - 1);
}

static int parse_keep_id(const char *text, struct ctr_idmap *m)
{
	unsigned long nu, ng;

	if (sscanf(text, "keep-id %lu %lu %lu %lu", &m->user_uid, &m->user_gid, &nu, &ng) != 4 ||
	    m->user_uid >= nu || m->user_gid >= ng)
		return -1;
	m->keep_id = true;
	keep_id_extents(m->uids, &m->n_uids, m->user_uid, nu);
	keep_id_extents(m->gids, &m->n_gids, m->user_gid, ng);
	m->uid = husk_id_outer(m->uids, m->n_uids, 0);
	m->gid = husk_id_outer(m->gids, m->n_gids, 0);
	m->size = nu < ng ? nu : ng;
	return 0;
}

static int parse_idmap(const char *text, struct ctr_idmap *m)
{
	*m = (struct ctr_idmap){0};
	if (strncmp(text, "keep-id ", 8) == 0)
		return parse_keep_id(text, m);
	if (sscanf(text, "%lu %lu %lu", &m->uid, &m->gid, &m->size) != 3 || m->size == 0)
		return -1;
	extent_add(m->uids, &m->n_uids, 0, m->uid, m->size);
	extent_add(m->gids, &m->n_gids, 0, m->gid, m->size);
	return 0;
}

static int read_at(int dirfd, const char *name, struct ctr_idmap *ret, husk_error **err)
{
	cleanup_free char *text = NULL;
	husk_error *e1 = NULL;

	*ret = (struct ctr_idmap){0};
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
		/* keep-id's maps every id of the user's: taken from no one */
		if (read_at(dirfd(d), name, &m, &e1) < 0 || m.size == 0 || m.keep_id) {
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

/* Whether the container's root may search the dir of st with
 * CAP_DAC_READ_SEARCH: its namespace maps the dir's owner and group (its
 * user's dirs, for keep-id). */
static bool owner_mapped(const struct stat *st, const struct ctr_idmap *m)
{
	return m && m->n_uids &&
	       husk_id_inner(m->uids, m->n_uids, st->st_uid) != HUSK_OVERFLOW_ID &&
	       husk_id_inner(m->gids, m->n_gids, st->st_gid) != HUSK_OVERFLOW_ID;
}

/* The core mounts a container's rootfs as the container's root: the
 * storage root and its containers dir are made searchable (not readable)
 * by all, as containers/storage makes its overlay dir; each container dir
 * stays closed to all but its own root's group. The parents must be
 * searchable by it already (m: its mapping, when known). */
static int open_path_to_containers(const char *containers_dir, const struct ctr_idmap *m,
				   husk_error **err)
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
		if ((st.st_mode & S_IXOTH) == 0 && !owner_mapped(&st, m))
			return husk_error_fail(
			    err, HUSK_ERR_PERMISSION,
			    "--userns: `%s` is not searchable by others, so "
			    "the container's root cannot reach its rootfs below it "
			    "(chmod o+x, or a storage root elsewhere)",
			    root);
	}
	return 0;
}

/* Sums the counts of a /proc/self/{u,g}id_map, and gives 0's outer id. */
static int read_self_map(const char *file, unsigned long *ret_zero, unsigned long *ret_n,
			 husk_error **err)
{
	cleanup_free char *text = NULL;
	unsigned long in, out, count, n = 0;
	const char *line;
	int used;

	if (read_file_at(AT_FDCWD, file, &text, NULL, err) < 0)
		return -1;
	*ret_zero = 0;
	for (line = text; sscanf(line, "%lu %lu %lu%n", &in, &out, &count, &used) == 3;
	     line += used) {
		if (in == 0)
			*ret_zero = out;
		n += count;
	}
	*ret_n = n;
	return 0;
}

int userns_host_self(unsigned long *ret_uid, unsigned long *ret_gid, unsigned long *ret_nuids,
		     unsigned long *ret_ngids, husk_error **err)
{
	if (read_self_map("/proc/self/uid_map", ret_uid, ret_nuids, err) < 0 ||
	    read_self_map("/proc/self/gid_map", ret_gid, ret_ngids, err) < 0)
		return -1;
	return 0;
}

/* Where auto's ranges are taken from: as root, the `containers` ranges of
 * /etc/subuid and /etc/subgid; rootless, the ids of the user's namespace
 * but its 0 (the user): its subordinate ids. */
static int auto_source(unsigned long *us, unsigned long *uc, unsigned long *gs, unsigned long *gc,
		       husk_error **err)
{
	unsigned long u0, g0;

	if (!in_user_namespace()) {
		if (subid_range("/etc/subuid", SUBID_OWNER, (uid_t)-1, us, uc) &&
		    subid_range("/etc/subgid", SUBID_OWNER, (uid_t)-1, gs, gc))
			return 0;
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--userns auto: /etc/subuid and /etc/subgid need a range "
				       "for `" SUBID_OWNER "` (e.g. " SUBID_OWNER
				       ":2147483648:2147483648)");
	}
	if (userns_host_self(&u0, &g0, uc, gc, err) < 0)
		return -1;
	if (*uc < 2 || *gc < 2)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--userns auto: rootless, the user needs subordinate ids "
				       "(a range in /etc/subuid and /etc/subgid)");
	*us = *gs = 1;
	*uc -= 1;
	*gc -= 1;
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

	if (auto_source(&us, &uc, &gs, &gc, err) < 0)
		return -1;
	if (cfd < 0 || dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", cfd < 0 ? containers_dir : dir);
	if (open_path_to_containers(containers_dir, NULL, err) < 0)
		return -1;
	/* the containers dir's lock: one allocation at a time */
	if (flock(cfd, LOCK_EX) < 0)
		return husk_error_set(err, errno, "lock `%s`", containers_dir);
	if (offsets_taken(cfd, us, &taken, &n, err) < 0)
		return -1;
	if (!first_free(taken, n, size, uc < gc ? uc : gc, &off))
		return husk_error_fail(
		    err, HUSK_ERR_BUSY, "--userns auto: no free range of %lu ids left in %s", size,
		    in_user_namespace() ? "the user's subordinate ids (/etc/subuid, /etc/subgid)"
					: "the `" SUBID_OWNER
					  "` ranges of /etc/subuid and /etc/subgid");
	snprintf(text, sizeof(text), "%lu %lu %lu\n", us + off, gs + off, size);
	return write_file_atomic_at(dirfd, "idmap", text, strlen(text), 0644, err);
}

int userns_keep_id_record(const char *dir, long user_uid, long user_gid, husk_error **err)
{
	cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	unsigned long hu, hg, nu, ng, u, g;
	cleanup_free char *containers = NULL;
	struct ctr_idmap m;
	char *slash;
	char text[128];

	if (!in_user_namespace())
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "--userns keep-id: only rootless (as root the container's "
				       "ids are the host's already; use -u, or --userns auto)");
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	if (userns_host_self(&hu, &hg, &nu, &ng, err) < 0)
		return -1;
	u = user_uid >= 0 ? (unsigned long)user_uid : hu;
	g = user_gid >= 0 ? (unsigned long)user_gid : hg;
	if (u >= nu || g >= ng)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--userns keep-id: the user has %lu uids and %lu gids "
				       "(itself and /etc/subuid, /etc/subgid): too few to map it "
				       "to %lu:%lu",
				       nu, ng, u, g);
	containers = strdup(dir);
	slash = containers ? strrchr(containers, '/') : NULL;
	if (slash == NULL)
		return husk_error_set(err, ENOMEM, "`%s`", dir);
	*slash = '\0';
	snprintf(text, sizeof(text), "keep-id %lu %lu %lu %lu\n", u, g, nu, ng);
	if (parse_idmap(text, &m) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "--userns keep-id: %s", text);
	if (open_path_to_containers(containers, &m, err) < 0)
		return -1;
	return write_file_atomic_at(dirfd, "idmap", text, strlen(text), 0644, err);
}

/* Writes the extents, "INNER OUTER COUNT" lines, to /proc/PID/FILE. */
static int write_map(pid_t pid, const char *file, const struct husk_id_extent *e, size_t n,
		     husk_error **err)
{
	char path[64], map[CTR_IDMAP_MAX * 64];
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(map + len, sizeof(map) - len, "%lu %lu %lu\n", e[i].inner,
					e[i].outer, e[i].count);
	return write_file_at(AT_FDCWD, path, map, len, err);
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
	else if (write_map(pid, "uid_map", m->uids, m->n_uids, err) < 0 ||
		 write_map(pid, "gid_map", m->gids, m->n_gids, err) < 0)
		r = -1;
	close(steal_fd(&sock));
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? -1 : steal_fd(&fd);
}
