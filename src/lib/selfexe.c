/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own executable and CVE-2019-5736 (see selfexe.h).
 *
 * The guard, prepared in the runtime and applied in the process that enters a
 * container, rests on three kernel facts (kernel/sys.c, kernel/fork.c):
 *  - prctl(PR_SET_MM, PR_SET_MM_MAP) with exe_fd replaces mm->exe_file, the
 *    target of /proc/PID/exe and what an exec of /proc/self/exe runs. It needs
 *    CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in the caller's own user
 *    namespace (the container's init is root in its new one; an exec'd
 *    process has joined the container's), not CAP_SYS_RESOURCE as the single
 *    PR_SET_MM_EXE_FILE does.
 *  - It fails with EBUSY while any mapping has the same path (mount and
 *    dentry) as the old exe_file. The same inode mapped from another mount
 *    does not count: the read-only pages are mapped again (the same page
 *    cache, no copy) in the container's init from the copy of the binary's
 *    mount in its new mount namespace, in an exec'd process (which has no
 *    other path once in the container) from a read-only detached bind mount
 *    of the binary made by the runtime. Pages written since exec (data,
 *    RELRO), and all of them when there is no other mount (an exec by an
 *    unprivileged runtime, which may not clone mounts), are copied to
 *    anonymous memory.
 *  - The new exe_file gets write access denied, and must be a regular file on
 *    an exec mount that the caller may execute: an empty memfd, sealed, so
 *    that an exec of it fails with ENOEXEC.
 * The mappings of the binary left in the process are reachable only through
 * /proc/PID/map_files, which needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE)
 * in the initial user namespace and ptrace access to the process: what could
 * as well make it open the binary for writing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "selfexe.h"
#include "util.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#define HUSK_OPEN_TREE_CLONE   1
#define HUSK_MOUNT_ATTR_RDONLY 0x00000001
#define HUSK_MOUNT_ATTR_NOSUID 0x00000002
#define HUSK_MOUNT_ATTR_NODEV  0x00000004

struct husk_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool fd_is_unwritable(int fd)
{
	struct statvfs sv;
	int seals;

	if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return true;
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

/* A bind mount of the binary alone, detached (nothing can see it), made
 * read-only: -1 where not allowed (no CAP_SYS_ADMIN over this mount
 * namespace) or not supported (before Linux 5.12). */
static int open_tree_readonly(void)
{
	struct husk_mount_attr attr = {.attr_set = HUSK_MOUNT_ATTR_RDONLY | HUSK_MOUNT_ATTR_NOSUID |
						   HUSK_MOUNT_ATTR_NODEV};
	cleanup_close int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
					    HUSK_OPEN_TREE_CLONE | O_CLOEXEC);

	if (fd < 0 || syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return -1;
	return steal_fd(&fd);
}

/* ---- the fallback: re-execute from a copy that cannot be written ---- */

static void reexec_readonly_bind(char **argv)
{
	extern char **environ;
	cleanup_close int fd = open_tree_readonly();

	if (fd >= 0)
		syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
}

static int reexec_sealed_copy(char **argv, husk_error **err)
{
	extern char **environ;
	cleanup_close int exe = -1, mem = -1;
	struct stat st;
	off_t off = 0;

	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0 || fstat(exe, &st) < 0)
		return husk_error_set(err, errno, "open /proc/self/exe");
	mem = memfd_create("husk-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem < 0)
		return husk_error_set(err, errno, "memfd_create");
	while (off < st.st_size) {
		ssize_t n = sendfile(mem, exe, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return husk_error_set(err, n < 0 ? errno : EIO, "copy the runtime binary");
	}
	if (fcntl(mem, F_ADD_SEALS, SEALS) < 0)
		return husk_error_set(err, errno, "seal the runtime copy");
	fexecve(mem, argv, environ);
	return husk_error_set(err, errno, "re-execute the sealed runtime copy");
}

int husk_self_ensure_sealed(char **argv, husk_error **err)
{
	cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fd_is_unwritable(fd))
		return 0;
	reexec_readonly_bind(argv);
	return reexec_sealed_copy(argv, err);
}

/* ---- the guard ---- */

/* One line of /proc/self/maps that maps the binary. */
struct exe_range {
	uintptr_t start, end;
	uint64_t offset;
	int prot;
	bool written; /* holds pages written since exec: copied, not mapped again */
};

#define MAX_RANGES 32

struct husk_exe_guard {
	bool needed;
	int source_fd; /* the binary on a read-only mount (for exec), or -1 */
	int exe_fd;    /* the empty sealed memfd that becomes /proc/self/exe */
	/* The binary's path, identity and mount, and the root directory, to
	 * find it in another mount namespace (see open_other_path). */
	char *path;
	struct stat exe, root;
	uint64_t mnt_id; /* 0: unknown */
	size_t n;
	struct exe_range r[MAX_RANGES];
	struct prctl_mm_map map; /* brk and exe_fd are filled in when applied */
};

void husk_exe_guard_free(struct husk_exe_guard *g)
{
	if (g == NULL)
		return;
	if (g->source_fd >= 0)
		close(g->source_fd);
	if (g->exe_fd >= 0)
		close(g->exe_fd);
	free(g->path);
	free(g);
}

static bool kernel_can_set_mm_map(void)
{
	unsigned int size = 0;

	return prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0) == 0 &&
	       size == sizeof(struct prctl_mm_map);
}

/* PR_SET_MM_MAP sets every field: the current ones, from /proc/self/stat
 * (fields 26-28 and 45-51, proc(5)). They are fixed at exec; only brk moves,
 * and is read when the guard is applied. */
static int read_mm_fields(struct prctl_mm_map *map, husk_error **err)
{
	cleanup_free char *text = NULL;
	unsigned long long v[52] = {0};
	char *p, *save = NULL;
	int field = 3;

	if (read_file_at(AT_FDCWD, "/proc/self/stat", &text, NULL, err) < 0)
		return -1;
	p = strrchr(text, ')'); /* the command name may hold spaces */
	for (p = p ? strtok_r(p + 1, " ", &save) : NULL; p && field < 52;
	     p = strtok_r(NULL, " ", &save))
		v[field++] = strtoull(p, NULL, 10);
	if (field < 52)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "/proc/self/stat has %d fields, not 51 or more", field - 1);
	*map = (struct prctl_mm_map){.start_code = v[26],
				     .end_code = v[27],
				     .start_stack = v[28],
				     .start_data = v[45],
				     .end_data = v[46],
				     .start_brk = v[47],
				     .arg_start = v[48],
				     .arg_end = v[49],
				     .env_start = v[50],
				     .env_end = v[51],
				     .exe_fd = (uint32_t)-1};
	return 0;
}

static int parse_prot(const char *perms)
{
	return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
	       (perms[2] == 'x' ? PROT_EXEC : 0);
}

static int read_exe_ranges(struct husk_exe_guard *g, const struct stat *exe, husk_error **err)
{
	cleanup_free char *text = NULL;
	char *save = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/maps", &text, NULL, err) < 0)
		return -1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned long start, end, ino;
		unsigned long long offset;
		unsigned int maj, min;
		char perms[5];

		if (sscanf(l, "%lx-%lx %4s %llx %x:%x %lu", &start, &end, perms, &offset, &maj,
			   &min, &ino) != 7 ||
		    ino != exe->st_ino || makedev(maj, min) != exe->st_dev)
			continue;
		if (g->n == MAX_RANGES)
			return husk_error_fail(
			    err, HUSK_ERR_UNSUPPORTED,
			    "the runtime binary is mapped in more than %d pieces", MAX_RANGES);
		g->r[g->n++] = (struct exe_range){.start = start,
						  .end = end,
						  .offset = offset,
						  .prot = parse_prot(perms),
						  .written = perms[1] == 'w'};
	}
	if (g->n == 0)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "/proc/self/maps shows no mapping of the runtime binary");
	return 0;
}

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP	   (1ULL << 62)
#define PM_FILE	   (1ULL << 61)

static bool page_was_written(uint64_t entry)
{
	return (entry & PM_SWAP) || ((entry & PM_PRESENT) && !(entry & PM_FILE));
}

/* Appends x's page run [start, end) as a range of its own, or makes it
 * part of the previous one (*last) when that is alike and adjacent. */
static bool add_run(struct husk_exe_guard *g, struct exe_range **last, const struct exe_range *x,
		    uintptr_t start, uintptr_t end, bool written)
{
	if (*last && (*last)->written == written && (*last)->end == start) {
		(*last)->end = end;
		return true;
	}
	if (g->n == MAX_RANGES)
		return false;
	*last = &g->r[g->n++];
	**last = (struct exe_range){.start = start,
				    .end = end,
				    .offset = x->offset + (start - x->start),
				    .prot = x->prot,
				    .written = written};
	return true;
}

/*
 * A read-only range may still hold pages written before it was made
 * read-only (RELRO, text relocations): /proc/self/pagemap tells a private
 * anonymous copy (present or swapped, not a file page) from the file's own
 * page. The range is split into runs of written and unwritten pages, so
 * that only the written ones are copied: RELRO holds libcrypto's tables,
 * 90 pages of which the loader wrote a few, and a copy of all of them cost
 * the container's init that many page faults. Unreadable, or with no room
 * for the runs: the whole range counts as written.
 */
static void split_by_writes(struct husk_exe_guard *g, size_t i, int pagemap)
{
	const struct exe_range x = g->r[i];
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n_before = g->n;
	struct exe_range *last = NULL;
	uint64_t e[256];

	/* x's slot takes the last range (done already: the caller goes from
	 * the end), and x's runs go at the end */
	g->r[i] = g->r[--g->n];
	for (uintptr_t at = x.start; at < x.end;) {
		size_t n = (x.end - at) / page;
		ssize_t got;

		n = n < ARRAY_SIZE(e) ? n : ARRAY_SIZE(e);
		got = pagemap < 0
			  ? -1
			  : pread(pagemap, e, n * sizeof(e[0]), (off_t)(at / page * sizeof(e[0])));
		if (got != (ssize_t)(n * sizeof(e[0])))
			goto whole;
		for (size_t k = 0; k < n; k++, at += page)
			if (!add_run(g, &last, &x, at, at + page, page_was_written(e[k])))
				goto whole;
	}
	return;
whole:
	g->n = n_before - 1;
	g->r[g->n++] = (struct exe_range){
	    .start = x.start, .end = x.end, .offset = x.offset, .prot = x.prot, .written = true};
}

static void mark_written_ranges(struct husk_exe_guard *g)
{
	cleanup_close int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t n = g->n;

	/* from the end: split_by_writes moves the last range into the slot it
	 * splits, and appends the runs after it */
	for (size_t i = n; i-- > 0;)
		if (!g->r[i].written)
			split_by_writes(g, i, pagemap);
}

/* Where the kernel refuses an executable memfd (vm.memfd_noexec = 2), the
 * read-only bind mount of the binary serves as exe instead, if there is one. */
static int create_empty_exe(int source_fd, husk_error **err)
{
	cleanup_close int fd =
	    memfd_create("husk-empty-exe", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (fd < 0 && errno == EINVAL) /* before Linux 6.3, no MFD_EXEC: executable anyway */
		fd = memfd_create("husk-empty-exe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 && source_fd >= 0)
		return fcntl(source_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0 && errno == EACCES)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "no executable memfd here (vm.memfd_noexec)");
	if (fd < 0)
		return husk_error_set(err, errno, "memfd_create");
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
		return husk_error_set(err, errno, "seal the empty exe memfd");
	return steal_fd(&fd);
}

/* The read-only clone, opened for mmap, and checked to be the same file. */
static int open_source(const struct stat *exe)
{
	cleanup_close int tree = open_tree_readonly(), fd = -1;
	char path[64];
	struct stat st;

	if (tree < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", tree);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != exe->st_ino || st.st_dev != exe->st_dev)
		return -1;
	return steal_fd(&fd);
}

static uint64_t mount_id(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

/* What open_other_path needs: where the binary is, and what it is. */
static void remember_path(struct husk_exe_guard *g, int exe)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0 || stat("/", &g->root) < 0)
		return;
	buf[n] = '\0';
	g->mnt_id = mount_id(exe);
	g->path = g->mnt_id ? strdup(buf) : NULL;
}

static int prepare_needed(struct husk_exe_guard *g, int exe, bool exec, husk_error **err)
{
	if (!kernel_can_set_mm_map())
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "this kernel cannot change /proc/self/exe (PR_SET_MM_MAP)");
	if (read_exe_ranges(g, &g->exe, err) < 0 || read_mm_fields(&g->map, err) < 0)
		return -1;
	mark_written_ranges(g);
	remember_path(g, exe);
	if (exec)
		g->source_fd = open_source(&g->exe);
	g->exe_fd = create_empty_exe(g->source_fd, err);
	return g->exe_fd < 0 ? -1 : 0;
}

int husk_exe_guard_prepare(bool exec, struct husk_exe_guard **ret, husk_error **err)
{
	cleanup_exe_guard struct husk_exe_guard *g = calloc(1, sizeof(*g));
	cleanup_close int exe = -1;

	if (g == NULL)
		return husk_error_set(err, ENOMEM, "CVE-2019-5736 guard");
	g->source_fd = g->exe_fd = -1;
	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0 || fstat(exe, &g->exe) < 0)
		return husk_error_set(err, errno, "CVE-2019-5736 guard: open /proc/self/exe");
	g->needed = !fd_is_unwritable(exe);
	if (g->needed && prepare_needed(g, exe, exec, err) < 0)
		return husk_error_wrap(err, "CVE-2019-5736 guard");
	*ret = steal_pointer(&g);
	return 0;
}

/* The copy goes word by word through volatile pointers: no memcpy call, so
 * no sanitizer looks at the redzones between the globals it copies (nor is
 * process_vm_readv needed, which container seccomp profiles often refuse). */
__attribute__((no_sanitize_address)) static void
copy_words(volatile uint64_t *to, const volatile uint64_t *from, size_t len)
{
	for (size_t i = 0; i < len / sizeof(*to); i++)
		to[i] = from[i];
}

/* Between the copy and the mremap nothing may write to the range (its data
 * segment holds the libc's state): only system calls run, and signals are
 * blocked. Chunks bound the resident size: the copy and the original pages
 * are both resident one chunk at a time. */
static int copy_range(const struct exe_range *x, husk_error **err)
{
	const size_t chunk = 256 * 1024;

	for (uintptr_t at = x->start; at < x->end; at += chunk) {
		size_t len = x->end - at < chunk ? x->end - at : chunk;
		void *tmp = mmap(NULL, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		int e;

		if (tmp == MAP_FAILED)
			return husk_error_set(err, errno, "copy the runtime's pages");
		if (x->prot & PROT_READ)
			copy_words(tmp, (const void *)at, len);
		if (mprotect(tmp, len, x->prot) == 0 &&
		    mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)at) != MAP_FAILED)
			continue;
		e = errno;
		munmap(tmp, len);
		return husk_error_set(err, e, "copy the runtime's pages at %#" PRIxPTR, at);
	}
	return 0;
}

/* MAP_FIXED replaces the old mapping atomically, code that runs included:
 * the new one holds the very same page cache pages. */
static int map_range_again(int fd, const struct exe_range *x, husk_error **err)
{
	if (mmap((void *)x->start, x->end - x->start, x->prot, MAP_PRIVATE | MAP_FIXED, fd,
		 (off_t)x->offset) == MAP_FAILED)
		return husk_error_set(err, errno, "map the runtime again at %#" PRIxPTR, x->start);
	return 0;
}

/* The container's init reaches the binary by another path without a
 * read-only clone (which costs a mount and its teardown, and which an
 * unprivileged runtime may not make): before its pivot_root, in the mount
 * namespace it was cloned into, the binary's path crosses copies of the
 * runtime's mounts. Not once the root has changed (an exec'd process is in
 * the container's root: its files are the container's), nor through the very
 * mount the binary was run from (no mount namespace of its own). */
static int open_other_path(const struct husk_exe_guard *g)
{
	cleanup_close int fd = -1;
	struct stat st;

	if (g->path == NULL || stat("/", &st) < 0 || st.st_dev != g->root.st_dev ||
	    st.st_ino != g->root.st_ino)
		return -1;
	fd = open(g->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != g->exe.st_dev ||
	    st.st_ino != g->exe.st_ino || mount_id(fd) == 0 || mount_id(fd) == g->mnt_id)
		return -1;
	return steal_fd(&fd);
}

static int replace_mappings(const struct husk_exe_guard *g, husk_error **err)
{
	cleanup_close int other = g->source_fd < 0 ? open_other_path(g) : -1;
	int source = g->source_fd >= 0 ? g->source_fd : other;

	for (size_t i = 0; i < g->n; i++) {
		const struct exe_range *x = &g->r[i];
		int r =
		    x->written || source < 0 ? copy_range(x, err) : map_range_again(source, x, err);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int replace_exe(const struct husk_exe_guard *g, husk_error **err)
{
	struct prctl_mm_map map = g->map;

	map.brk = (uint64_t)syscall(SYS_brk, 0);
	map.exe_fd = (uint32_t)g->exe_fd;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0) < 0)
		return husk_error_set(err, errno, "point /proc/self/exe at an empty file");
	return 0;
}

int husk_exe_guard_apply(const struct husk_exe_guard *g, husk_error **err)
{
	sigset_t all, old;
	int r;

	if (g == NULL)
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "CVE-2019-5736 guard: not prepared (husk_exe_guard_prepare)");
	if (!g->needed)
		return 0;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	r = replace_mappings(g, err);
	if (r == 0)
		r = replace_exe(g, err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return husk_error_wrap(err, "CVE-2019-5736 guard");
	close(g->exe_fd);
	if (g->source_fd >= 0)
		close(g->source_fd);
	return 0;
}

int husk_exe_guard_setup(char **argv, bool exec, struct husk_exe_guard **ret, husk_error **err)
{
	husk_error *e = NULL;

	if (husk_exe_guard_prepare(exec, ret, &e) == 0)
		return 0;
	if (!husk_error_is(e, HUSK_ERR_UNSUPPORTED)) {
		if (err && *err == NULL)
			*err = e;
		else
			husk_error_free(&e);
		return -1;
	}
	husk_error_free(&e);
	/* Re-executes, or returns 0 when already running from such a copy,
	 * where prepare finds nothing to do. */
	if (husk_self_ensure_sealed(argv, err) < 0)
		return -1;
	return husk_exe_guard_prepare(exec, ret, err);
}
