/* SPDX-License-Identifier: MIT */
/*
 * husk top CONTAINER [ps OPTIONS]: the processes in the container's cgroup
 * (host pids), as Docker prints them. Without options, `ps -ef`'s columns
 * (UID PID PPID C STIME TTY TIME CMD) read from /proc; with options, the
 * host's ps(1) run with them and its rows kept for the container's pids, as
 * Docker does.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "table.h"
#include "util.h"

extern char **environ;

struct proc_info {
	pid_t pid, ppid;
	uid_t uid;
	unsigned long long ticks; /* user + system */
	unsigned long long start; /* clock ticks after boot */
	unsigned tty;
};

/* /proc/PID/stat after the command name, which may hold anything. */
static int read_stat(pid_t pid, struct proc_info *p)
{
	char path[64], buf[2048];
	cleanup_close int fd = -1;
	unsigned long long utime, stime;
	ssize_t n;
	char *end;
	int tty;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read_all(fd, buf, sizeof(buf) - 1)) <= 0)
		return -1;
	buf[n] = '\0';
	end = strrchr(buf, ')');
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads itreal start */
	if (end == NULL || sscanf(end + 2,
				  "%*c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
				  "%*d %*d %*d %*d %llu",
				  &p->ppid, &tty, &utime, &stime, &p->start) != 5)
		return -1;
	p->pid = pid;
	p->tty = (unsigned)tty;
	p->ticks = utime + stime;
	return 0;
}

static uid_t read_euid(pid_t pid)
{
	char path[64];
	cleanup_free char *text = NULL;
	const char *line;
	unsigned r, eff;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 ||
	    (line = strstr(text, "\nUid:")) == NULL || sscanf(line + 5, "%u %u", &r, &eff) != 2)
		return (uid_t)-1;
	return eff;
}

/* The command line, or "[comm]" for a kernel thread or a zombie. */
static char *read_cmd(pid_t pid)
{
	char path[64];
	char *text = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	if (read_file_at(AT_FDCWD, path, &text, &len, NULL) == 0 && len > 0) {
		for (size_t i = 0; i + 1 < len; i++)
			if (text[i] == '\0')
				text[i] = ' ';
		return text;
	}
	free(text);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	char *bracketed = NULL;
	if (asprintf(&bracketed, "[%s]", text) < 0)
		bracketed = NULL;
	free(text);
	return bracketed;
}

static void format_tty(unsigned tty_nr, char *buf, size_t len)
{
	unsigned maj = major(tty_nr), min = minor(tty_nr);

	if (tty_nr == 0)
		snprintf(buf, len, "?");
	else if (maj >= 136 && maj <= 143)
		snprintf(buf, len, "pts/%u", min + (maj - 136) * 256);
	else if (maj == 4 && min < 64)
		snprintf(buf, len, "tty%u", min);
	else if (maj == 4)
		snprintf(buf, len, "ttyS%u", min - 64);
	else
		snprintf(buf, len, "?");
}

static void format_user(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = uid == (uid_t)-1 ? NULL : getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

/* ps's STIME: the time today, the day this year, else the year. */
static void format_stime(time_t started, time_t now, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&started, &tm);
	strftime(buf, len,
		 now - started < 24 * 3600     ? "%H:%M"
		 : now - started < 365 * 86400 ? "%b%d"
					       : "%Y",
		 &tm);
}

/* "[DD-]HH:MM:SS" of CPU time. */
static void format_cputime(unsigned long long secs, char *buf, size_t len)
{
	unsigned long long days = secs / 86400;

	secs %= 86400;
	if (days > 0)
		snprintf(buf, len, "%llu-%02llu:%02llu:%02llu", days, secs / 3600, secs / 60 % 60,
			 secs % 60);
	else
		snprintf(buf, len, "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
}

static double uptime_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One `ps -ef` row; a process gone meanwhile is left out (returns 1). */
static int proc_row(struct table *t, pid_t pid)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct proc_info p;
	cleanup_free char *cmd = NULL;
	char user[64], spid[16], sppid[16], cpu[8], stime[16], tty[16], cputime[32];
	double up = uptime_seconds(), age;
	time_t now = time(NULL);

	if (read_stat(pid, &p) < 0 || (cmd = read_cmd(pid)) == NULL)
		return 1;
	age = up - (double)p.start / (double)hz;
	format_user(read_euid(pid), user, sizeof(user));
	snprintf(spid, sizeof(spid), "%d", p.pid);
	snprintf(sppid, sizeof(sppid), "%d", p.ppid);
	/* ps's C: the CPU used over its whole life, in percent, below 100 */
	unsigned c = age > 0 ? (unsigned)((double)p.ticks / (double)hz * 100.0 / age) : 0;
	snprintf(cpu, sizeof(cpu), "%u", c > 99 ? 99 : c);
	format_stime(now - (time_t)age, now, stime, sizeof(stime));
	format_tty(p.tty, tty, sizeof(tty));
	format_cputime(p.ticks / (unsigned long long)hz, cputime, sizeof(cputime));
	return table_add(t, (const char *[]){user, spid, sppid, cpu, stime, tty, cputime, cmd});
}

static int compare_pids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int top_from_proc(const pid_t *pids, size_t n, husk_error **err)
{
	struct table t = {.n_cols = 8, .min_width = 20};
	static const char *const titles[] = {"UID",   "PID", "PPID", "C",
					     "STIME", "TTY", "TIME", "CMD"};

	if (table_add(&t, (const char *const *)titles) < 0)
		return husk_error_set(err, ENOMEM, "top");
	for (size_t i = 0; i < n; i++)
		if (proc_row(&t, pids[i]) < 0) {
			table_clear(&t);
			return husk_error_set(err, ENOMEM, "top");
		}
	table_print(&t, stdout);
	table_clear(&t);
	return 0;
}

/* ps OPTIONS with its output in out_fd and errors in err_fd; its status. */
static int run_ps(char **options, int out_fd, int err_fd, int *ret_status, husk_error **err)
{
	cleanup_strv char **argv = NULL;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r;

	if (strv_append(&argv, strdup("ps")) < 0)
		return husk_error_set(err, ENOMEM, "top");
	for (size_t i = 0; options[i]; i++)
		if (strv_append(&argv, strdup(options[i])) < 0)
			return husk_error_set(err, ENOMEM, "top");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	r = posix_spawnp(&pid, "ps", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return husk_error_set(err, r, "top: run ps (ps options need the host's ps)");
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			return husk_error_set(err, errno, "top: wait for ps");
	return 0;
}

static char *read_memfd(int fd)
{
	struct stat st;
	char *text;
	ssize_t n;

	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
	    (text = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	n = read_all(fd, text, (size_t)st.st_size);
	if (n < 0) {
		free(text);
		return NULL;
	}
	text[n] = '\0';
	return text;
}

static bool has_pid(const pid_t *pids, size_t n, const char *field)
{
	int64_t v;

	if (parse_int64(field, 1, INT32_MAX, &v) < 0)
		return false;
	return bsearch(&(pid_t){(pid_t)v}, pids, n, sizeof(pid_t), compare_pids) != NULL;
}

/* ps's header, and each row whose PID column is one of pids. */
static int filter_ps_output(char *text, const pid_t *pids, size_t n, husk_error **err)
{
	char *save = NULL, *header = strtok_r(text, "\n", &save);
	cleanup_free char *copy = header ? strdup(header) : NULL;
	char *fsave = NULL;
	int col = -1, i = 0;

	for (char *f = copy ? strtok_r(copy, " \t", &fsave) : NULL; f && col < 0;
	     f = strtok_r(NULL, " \t", &fsave), i++)
		if (strcmp(f, "PID") == 0)
			col = i;
	if (col < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "top: ps's output has no PID column (add -o pid)");
	printf("%s\n", header);
	for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cleanup_free char *row = strdup(l);
		char *rsave = NULL, *f = row ? strtok_r(row, " \t", &rsave) : NULL;
		for (int k = 0; f && k < col; k++)
			f = strtok_r(NULL, " \t", &rsave);
		if (f && has_pid(pids, n, f))
			printf("%s\n", l);
	}
	return 0;
}

static int top_with_ps(char **options, const pid_t *pids, size_t n, husk_error **err)
{
	cleanup_close int out = memfd_create("ps-out", MFD_CLOEXEC);
	cleanup_close int errs = memfd_create("ps-err", MFD_CLOEXEC);
	cleanup_free char *text = NULL, *msg = NULL;
	int status = 0;

	if (out < 0 || errs < 0)
		return husk_error_set(err, errno, "memfd");
	if (run_ps(options, out, errs, &status, err) < 0)
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		msg = read_memfd(errs);
		if (msg)
			msg[strcspn(msg, "\n")] = '\0';
		return husk_error_fail(err, HUSK_ERR_INVALID, "top: ps failed: %s",
				       msg && *msg ? msg : "no message");
	}
	text = read_memfd(out);
	if (text == NULL)
		return husk_error_set(err, errno, "top: read ps's output");
	return filter_ps_output(text, pids, n, err);
}

int cmd_top(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	cleanup_free pid_t *pids = NULL;
	husk_error *err = NULL;
	size_t n = 0;
	int r;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2)
			engine_error(
			    "top: flag `%s` is unknown (ps options go after the container)",
			    argv[1]);
		else
			engine_error("top: a container is required");
		return EXIT_ENGINE;
	}
	if (ctr_lookup(e, argv[1], &c, &err) < 0)
		return engine_fail(err);
	if (ctr_status_now(c, NULL) != CTR_RUNNING) {
		engine_error("container %s is not running", c->name ? c->name : c->id);
		return EXIT_ENGINE;
	}
	if (husk_container_pids(&e->rt, c->id, &pids, &n, &err) < 0)
		return engine_fail(err);
	qsort(pids, n, sizeof(pid_t), compare_pids);
	r = argc > 2 ? top_with_ps(argv + 2, pids, n, &err) : top_from_proc(pids, n, &err);
	return r < 0 ? engine_fail(err) : 0;
}
