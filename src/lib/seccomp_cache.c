/* SPDX-License-Identifier: MIT */
/* A cache of compiled seccomp filters. libseccomp needs 10-20 ms to turn a
 * Docker-sized profile into BPF, several times the cost of the rest of a
 * container's start; the result only depends on the profile, libseccomp,
 * this program and the kernel, so it is kept in a file per profile.
 *
 * Trust: an entry holds the complete key it was made from and is used only
 * when that key matches byte for byte, so the file name (a 64-bit hash) can
 * collide harmlessly. The directory and its files must belong to the caller
 * and be writable by nobody else, as the container state beside them is. */
#define _GNU_SOURCE
#include "seccomp_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

#define ENTRY_MAGIC "HUSKBPF1"

struct entry_header {
	char magic[8];
	uint32_t key_len;
	uint32_t n_insns;
	uint32_t notify;
	uint32_t reserved;
};

char *husk_seccomp_cache_key(json_t *linux_seccomp)
{
	const struct scmp_version *v = seccomp_version();
	cleanup_free char *profile = json_dumps(linux_seccomp, JSON_COMPACT | JSON_SORT_KEYS);
	struct utsname u;
	struct stat exe;
	char *key = NULL;

	/* The program itself by identity, not only by version: a rebuilt
	 * runtime may compile the same profile differently. */
	if (profile == NULL || v == NULL || uname(&u) < 0 || stat("/proc/self/exe", &exe) < 0)
		return NULL;
	if (asprintf(&key,
		     "husk %s exe %ju:%ju %jd %jd.%09ld\nlibseccomp %u.%u.%u\nkernel %s %s %s\n%s",
		     HUSK_VERSION, (uintmax_t)exe.st_dev, (uintmax_t)exe.st_ino,
		     (intmax_t)exe.st_size, (intmax_t)exe.st_mtim.tv_sec, exe.st_mtim.tv_nsec,
		     v->major, v->minor, v->micro, u.machine, u.release, u.version, profile) < 0)
		return NULL;
	return key;
}

/* FNV-1a, 64 bits: only names the file. */
static uint64_t hash_key(const char *key, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void entry_name(const char *key, size_t key_len, char name[32])
{
	snprintf(name, 32, "%016" PRIx64 ".bpf", hash_key(key, key_len));
}

/* Ours and writable by nobody else. */
static bool trusted(const struct stat *st, mode_t type)
{
	return (st->st_mode & S_IFMT) == type && st->st_uid == geteuid() &&
	       (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static int open_dir(const char *dir, bool create)
{
	cleanup_close int fd = -1;
	struct stat st;

	if (create && mkdir(dir, 0700) < 0 && errno == ENOENT) {
		/* The state root, on a first run: made as the state code makes it. */
		cleanup_free char *parent = strdup(dir);
		char *slash = parent ? strrchr(parent, '/') : NULL;
		if (slash == NULL || slash == parent)
			return -1;
		*slash = '\0';
		if (mkdir(parent, 0700) < 0 && errno != EEXIST)
			return -1;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !trusted(&st, S_IFDIR))
		return -1;
	return steal_fd(&fd);
}

int husk_seccomp_cache_lookup(const char *dir, const char *key, struct husk_bpf *ret)
{
	size_t key_len = strlen(key);
	cleanup_close int dirfd = open_dir(dir, false), fd = -1;
	cleanup_free char *buf = NULL;
	struct entry_header h;
	struct stat st;
	char name[32];
	size_t size;

	if (dirfd < 0)
		return 0;
	entry_name(key, key_len, name);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !trusted(&st, S_IFREG) ||
	    (size_t)st.st_size < sizeof(h) + key_len)
		return 0;
	size = (size_t)st.st_size;
	buf = malloc(size);
	if (buf == NULL || read_all(fd, buf, size) != (ssize_t)size)
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, ENTRY_MAGIC, sizeof(h.magic)) != 0 || h.key_len != key_len ||
	    h.n_insns == 0 || h.n_insns > BPF_MAXINSNS ||
	    size != sizeof(h) + key_len + (size_t)h.n_insns * sizeof(struct sock_filter) ||
	    memcmp(buf + sizeof(h), key, key_len) != 0)
		return 0;
	ret->insns = malloc((size_t)h.n_insns * sizeof(struct sock_filter));
	if (ret->insns == NULL)
		return 0;
	memcpy(ret->insns, buf + sizeof(h) + key_len,
	       (size_t)h.n_insns * sizeof(struct sock_filter));
	ret->n_insns = (unsigned short)h.n_insns;
	ret->notify = h.notify != 0;
	return 1;
}

/* Writes a temporary file and renames it over the entry: a reader sees the
 * old entry, the new one or none, never half of one. */
void husk_seccomp_cache_store(const char *dir, const char *key, const struct husk_bpf *bpf)
{
	size_t key_len = strlen(key), code = (size_t)bpf->n_insns * sizeof(struct sock_filter);
	struct entry_header h = {
	    .key_len = (uint32_t)key_len, .n_insns = bpf->n_insns, .notify = bpf->notify};
	cleanup_close int dirfd = open_dir(dir, true), fd = -1;
	char name[32], tmp[64];
	bool ok;

	if (dirfd < 0 || key_len > UINT32_MAX)
		return;
	memcpy(h.magic, ENTRY_MAGIC, sizeof(h.magic));
	entry_name(key, key_len, name);
	snprintf(tmp, sizeof(tmp), ".tmp.%d.%s", (int)getpid(), name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = write_all(fd, &h, sizeof(h)) == 0 && write_all(fd, key, key_len) == 0 &&
	     write_all(fd, bpf->insns, code) == 0;
	if (!ok || renameat(dirfd, tmp, dirfd, name) < 0)
		unlinkat(dirfd, tmp, 0);
}
