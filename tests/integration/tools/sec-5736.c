/* SPDX-License-Identifier: MIT */
/*
 * sec-5736: CVE-2019-5736 (overwriting the runtime binary through
 * /proc/PID/exe), for tests/integration/security.bats. Never writes a byte:
 * succeeding in opening the binary for writing is the finding.
 *
 *   sec-5736 probe PID      (host) how PID's executable is protected:
 *                           "exe: PATH", "fs: ro|rw", "sealed: yes|no",
 *                           "open-wronly: OK|ENAME"
 *   sec-5736 hunt SECONDS   (container) the attack: grab /proc/PID/exe of
 *                           every process that is not busybox or us, then
 *                           keep trying to reopen it for writing until the
 *                           deadline or SIGTERM; prints "grabbed PATH" per
 *                           grab as it goes, and "WRITABLE PATH" or "refused
 *                           PATH ENAME" per grab and "grabs: N" at the end.
 *                           Exit 0 unless something was writable. A file
 *                           sealed against writes (a memfd) opens for writing
 *                           but cannot be written: "refused PATH SEALED".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MAX_GRABS 64

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *ename(int e)
{
	return strerrorname_np(e) ? strerrorname_np(e) : "E?";
}

static int probe(const char *pid)
{
	char p[64], target[4096];
	struct statvfs sv;
	struct stat st;
	ssize_t n;
	int fd, seals, w;

	snprintf(p, sizeof(p), "/proc/%s/exe", pid);
	n = readlink(p, target, sizeof(target) - 1);
	printf("exe: %.*s\n", n > 0 ? (int)n : 0, n > 0 ? target : "");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("open: %s\n", ename(errno));
		return 1;
	}
	printf("fs: %s\n", fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY) ? "ro" : "rw");
	seals = fcntl(fd, F_GET_SEALS);
	printf("sealed: %s\n", seals >= 0 && (seals & F_SEAL_WRITE) ? "yes" : "no");
	printf("size: %lld\n", fstat(fd, &st) == 0 ? (long long)st.st_size : -1LL);
	w = open(p, O_WRONLY | O_CLOEXEC);
	printf("open-wronly: %s\n", w >= 0 ? "OK" : ename(errno));
	if (w >= 0)
		close(w);
	return 0;
}

struct grab {
	pid_t pid;
	int fd;
	char exe[256];
	int last_errno; /* 0: was writable; -2: opened for writing, but sealed */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool grabbed(const struct grab *g, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (g[i].pid == pid)
			return true;
	return false;
}

static void scan(struct grab *g, int *n, const char *self_exe)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && *n < MAX_GRABS) {
		pid_t pid = (pid_t)atoi(e->d_name);
		char p[64], target[256];
		ssize_t len;
		int fd;

		if (pid <= 0 || pid == getpid() || grabbed(g, *n, pid))
			continue;
		snprintf(p, sizeof(p), "/proc/%d/exe", pid);
		len = readlink(p, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "/bin/busybox") == 0 || strcmp(target, self_exe) == 0)
			continue;
		fd = open(p, O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue;
		g[*n] = (struct grab){.pid = pid, .fd = fd, .last_errno = -1};
		snprintf(g[*n].exe, sizeof(g[*n].exe), "%s", target);
		printf("grabbed %s (pid %d)\n", target, pid);
		(*n)++;
	}
	closedir(d);
}

static void try_write(struct grab *g, int n)
{
	for (int i = 0; i < n; i++) {
		char p[64];
		int w;

		if (g[i].last_errno == 0)
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", g[i].fd);
		w = open(p, O_WRONLY | O_CLOEXEC);
		if (w >= 0) {
			int seals = fcntl(w, F_GET_SEALS);
			g[i].last_errno = seals >= 0 && (seals & F_SEAL_WRITE) ? -2 : 0;
			close(w);
		} else {
			g[i].last_errno = errno;
		}
	}
}

static int hunt(double seconds)
{
	struct grab g[MAX_GRABS];
	char self_exe[256] = "";
	ssize_t len = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	double end = now() + seconds;
	int n = 0, writable = 0;

	if (len > 0)
		self_exe[len] = '\0';
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* pid 1 of the container: only signals with a handler reach it */
	signal(SIGTERM, on_term);
	while (!stop && now() < end) {
		scan(g, &n, self_exe);
		try_write(g, n);
	}
	for (int i = 0; i < n; i++) {
		if (g[i].last_errno == 0) {
			printf("WRITABLE %s\n", g[i].exe);
			writable++;
		} else if (g[i].last_errno == -2) {
			printf("refused %s SEALED\n", g[i].exe);
		} else {
			printf("refused %s %s\n", g[i].exe, ename(g[i].last_errno));
		}
	}
	printf("grabs: %d\n", n);
	return writable ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "probe") == 0)
		return probe(argv[2]);
	if (argc == 3 && strcmp(argv[1], "hunt") == 0)
		return hunt(atof(argv[2]));
	fprintf(stderr, "usage: sec-5736 probe PID | hunt SECONDS\n");
	return 2;
}
