/* SPDX-License-Identifier: MIT */
/*
 * sec-fdhunt: CVE-2016-9962 (a process entering the container through exec
 * can be reached by the container's processes before it execs), for
 * tests/integration/security.bats.
 *
 *   sec-fdhunt SECONDS MARKER [ptrace]
 *
 * Until the deadline or SIGTERM, opens /proc/PID/fd/N (N >= 3) of every other process
 * it sees. A file whose first bytes are MARKER, or a directory holding a
 * file named MARKER, can only have come from the host: each is reported as
 * "LEAK pid=P fd=N what". Prints "opened: K" (fds opened at all, markers or
 * not), "LEAK" lines and "leaks: L"; exits 1 when anything leaked.
 * With "ptrace", also PTRACE_SEIZEs (which does not stop the tracee) every
 * process named husk-runtime, reports "PTRACE pid=P ..." and lets go at
 * once: a tracer could run code in it before its seccomp filter is on.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 when the fd is, or holds, MARKER. */
static int is_host_fd(int fd, const char *marker, char *what, size_t size)
{
	struct stat st;
	char buf[256];
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		if (faccessat(fd, marker, F_OK, 0) == 0) {
			snprintf(what, size, "a host directory (holds %s)", marker);
			return 1;
		}
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (strncmp(buf, marker, strlen(marker)) == 0) {
		snprintf(what, size, "a host file (reads %s)", marker);
		return 1;
	}
	return 0;
}

/* What the process was at the time: comm, CapEff, Seccomp. */
static const char *describe(pid_t pid)
{
	static char out[256];
	char p[64], line[256], comm[32] = "?", cap[32] = "?", sc[8] = "?";
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "Name: %31s", comm);
		sscanf(line, "CapEff: %31s", cap);
		sscanf(line, "Seccomp: %7s", sc);
	}
	if (f)
		fclose(f);
	snprintf(out, sizeof(out), "comm=%s CapEff=%s Seccomp=%s", comm, cap, sc);
	return out;
}

static int is_runtime(pid_t pid)
{
	char p[64], comm[64] = "";
	int fd, n;

	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = (int)read(fd, comm, sizeof(comm) - 1);
	close(fd);
	return n > 0 && strncmp(comm, "husk-runtime", 12) == 0;
}

/* Seize, then stop and detach at once so that the tracee goes on unharmed. */
static int try_ptrace(pid_t pid)
{
	const char *what;

	if (!is_runtime(pid) || ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
		return 0;
	/* Read after the seize: still the runtime, so seized before its exec. */
	what = describe(pid);
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) == 0 && waitpid(pid, NULL, __WALL) == pid)
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	if (strstr(what, "comm=husk-runtime ") == NULL)
		return 0;
	printf("PTRACE pid=%d %s\n", pid, what);
	return 1;
}

int main(int argc, char **argv)
{
	double end;
	const char *marker;
	long opened = 0, leaks = 0;
	pid_t self = getpid();

	int trace = argc == 4 && strcmp(argv[3], "ptrace") == 0;
	long traced = 0;

	if (argc != 3 && !trace) {
		fprintf(stderr, "usage: sec-fdhunt SECONDS MARKER [ptrace]\n");
		return 2;
	}
	end = now() + atof(argv[1]);
	marker = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* pid 1 of the container: only signals with a handler reach it */
	signal(SIGTERM, on_term);
	while (!stop && now() < end && leaks < 20) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		if (d == NULL)
			return 2;
		while ((e = readdir(d)) != NULL) {
			pid_t pid = (pid_t)atoi(e->d_name);

			if (pid <= 1 || pid == self)
				continue;
			if (trace && traced < 20)
				traced += try_ptrace(pid);
			for (int n = 3; n < 10; n++) {
				char p[64], what[128];
				int fd;

				snprintf(p, sizeof(p), "/proc/%d/fd/%d", pid, n);
				fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
				if (fd < 0) {
					if (errno == ENOENT && n > 4)
						break;
					continue;
				}
				opened++;
				if (is_host_fd(fd, marker, what, sizeof(what))) {
					printf("LEAK pid=%d fd=%d %s; %s\n", pid, n, what,
					       describe(pid));
					leaks++;
				}
				close(fd);
			}
		}
		closedir(d);
	}
	printf("opened: %ld\nleaks: %ld\n", opened, leaks);
	if (trace)
		printf("ptraced: %ld\n", traced);
	return leaks || traced ? 1 : 0;
}
