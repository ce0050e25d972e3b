/* SPDX-License-Identifier: MIT */
/*
 * The core library driven as an engine drives it: one process holds 20
 * containers at once through handles, starts them, execs into each, waits
 * through pidfds, kills and deletes them. Afterwards the process must be as
 * it was: the same signal dispositions and mask, no subreaper flag, no
 * children, no fd left open. Then all of it again with a second thread
 * allocating memory the whole time. Needs root and busybox; prints TAP.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <husk/husk.h>

#include "tap.h"

#define N 20

struct snapshot {
	struct sigaction act[NSIG];
	sigset_t mask;
	int subreaper;
	char fds[4096];
};

static void snapshot_take(struct snapshot *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t used = 0;

	memset(s, 0, sizeof(*s));
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, NULL, &s->act[sig]);
	pthread_sigmask(SIG_BLOCK, NULL, &s->mask);
	prctl(PR_GET_CHILD_SUBREAPER, &s->subreaper, 0, 0, 0);
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		used += (size_t)snprintf(s->fds + used, sizeof(s->fds) - used, "%s ", e->d_name);
	}
	if (d)
		closedir(d);
}

static bool same_dispositions(const struct snapshot *a, const struct snapshot *b)
{
	for (int sig = 1; sig < NSIG; sig++) {
		if (a->act[sig].sa_handler != b->act[sig].sa_handler ||
		    a->act[sig].sa_flags != b->act[sig].sa_flags) {
			tap_diag("signal %d changed", sig);
			return false;
		}
	}
	return true;
}

static bool same_mask(const struct snapshot *a, const struct snapshot *b)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&a->mask, sig) != sigismember(&b->mask, sig))
			return false;
	return true;
}

static char dir[] = "/tmp/husk-api.XXXXXX";
static char rootfs[256], state[256];
static char *warnings[64];
static atomic_int n_warnings;

static void collect_warning(void *userdata, const char *msg)
{
	int i = atomic_fetch_add(&n_warnings, 1);

	(void)userdata;
	if (i < 64)
		warnings[i] = strdup(msg);
}

static void make_rootfs(void)
{
	static const char *const dirs[] = {"bin", "proc", "dev", "sys", "tmp", "etc"};
	static const char *const applets[] = {"sh", "sleep", "echo", "cat", "true", "test"};
	char path[512], cmd[1024];

	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	mkdir(rootfs, 0755);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rootfs, dirs[i]);
		mkdir(path, 0755);
	}
	snprintf(cmd, sizeof(cmd), "cp \"$(command -v busybox)\" %s/bin/busybox", rootfs);
	if (system(cmd) != 0)
		tap_diag("could not copy busybox");
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(path, sizeof(path), "%s/bin/%s", rootfs, applets[i]);
		if (symlink("busybox", path) < 0)
			tap_diag("symlink %s: %s", path, strerror(errno));
	}
}

/* A config.json built in memory, as an engine generates one. */
static json_t *config(const char *cmd, bool terminal)
{
	return json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s, s, s], s:[s], s:s, s:b},"
			 " s:{s:s, s:b}, s:s, s:[{s:s, s:s, s:s}],"
			 " s:{s:[{s:s}, {s:s}, {s:s}, {s:s}], s:[s], s:[s]}}",
			 "ociVersion", "1.0.2", "process", "terminal", terminal, "user", "uid", 0,
			 "gid", 0, "args", "sh", "-c", cmd, "env", "PATH=/bin", "cwd", "/",
			 "noNewPrivileges", 1, "root", "path", rootfs, "readonly", 1, "hostname",
			 "api", "mounts", "destination", "/proc", "type", "proc", "source", "proc",
			 "linux", "namespaces", "type", "pid", "type", "mount", "type", "ipc",
			 "type", "uts", "maskedPaths", "/proc/kcore", "readonlyPaths", "/proc/sys");
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %d", &ppid);
	fclose(f);
	return ppid;
}

static bool exits_within(int pidfd, int ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static bool read_until(int fd, const char *want, int ms)
{
	char buf[4096];
	size_t len = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (len < sizeof(buf) - 1 && poll(&p, 1, ms) == 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, want))
			return true;
	}
	return false;
}

static struct husk_runtime rt;

static void check_error_kinds(struct husk_handle *h0, const char *id0)
{
	cleanup_spec struct husk_spec *spec = NULL;
	json_t *cfg = config("true", false), *rel, *state_json = NULL;
	struct husk_create_opts o = {.id = id0};
	struct husk_handle *h = NULL;
	husk_error *err = NULL;

	if (husk_spec_from_json(cfg, NULL, &spec, &err) == 0)
		husk_container_create(&rt, spec, &o, &h, &err);
	CHECK(husk_error_is(err, HUSK_ERR_EXISTS), "create with a taken id: already exists (%s)",
	      err ? err->msg : "no error");
	husk_error_free(&err);
	husk_handle_free(h);

	husk_container_state(&rt, "no-such-container", &state_json, &err);
	CHECK(husk_error_is(err, HUSK_ERR_NOT_FOUND), "state of an unknown id: not found");
	husk_error_free(&err);
	json_decref(state_json);

	husk_container_start(&rt, id0, &err);
	CHECK(husk_error_is(err, HUSK_ERR_BUSY), "start by id of a running container: busy (%s)",
	      err ? err->msg : "no error");
	husk_error_free(&err);

	husk_handle_start(h0, &err);
	CHECK(husk_error_is(err, HUSK_ERR_BUSY), "a second start by handle: busy");
	husk_error_free(&err);

	husk_container_delete(&rt, id0, false, &err);
	CHECK(husk_error_is(err, HUSK_ERR_BUSY), "delete of a running container: busy (%s)",
	      err ? err->msg : "no error");
	husk_error_free(&err);

	{
		json_t *p =
		    json_pack("{s:[s], s:[s], s:s, s:{s:i, s:i}}", "args", "/no/such/program",
			      "env", "PATH=/bin", "cwd", "/", "user", "uid", 0, "gid", 0);
		struct husk_exec_opts xo = {0};
		husk_container_exec(&rt, id0, p, &xo, &h, &err);
		CHECK(husk_error_is(err, HUSK_ERR_NOT_FOUND),
		      "exec of a missing program: not found (%s)", err ? err->msg : "no error");
		husk_error_free(&err);
		json_decref(p);
	}

	rel = json_deep_copy(cfg);
	json_object_set_new(json_object_get(rel, "root"), "path", json_string("rootfs"));
	{
		struct husk_spec *s2 = NULL;
		husk_spec_from_json(rel, NULL, &s2, &err);
		CHECK(husk_error_is(err, HUSK_ERR_INVALID),
		      "a relative root.path in memory: invalid");
		husk_spec_free(s2);
	}
	husk_error_free(&err);
	json_decref(rel);
	json_decref(cfg);
}

/* Without a handle (a runtime's create and start by id): create returns at
 * once, and the init is still our child, to reap by the pid file's pid. */
static void without_handle(const char *tag)
{
	json_t *cfg = config("exit 4", false);
	struct husk_spec *spec = NULL;
	husk_error *err = NULL;
	char id[64], pid_file[512];
	struct husk_create_opts o = {.id = id, .pid_file = pid_file};
	int status = -1, pid = 0;
	FILE *f;

	snprintf(id, sizeof(id), "api-%s-nohandle", tag);
	snprintf(pid_file, sizeof(pid_file), "%s/%s.pid", dir, id);
	CHECK(husk_spec_from_json(cfg, NULL, &spec, &err) == 0 &&
		  husk_container_create(&rt, spec, &o, NULL, &err) == 0,
	      "%s: create without a handle returns (%s)", tag, err ? err->msg : "ok");
	husk_error_free(&err);
	CHECK(husk_container_start(&rt, id, &err) == 0, "%s: start by id (%s)", tag,
	      err ? err->msg : "ok");
	husk_error_free(&err);
	f = fopen(pid_file, "re");
	if (f && fscanf(f, "%d", &pid) != 1)
		pid = 0;
	if (f)
		fclose(f);
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 4,
	      "%s: its init is our child, reaped by pid: exit 4", tag);
	CHECK(husk_container_delete(&rt, id, false, &err) == 0, "%s: deleted (%s)", tag,
	      err ? err->msg : "ok");
	husk_error_free(&err);
	husk_spec_free(spec);
	json_decref(cfg);
}

static void run_containers(const char *tag)
{
	struct husk_handle *h[N] = {0};
	char ids[N][64];
	husk_error *err = NULL;
	int created = 0, started = 0, execs = 0, exits = 0, deleted = 0, ours = 0, status;

	for (int i = 0; i < N; i++) {
		bool tty = i == 0;
		json_t *cfg = config(tty ? "echo tty-ok; exec sleep 1000" : "exec sleep 1000", tty);
		struct husk_spec *spec = NULL;
		struct husk_create_opts o = {.id = ids[i]};

		snprintf(ids[i], sizeof(ids[i]), "api-%s-%d", tag, i);
		/* A namespace to join takes the slow path (an intermediate
		 * process): the init must still be our child. */
		if (i == 2)
			json_array_append_new(
			    json_object_get(json_object_get(cfg, "linux"), "namespaces"),
			    json_pack("{s:s, s:s}", "type", "network", "path",
				      "/proc/self/ns/net"));
		if (husk_spec_from_json(cfg, NULL, &spec, &err) == 0 &&
		    husk_container_create(&rt, spec, &o, &h[i], &err) == 0)
			created++;
		else
			tap_diag("create %s: %s", ids[i], err ? err->msg : "?");
		husk_error_free(&err);
		husk_spec_free(spec);
		json_decref(cfg);
		if (h[i] && parent_of(husk_handle_pid(h[i])) == getpid())
			ours++;
	}
	CHECK_INT_EQ(created, N, "%s: %d containers created and held at once", tag, N);
	CHECK_INT_EQ(ours, N, "%s: each init is this process's own child (one by an intermediate)",
		     tag);
	CHECK(h[0] && husk_handle_pty(h[0]) >= 0, "%s: the terminal's pty is in the handle", tag);
	CHECK(h[1] && husk_handle_pty(h[1]) < 0, "%s: no pty without a terminal", tag);

	for (int i = 0; i < N; i++) {
		if (h[i] && husk_handle_start(h[i], &err) == 0)
			started++;
		else
			tap_diag("start %s: %s", ids[i], err ? err->msg : "no handle");
		husk_error_free(&err);
	}
	CHECK_INT_EQ(started, N, "%s: all started", tag);
	CHECK(h[0] && read_until(husk_handle_pty(h[0]), "tty-ok", 10000),
	      "%s: the process's output comes through the pty", tag);

	for (int i = 0; i < N; i++) {
		json_t *p = json_pack("{s:[s, s, s], s:[s], s:s, s:{s:i, s:i}}", "args", "sh", "-c",
				      "test -d /proc/1 && exit 7", "env", "PATH=/bin", "cwd", "/",
				      "user", "uid", 0, "gid", 0);
		struct husk_exec_opts xo = {0};
		struct husk_handle *x = NULL;

		if (husk_container_exec(&rt, ids[i], p, &xo, &x, &err) == 0 &&
		    parent_of(husk_handle_pid(x)) == getpid() &&
		    exits_within(husk_handle_pidfd(x), 10000) &&
		    husk_handle_wait(x, &status, &err) == 0 && status == 7)
			execs++;
		else
			tap_diag("exec in %s: %s", ids[i],
				 err ? err->msg : "wrong status or parent");
		husk_error_free(&err);
		husk_handle_free(x);
		json_decref(p);
	}
	CHECK_INT_EQ(execs, N, "%s: an exec in each, our child, waited through its pidfd", tag);

	if (h[1])
		check_error_kinds(h[1], ids[1]);

	for (int i = 0; i < N; i++)
		if (h[i] && husk_handle_kill(h[i], SIGKILL, &err) < 0) {
			tap_diag("kill %s: %s", ids[i], err->msg);
			husk_error_free(&err);
		}
	for (int i = 0; i < N; i++) {
		if (h[i] && exits_within(husk_handle_pidfd(h[i]), 10000) &&
		    husk_handle_wait(h[i], &status, &err) == 0 && status == 128 + SIGKILL)
			exits++;
		husk_error_free(&err);
	}
	CHECK_INT_EQ(exits, N, "%s: every init's pidfd reports its exit, status 137", tag);
	if (h[2]) {
		husk_handle_kill(h[2], SIGTERM, &err);
		CHECK(husk_error_is(err, HUSK_ERR_BUSY), "%s: kill after wait: busy", tag);
		husk_error_free(&err);
	}
	for (int i = 0; i < N; i++) {
		json_t *st = NULL;
		if (husk_container_delete(&rt, ids[i], false, &err) == 0 &&
		    husk_container_state(&rt, ids[i], &st, NULL) < 0)
			deleted++;
		else
			tap_diag("delete %s: %s", ids[i], err ? err->msg : "still there");
		husk_error_free(&err);
		json_decref(st);
		husk_handle_free(h[i]);
	}
	CHECK_INT_EQ(deleted, N, "%s: all deleted", tag);
}

static atomic_bool stop_busy;

static void *busy(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&stop_busy)) {
		json_t *o = json_pack("{s:i, s:s}", "n", (int)n, "s", "allocating");
		char *s = json_dumps(o, 0);
		void *p = malloc(1 + (n * 7919) % 65536);
		free(p);
		free(s);
		json_decref(o);
		n++;
	}
	return (void *)n;
}

static void round_trip(bool threaded)
{
	const char *tag = threaded ? "thread" : "plain";
	struct snapshot before, after;
	pthread_t thread;
	void *rounds = NULL;

	atomic_store(&stop_busy, false);
	snapshot_take(&before);
	if (threaded && pthread_create(&thread, NULL, busy, NULL) != 0) {
		CHECK(false, "start a second thread");
		return;
	}
	run_containers(tag);
	without_handle(tag);
	if (threaded) {
		atomic_store(&stop_busy, true);
		pthread_join(thread, &rounds);
		CHECK((unsigned long)rounds > 0,
		      "%s: the second thread kept allocating (%lu rounds)", tag,
		      (unsigned long)rounds);
	}
	snapshot_take(&after);
	CHECK(same_dispositions(&before, &after), "%s: signal dispositions unchanged", tag);
	CHECK(same_mask(&before, &after), "%s: signal mask unchanged", tag);
	CHECK_INT_EQ(after.subreaper, 0, "%s: not a subreaper", tag);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "%s: no child left", tag);
	CHECK_STR_EQ(after.fds, before.fds, "%s: no fd left open", tag);
}

int main(int argc, char **argv)
{
	cleanup_exe_guard struct husk_exe_guard *guard = NULL;
	husk_error *err = NULL;
	char cmd[512];

	husk_helper_main(argc, argv);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	make_rootfs();
	if (husk_exe_guard_setup(argv, true, &guard, &err) < 0) {
		printf("Bail out! CVE-2019-5736 guard: %s\n", err->msg);
		return 1;
	}
	rt = (struct husk_runtime){.root = state, .warn = collect_warning, .exe_guard = guard};
	round_trip(false);
	round_trip(true);
	for (int i = 0; i < atomic_load(&n_warnings) && i < 64; i++)
		tap_diag("warning: %s", warnings[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
