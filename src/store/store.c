/* SPDX-License-Identifier: MIT */
/* The store's directory: opening, layout, locks, all-or-nothing writes. */
#define _GNU_SOURCE
#include "store_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

int husk_store_default_root(char **ret, husk_error **err)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char *root = NULL;
	int r;

	if (geteuid() == 0 && !in_user_namespace())
		r = asprintf(&root, "/var/lib/husk");
	else if (xdg != NULL && xdg[0] == '/')
		r = asprintf(&root, "%s/husk", xdg);
	else if (home != NULL && home[0] == '/')
		r = asprintf(&root, "%s/.local/share/husk", home);
	else
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "no store root: neither XDG_DATA_HOME nor HOME is set");
	if (r < 0)
		return husk_error_set(err, ENOMEM, "store root");
	*ret = root;
	return 0;
}

static int open_subdir(int dirfd, const char *name, int *ret, husk_error **err)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return husk_error_set(err, errno, "create `%s`", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", name);
	*ret = fd;
	return 0;
}

static int store_open_layout(struct husk_store *s, husk_error **err)
{
	cleanup_close int blobs = -1;

	if (mkdir_p(s->root, 0700, err) < 0)
		return -1;
	s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0)
		return husk_error_set(err, errno, "open `%s`", s->root);
	if (open_subdir(s->rootfd, "blobs", &blobs, err) < 0 ||
	    open_subdir(blobs, "sha256", &s->blobsfd, err) < 0 ||
	    open_subdir(s->rootfd, "layers", &s->layersfd, err) < 0 ||
	    open_subdir(s->rootfd, "holds", &s->holdsfd, err) < 0)
		return -1;
	s->lockfd = openat(s->rootfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lockfd < 0)
		return husk_error_set(err, errno, "open `%s/lock`", s->root);
	return 0;
}

/* Leftovers of killed writers go when nobody else writes: a live writer's
 * temps are its work in progress. */
static void store_clean_if_alone(struct husk_store *s)
{
	unsigned n = 0;

	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0)
		return;
	store_remove_temps(s->blobsfd, &n);
	store_remove_temps(s->layersfd, &n);
	store_remove_temps(s->holdsfd, &n);
	store_remove_temps(s->rootfd, &n);
	flock(s->lockfd, LOCK_UN);
}

int husk_store_open(const struct husk_store_opts *opts, struct husk_store **ret, husk_error **err)
{
	struct husk_store *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return husk_error_set(err, ENOMEM, "open the image store");
	s->rootfd = s->blobsfd = s->layersfd = s->holdsfd = s->lockfd = -1;
	/* trusted.* xattrs and device nodes need real root, not a namespace's. */
	s->rootless = (opts != NULL && opts->rootless) || geteuid() != 0 || in_user_namespace();
	s->allow_devices = !s->rootless;
	s->chown = geteuid() == 0;
	if (opts != NULL && opts->root != NULL)
		s->root = strdup(opts->root);
	else if (husk_store_default_root(&s->root, err) < 0)
		goto fail;
	if (s->root == NULL) {
		husk_error_set(err, ENOMEM, "open the image store");
		goto fail;
	}
	if (store_open_layout(s, err) < 0) {
		husk_error_wrap(err, "image store `%s`", s->root);
		goto fail;
	}
	store_clean_if_alone(s);
	*ret = s;
	return 0;
fail:
	husk_store_close(s);
	return -1;
}

void husk_store_close(struct husk_store *s)
{
	if (s == NULL)
		return;
	closep(&s->lockfd); /* releases the lock */
	closep(&s->holdsfd);
	closep(&s->layersfd);
	closep(&s->blobsfd);
	closep(&s->rootfd);
	free(s->root);
	free(s);
}

const char *husk_store_root(const struct husk_store *s)
{
	return s->root;
}

static int flock_retry(int fd, int op)
{
	int r;

	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	return r;
}

int store_begin_write(struct husk_store *s, husk_error **err)
{
	if (s->writing)
		return 0;
	if (flock_retry(s->lockfd, LOCK_SH) < 0)
		return husk_error_set(err, errno, "lock the image store");
	s->writing = true;
	return 0;
}

int store_lock_index(struct husk_store *s, int *ret_fd, husk_error **err)
{
	cleanup_close int fd =
	    openat(s->rootfd, "index.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return husk_error_set(err, errno, "open `index.lock`");
	if (flock_retry(fd, LOCK_EX) < 0)
		return husk_error_set(err, errno, "lock `index.lock`");
	*ret_fd = steal_fd(&fd);
	return 0;
}

bool store_is_temp_name(const char *name)
{
	return strncmp(name, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0;
}

static void random_suffix(char out[7])
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char bytes[6];

	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
		unsigned long v = (unsigned long)getpid() ^ (unsigned long)&bytes;
		for (size_t i = 0; i < sizeof(bytes); i++, v /= 7)
			bytes[i] = (unsigned char)v;
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		out[i] = chars[bytes[i] % (sizeof(chars) - 1)];
	out[6] = '\0';
}

/* Tries fresh names until create (mkdirat or openat with O_EXCL) does not
 * meet EEXIST. */
static int create_temp_name(int dirfd, bool dir, mode_t mode, char **ret_name, int *ret_fd,
			    husk_error **err)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[7], *name = NULL;
		int fd = -1;

		random_suffix(suffix);
		if (asprintf(&name, TEMP_PREFIX "%s", suffix) < 0)
			return husk_error_set(err, ENOMEM, "temporary name");
		if (dir)
			fd = mkdirat(dirfd, name, 0700);
		else
			fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    mode);
		if (fd >= 0) {
			if (ret_fd != NULL)
				*ret_fd = fd;
			*ret_name = name;
			return 0;
		}
		free(name);
		if (errno != EEXIST)
			return husk_error_set(err, errno, "create a temporary %s",
					      dir ? "directory" : "file");
	}
	return husk_error_set(err, EEXIST, "create a temporary file");
}

int store_create_temp(int dirfd, mode_t mode, char **ret_name, int *ret_fd, husk_error **err)
{
	return create_temp_name(dirfd, false, mode, ret_name, ret_fd, err);
}

int store_create_temp_dir(int dirfd, char **ret_name, husk_error **err)
{
	return create_temp_name(dirfd, true, 0700, ret_name, NULL, err);
}

int store_fsync_dir(int dirfd, const char *what, husk_error **err)
{
	if (fsync(dirfd) < 0)
		return husk_error_set(err, errno, "sync `%s`", what);
	return 0;
}

static int write_file_renamed(int dirfd, const char *name, const void *data, size_t len,
			      bool durable, husk_error **err)
{
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;

	if (store_create_temp(dirfd, 0644, &tmp, &fd, err) < 0)
		return -1;
	if (write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return husk_error_set(err, e, "write `%s`", name);
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return husk_error_set(err, e, "rename `%s` to `%s`", tmp, name);
	}
	return durable ? store_fsync_dir(dirfd, name, err) : 0;
}

int store_write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
			    husk_error **err)
{
	return write_file_renamed(dirfd, name, data, len, true, err);
}

int store_write_file_whole(int dirfd, const char *name, const void *data, size_t len,
			   husk_error **err)
{
	return write_file_renamed(dirfd, name, data, len, false, err);
}

static int for_each_name(int dirfd, bool temps, int (*fn)(int, const char *, void *), void *arg)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -errno;
	}
	while (r >= 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (store_is_temp_name(de->d_name) == temps)
			r = fn(dirfd, de->d_name, arg);
	}
	if (r >= 0 && errno != 0)
		r = -errno;
	closedir(d);
	return r;
}

static int remove_temp(int dirfd, const char *name, void *arg)
{
	unsigned *count = arg;

	/* Only ours: `lock` and images.json are no temps. */
	if (rm_rf_at(dirfd, name) == 0)
		(*count)++;
	return 0;
}

void store_remove_temps(int dirfd, unsigned *count)
{
	for_each_name(dirfd, true, remove_temp, count);
}

static int collect_name(int dirfd, const char *name, void *arg)
{
	char *copy = strdup(name);

	if (copy == NULL)
		return -ENOMEM;
	return strv_append(arg, copy);
}

int store_compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void store_strv_sort(char **v)
{
	if (v != NULL)
		qsort(v, strv_length(v), sizeof(char *), store_compare_strings);
}

int store_list_dir(int dirfd, char ***ret, husk_error **err)
{
	cleanup_strv char **names = calloc(1, sizeof(char *));
	int r;

	if (names == NULL)
		return husk_error_set(err, ENOMEM, "list a directory");
	r = for_each_name(dirfd, false, collect_name, &names);
	if (r < 0)
		return husk_error_set(err, -r, "list a directory");
	store_strv_sort(names);
	*ret = steal_pointer(&names);
	return 0;
}

const char *store_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}
