/* SPDX-License-Identifier: MIT */
/*
 * The built-in image: busybox:latest made from the host's static busybox, so
 * `husk run busybox ...` needs no registry. One layer written straight from
 * memory (no staging directory), every entry owned by root with mtime 0 and
 * the image dated 1970-01-01: the same busybox gives the same digests.
 */
#define _GNU_SOURCE
#include "store_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define BUSYBOX_PATH "/bin/busybox"
#define BUSYBOX_NAME "busybox:latest"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] = "root:x:0:\n"
			    "nogroup:x:65534:\n";

/* A dynamically linked busybox would need the host's libraries inside the
 * image: refuse anything with a program interpreter. */
static int check_static(int fd, husk_error **err)
{
	Elf64_Ehdr eh;

	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       BUSYBOX_PATH " is not a 64-bit ELF executable");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		off_t off = (off_t)eh.e_phoff + (off_t)i * eh.e_phentsize;
		if (pread(fd, &ph, sizeof(ph), off) != (ssize_t)sizeof(ph))
			return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					       BUSYBOX_PATH ": truncated ELF headers");
		if (ph.p_type == PT_INTERP)
			return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					       BUSYBOX_PATH " is dynamically linked: the built-in "
							    "image needs busybox-static");
	}
	return 0;
}

static int read_output(int fd, char **ret, husk_error **err)
{
	size_t len = 0, cap = 16384;
	cleanup_free char *buf = malloc(cap + 1);

	if (buf == NULL)
		return husk_error_set(err, ENOMEM, "busybox --list-full");
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_error_set(err, errno, "read busybox --list-full");
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			char *nb = cap >= (1u << 20) ? NULL : realloc(buf, cap * 2 + 1);
			if (nb == NULL)
				return husk_error_fail(err, HUSK_ERR_INVALID,
						       "busybox --list-full: too much output");
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	*ret = steal_pointer(&buf);
	return 0;
}

/* `busybox --list-full`: the applets' paths, e.g. "bin/sh". */
static int run_list_full(char **ret, husk_error **err)
{
	char *argv[] = {"busybox", "--list-full", NULL}, *envp[] = {NULL};
	posix_spawn_file_actions_t fa;
	cleanup_close int rd = -1, wr = -1;
	int fds[2], status = 0, r;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "pipe");
	rd = fds[0];
	wr = fds[1];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wr, 1);
	r = posix_spawn(&pid, BUSYBOX_PATH, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return husk_error_set(err, r, "run " BUSYBOX_PATH);
	closep(&wr);
	r = read_output(rd, ret, err);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		free(*ret);
		*ret = NULL;
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       BUSYBOX_PATH " --list-full failed (status %d)", status);
	}
	return r;
}

static bool applet_path_ok(const char *p)
{
	if (p[0] == '\0' || p[0] == '/' || strstr(p, "..") != NULL || strstr(p, "//") != NULL)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return p[-1] != '/';
}

struct bb_entry {
	char *path;
	mode_t mode;	    /* type and permissions */
	const char *target; /* a symlink's */
	const char *data;   /* a small file's content */
};

struct bb_layer {
	struct bb_entry *e;
	size_t n, cap;
};

static int bb_add(struct bb_layer *l, const char *path, size_t path_len, mode_t mode,
		  const char *target, const char *data)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 512;
		struct bb_entry *e = realloc(l->e, cap * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n] = (struct bb_entry){.mode = mode, .target = target, .data = data};
	l->e[l->n].path = strndup(path, path_len);
	if (l->e[l->n].path == NULL)
		return -ENOMEM;
	l->n++;
	return 0;
}

/* The applet's directories (bin, usr, usr/bin, ...), then its symlink. */
static int bb_add_applet(struct bb_layer *l, const char *path)
{
	for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/'))
		if (bb_add(l, path, (size_t)(slash - path), S_IFDIR | 0755, NULL, NULL) < 0)
			return -ENOMEM;
	if (strcmp(path, "bin/busybox") == 0)
		return 0;
	return bb_add(l, path, strlen(path), S_IFLNK | 0777, "/bin/busybox", NULL);
}

static int bb_add_base(struct bb_layer *l)
{
	static const struct {
		const char *path;
		mode_t mode;
	} dirs[] = {{"bin", 0755},  {"dev", 0755},     {"etc", 0755}, {"home", 0755},
		    {"proc", 0555}, {"root", 0700},    {"sys", 0555}, {"tmp", 01777},
		    {"usr", 0755},  {"usr/bin", 0755}, {"var", 0755}};
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dirs); i++)
		r = bb_add(l, dirs[i].path, strlen(dirs[i].path), S_IFDIR | dirs[i].mode, NULL,
			   NULL);
	if (r == 0)
		r = bb_add(l, "bin/busybox", strlen("bin/busybox"), S_IFREG | 0755, NULL, NULL);
	if (r == 0)
		r = bb_add(l, "etc/passwd", strlen("etc/passwd"), S_IFREG | 0644, NULL, passwd);
	if (r == 0)
		r = bb_add(l, "etc/group", strlen("etc/group"), S_IFREG | 0644, NULL, group);
	return r;
}

static int bb_compare(const void *a, const void *b)
{
	return strcmp(((const struct bb_entry *)a)->path, ((const struct bb_entry *)b)->path);
}

/* Sorted by path (a directory sorts before what it holds), each path once.
 * Only the base list gives directories other modes than 0755 (/tmp, /root,
 * /proc, /sys): a directory listed twice keeps that mode. */
static void bb_sort_unique(struct bb_layer *l)
{
	size_t out = 0;

	qsort(l->e, l->n, sizeof(*l->e), bb_compare);
	for (size_t i = 0; i < l->n; i++) {
		if (out > 0 && strcmp(l->e[out - 1].path, l->e[i].path) == 0) {
			if (S_ISDIR(l->e[i].mode) && l->e[out - 1].mode == (S_IFDIR | 0755))
				l->e[out - 1].mode = l->e[i].mode;
			free(l->e[i].path);
			continue;
		}
		l->e[out++] = l->e[i];
	}
	l->n = out;
}

static void bb_clear(struct bb_layer *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i].path);
	free(l->e);
}

static int bb_plan(struct bb_layer *l, husk_error **err)
{
	cleanup_free char *list = NULL;
	char *save = NULL;

	if (run_list_full(&list, err) < 0)
		return -1;
	if (bb_add_base(l) < 0)
		return husk_error_set(err, ENOMEM, "busybox image");
	for (char *p = strtok_r(list, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (!applet_path_ok(p))
			continue;
		if (bb_add_applet(l, p) < 0)
			return husk_error_set(err, ENOMEM, "busybox image");
	}
	bb_sort_unique(l);
	return 0;
}

static int bb_write_entry(struct tar_writer *t, const struct bb_entry *b, int busybox_fd,
			  int64_t busybox_size, husk_error **err)
{
	struct archive_entry *e = archive_entry_new();
	bool is_busybox = strcmp(b->path, "bin/busybox") == 0;
	int r;

	if (e == NULL)
		return husk_error_set(err, ENOMEM, "busybox image");
	archive_entry_set_pathname(e, b->path);
	archive_entry_set_mode(e, b->mode);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_size(e, is_busybox ? busybox_size
					     : (b->data ? (int64_t)strlen(b->data) : 0));
	if (b->target != NULL)
		archive_entry_set_symlink(e, b->target);
	r = tar_writer_add(t, e, is_busybox ? busybox_fd : -1, b->data, err);
	archive_entry_free(e);
	return r;
}

static int bb_write_layer(struct husk_store *s, const struct bb_layer *l, int busybox_fd,
			  struct husk_layer *ret, husk_error **err)
{
	struct tar_writer *t = NULL;
	struct stat st;
	int r = -1;

	if (fstat(busybox_fd, &st) < 0)
		return husk_error_set(err, errno, "stat " BUSYBOX_PATH);
	if (tar_writer_new(s, &t, err) < 0)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		if (bb_write_entry(t, &l->e[i], busybox_fd, st.st_size, err) < 0)
			goto out;
	r = tar_writer_finish(t, ret, err);
out:
	tar_writer_free(t);
	return r;
}

static int bb_create(struct husk_store *s, int busybox_fd, char **ret, husk_error **err)
{
	struct bb_layer plan = {NULL};
	struct husk_layer layer = {NULL};
	cleanup_json json_t *config = json_pack("{s:[s], s:[s]}", "Cmd", "sh", "Env", DEFAULT_PATH);
	struct husk_image_create c = {
	    .layers = &layer,
	    .n_layers = 1,
	    .config = config,
	    .created_by = "husk: the built-in busybox, from the host's " BUSYBOX_PATH,
	    .name = BUSYBOX_NAME,
	};
	int r = -1;

	if (config == NULL)
		return husk_error_set(err, ENOMEM, "busybox image");
	if (bb_plan(&plan, err) == 0 && bb_write_layer(s, &plan, busybox_fd, &layer, err) == 0)
		r = husk_store_create_image(s, &c, ret, err);
	bb_clear(&plan);
	husk_layer_clear(&layer);
	return r;
}

int husk_store_ensure_busybox(struct husk_store *s, char **ret_manifest_digest, husk_error **err)
{
	cleanup_close int fd = -1;
	husk_error *lookup = NULL;
	char *digest = NULL;

	if (husk_store_resolve(s, BUSYBOX_NAME, &digest, &lookup) == 0) {
		if (ret_manifest_digest != NULL)
			*ret_manifest_digest = digest;
		else
			free(digest);
		return 0;
	}
	if (!husk_error_is(lookup, HUSK_ERR_NOT_FOUND)) {
		if (err != NULL && *err == NULL)
			*err = steal_pointer(&lookup);
		husk_error_free(&lookup);
		return -1;
	}
	husk_error_free(&lookup);
	fd = open(BUSYBOX_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno,
				      "the built-in image needs " BUSYBOX_PATH
				      " (Debian: busybox-static)");
	if (check_static(fd, err) < 0 || bb_create(s, fd, ret_manifest_digest, err) < 0)
		return husk_error_wrap(err, "built-in image " BUSYBOX_NAME);
	return 0;
}
