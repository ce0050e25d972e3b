/* SPDX-License-Identifier: MIT */
/*
 * The CVE-2019-5736 guard (selfexe.h) on this very test program: prepared in
 * the test, applied in a child, which reports what its /proc/self/exe and its
 * mappings of the binary have become: the read-only pages mapped again from a
 * read-only clone (prepared for exec, as root), or from the copy of the
 * binary's mount in a mount namespace of the child's own (a container's
 * init), else every page copied (an exec by an unprivileged runtime, an init
 * without a mount namespace). Needs root (to become nobody too), else skips.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "selfexe.h"
#include "util.h"
#include "tap.h"

/* In the data segment: its value at apply time must survive the remapping. */
static int marker = 1;

struct report {
	int apply_rc;
	char err[256];
	char exe[256];
	long long exe_size;
	int exe_seals;
	int open_wronly_errno;
	int exec_errno;
	int marker_after_apply, marker_written;
	int binary_maps;	  /* mappings of the binary's inode left */
	int binary_maps_writable; /* of them, on a writable mount (map_files) */
	int binary_maps_unknown;  /* map_files not readable (no CAP_SYS_ADMIN) */
	long apply_us;
};

static long usec_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000L + (t1.tv_nsec - t0->tv_nsec) / 1000;
}

static void count_binary_maps(const struct stat *bin, struct report *r)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long start, end, ino;
		unsigned int maj, min;
		char path[96];
		struct statvfs sv;
		int fd;

		if (sscanf(line, "%lx-%lx %*s %*x %x:%x %lu", &start, &end, &maj, &min, &ino) !=
			5 ||
		    ino != bin->st_ino || makedev(maj, min) != bin->st_dev)
			continue;
		r->binary_maps++;
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", start, end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r->binary_maps_unknown++;
		else if (fstatvfs(fd, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
			r->binary_maps_writable++;
		if (fd >= 0)
			close(fd);
	}
	if (f)
		fclose(f);
}

static void probe_exe(struct report *r)
{
	char *argv[] = {"/proc/self/exe", "--must-not-run", NULL};
	ssize_t n = readlink("/proc/self/exe", r->exe, sizeof(r->exe) - 1);
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct stat st;

	r->exe[n > 0 ? n : 0] = '\0';
	r->exe_size = fd >= 0 && fstat(fd, &st) == 0 ? (long long)st.st_size : -1;
	r->exe_seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;
	if (fd >= 0)
		close(fd);
	fd = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
	r->open_wronly_errno = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	execv(argv[0], argv);
	r->exec_errno = errno;
}

/* One way the guard is prepared and applied. */
struct guard_case {
	const char *how;
	bool nobody;	   /* prepared and applied as nobody (an unprivileged runtime) */
	bool for_exec;	   /* prepared with exec: the read-only clone */
	int unshare_flags; /* what the child makes before applying */
	enum { COPIED, REMAPPED, REMAPPED_READONLY } pages;
};

static const struct guard_case cases[] = {
    {"root, for exec", false, true, 0, REMAPPED_READONLY},
    {"root, own mount namespace (an init)", false, false, CLONE_NEWNS, REMAPPED},
    {"root, no other mount (init without a mount namespace)", false, false, 0, COPIED},
    {"nobody, own user namespace (an exec)", true, true, CLONE_NEWUSER, COPIED},
    {"nobody, own user and mount namespaces (an init)", true, false, CLONE_NEWUSER | CLONE_NEWNS,
     REMAPPED},
};

/* The child: applies g, then fills *r. */
static void child(const struct husk_exe_guard *g, const struct stat *bin,
		  const struct guard_case *c, struct report *r)
{
	husk_error *err = NULL;
	struct timespec t0;

	if (c->unshare_flags && unshare(c->unshare_flags) < 0) {
		snprintf(r->err, sizeof(r->err), "unshare: %s", strerror(errno));
		r->apply_rc = -1;
		return;
	}
	marker = 42;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r->apply_rc = husk_exe_guard_apply(g, &err);
	r->apply_us = usec_since(&t0);
	if (r->apply_rc < 0) {
		snprintf(r->err, sizeof(r->err), "%s", err ? err->msg : "?");
		husk_error_free(&err);
		return;
	}
	r->marker_after_apply = marker;
	marker = 43;
	r->marker_written = marker;
	count_binary_maps(bin, r);
	probe_exe(r);
}

/* Prepares and applies the guard in a child process as c says; returns its
 * report. */
static bool run_guarded(const struct guard_case *c, struct report *r, long *prepare_us)
{
	int fds[2];
	pid_t pid;
	bool ok;

	memset(r, 0, sizeof(*r));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		cleanup_exe_guard struct husk_exe_guard *g = NULL;
		husk_error *err = NULL;
		struct timespec t0;
		struct stat bin;
		long us;

		close(fds[0]);
		/* dumpable again after the uid change, as a runtime run by
		 * nobody would be: else its /proc/self files are root's */
		if (stat("/proc/self/exe", &bin) < 0 ||
		    (c->nobody &&
		     (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0 ||
		      prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)))
			_exit(2);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r->apply_rc = husk_exe_guard_prepare(c->for_exec, &g, &err);
		us = usec_since(&t0);
		if (write(fds[1], &us, sizeof(us)) != sizeof(us))
			_exit(2);
		if (r->apply_rc < 0)
			snprintf(r->err, sizeof(r->err), "prepare: %s", err ? err->msg : "?");
		else
			child(g, &bin, c, r);
		_exit(write(fds[1], r, sizeof(*r)) == sizeof(*r) ? 0 : 2);
	}
	close(fds[1]);
	ok = pid > 0 && read(fds[0], prepare_us, sizeof(*prepare_us)) == sizeof(*prepare_us) &&
	     read(fds[0], r, sizeof(*r)) == sizeof(*r);
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ok;
}

static void check_guarded(const struct guard_case *c)
{
	const char *how = c->how;
	struct report r;
	long prepare_us = 0;

	if (!CHECK(run_guarded(c, &r, &prepare_us), "%s: the child reports", how)) {
		tap_diag_str("error", r.err);
		return;
	}
	if (!CHECK_INT_EQ(r.apply_rc, 0, "%s: the guard applies", how)) {
		tap_diag_str("error", r.err);
		return;
	}
	tap_diag("%s: prepare %ld us, apply %ld us", how, prepare_us, r.apply_us);
	CHECK_STR_EQ(r.exe, "/memfd:husk-empty-exe (deleted)", "%s: /proc/self/exe is the memfd",
		     how);
	CHECK_INT_EQ(r.exe_size, 0, "%s: and it is empty", how);
	CHECK(r.exe_seals >= 0 && (r.exe_seals & F_SEAL_WRITE) && (r.exe_seals & F_SEAL_GROW),
	      "%s: and sealed against writing and growing", how);
	CHECK(r.open_wronly_errno != 0, "%s: /proc/self/exe cannot be opened for writing", how);
	CHECK_INT_EQ(r.exec_errno, ENOEXEC, "%s: exec of /proc/self/exe fails with ENOEXEC", how);
	CHECK_INT_EQ(r.marker_after_apply, 42, "%s: the data segment keeps its current values",
		     how);
	CHECK_INT_EQ(r.marker_written, 43, "%s: and stays writable", how);
	if (c->pages == COPIED) {
		CHECK_INT_EQ(r.binary_maps, 0, "%s: every page of the binary was copied", how);
		return;
	}
	CHECK(r.binary_maps > 0, "%s: read-only pages mapped again, not copied", how);
	if (c->pages == REMAPPED_READONLY) {
		CHECK_INT_EQ(r.binary_maps_unknown, 0, "%s: map_files readable", how);
		CHECK_INT_EQ(r.binary_maps_writable, 0, "%s: and all on a read-only mount", how);
	}
}

int main(void)
{
	husk_error *err = NULL;

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (to run the guard as root and as nobody)\n");
		return 0;
	}
	CHECK(husk_exe_guard_apply(NULL, &err) < 0 && husk_error_is(err, HUSK_ERR_INVALID),
	      "an unprepared guard refuses");
	husk_error_free(&err);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_guarded(&cases[i]);
	return tap_done();
}
