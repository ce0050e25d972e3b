/* SPDX-License-Identifier: MIT */
/* A user's own user and mount namespaces, held by a pause process. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork_report.h"
#include "fuse_daemon.h"
#include "record.h"
#include "remains.h"
#include "rootless.h"
#include "subid.h"
#include "util.h"

static bool needs_rootless(void)
{
	return geteuid() != 0 && !in_user_namespace();
}

static int set_default(const char *var, const char *fmt, const char *base, husk_error **err)
{
	cleanup_free char *v = NULL;

	if (getenv(var) && *getenv(var))
		return 0;
	if (asprintf(&v, fmt, base) < 0)
		return husk_error_set(err, ENOMEM, "%s", var);
	if (setenv(var, v, 1) < 0)
		return husk_error_set(err, errno, "setenv %s", var);
	return 0;
}

int rootless_default_roots(husk_error **err)
{
	const char *data = getenv("XDG_DATA_HOME"), *run = getenv("XDG_RUNTIME_DIR");
	const char *home = getenv("HOME");
	char uid[16];

	if (!needs_rootless())
		return 0;
	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid());
	if (data && data[0] == '/') {
		if (set_default("HUSK_STORAGE_ROOT", "%s/husk", data, err) < 0)
			return -1;
	} else if (home && home[0] == '/') {
		if (set_default("HUSK_STORAGE_ROOT", "%s/.local/share/husk", home, err) < 0)
			return -1;
	} else if (!getenv("HUSK_STORAGE_ROOT")) {
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "rootless: HOME is not set: set HUSK_STORAGE_ROOT");
	}
	if (run && run[0] == '/' && access(run, W_OK) == 0) {
		if (set_default("HUSK_RUN_ROOT", "%s/husk-engine", run, err) < 0)
			return -1;
	} else if (set_default("HUSK_RUN_ROOT", "/tmp/husk-engine-%s", uid, err) < 0) {
		return -1;
	}
	/* made here, as the user: a store that cannot be made fails before
	 * any namespace or pause process is */
	return mkdir_p(getenv("HUSK_STORAGE_ROOT"), 0700, err);
}

/* newuidmap PID 0 ID 1 1 START COUNT (or newgidmap). */
static int run_map_tool(const char *tool, pid_t pid, unsigned id, unsigned long start,
			unsigned long count, husk_error **err)
{
	char p[16], i[16], s[32], c[32];
	int status;
	pid_t child;

	snprintf(p, sizeof(p), "%d", (int)pid);
	snprintf(i, sizeof(i), "%u", id);
	snprintf(s, sizeof(s), "%lu", start);
	snprintf(c, sizeof(c), "%lu", count);
	child = fork();
	if (child < 0)
		return husk_error_set(err, errno, "fork");
	if (child == 0) {
		execlp(tool, tool, p, "0", i, "1", "1", s, c, (char *)NULL);
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0)
		return husk_error_set(err, errno, "wait for %s", tool);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_error_fail(err, HUSK_ERR_PERMISSION,
				       "rootless: %s failed (status %d): is `%s` installed, and "
				       "does /etc/sub%cid give this user a range?",
				       tool, WIFEXITED(status) ? WEXITSTATUS(status) : -1, tool,
				       tool[3] == 'u' ? 'u' : 'g');
	return 0;
}

/* With no /etc/subuid range: only our own uid and gid, as root. */
static int map_self(pid_t pid, husk_error **err)
{
	char path[64], map[64];
	cleanup_close int dirfd = -1;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open %s", path);
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)getuid());
	if (write_file_at(dirfd, "uid_map", map, strlen(map), err) < 0 ||
	    write_file_at(dirfd, "setgroups", "deny", 4, err) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)getgid());
	return write_file_at(dirfd, "gid_map", map, strlen(map), err);
}

static int map_ids(pid_t pid, husk_error **err)
{
	struct passwd *pw = getpwuid(getuid());
	const char *name = pw ? pw->pw_name : "";
	unsigned long us, uc, gs, gc;

	if (!subid_range("/etc/subuid", name, getuid(), &us, &uc) ||
	    !subid_range("/etc/subgid", name, getuid(), &gs, &gc))
		return map_self(pid, err);
	if (run_map_tool("newuidmap", pid, (unsigned)getuid(), us, uc, err) < 0)
		return -1;
	return run_map_tool("newgidmap", pid, (unsigned)getgid(), gs, gc, err);
}

/* Becomes the pause process (husk-monitor pause) in a session of its own,
 * holding the namespaces this process is in. */
static _Noreturn void exec_pause(const char *monitor_exe)
{
	int null;

	setsid();
	if (chdir("/") < 0)
		_exit(1);
	null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	execl(monitor_exe, monitor_exe, "pause", (char *)NULL);
	_exit(127);
}

/* The pause process: unshares, waits to be mapped, then holds the
 * namespaces. */
static void pause_child(int ready, int mapped, const char *monitor_exe)
{
	char c;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		_exit(1);
	if (write(ready, "u", 1) != 1 || read(mapped, &c, 1) != 1 || c != 'm')
		_exit(1);
	exec_pause(monitor_exe);
}

static int pause_create(const char *monitor_exe, pid_t *ret, husk_error **err)
{
	int ready[2], mapped[2];
	char c;
	pid_t pid;
	int r;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(mapped, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return husk_error_set(err, errno, "fork");
	if (pid == 0)
		pause_child(ready[1], mapped[0], monitor_exe);
	close(ready[1]);
	close(mapped[0]);
	r = read(ready[0], &c, 1) == 1
		? map_ids(pid, err)
		: husk_error_fail(err, HUSK_ERR_PERMISSION,
				  "rootless: cannot make a user namespace "
				  "(are unprivileged user namespaces allowed?)");
	if (r == 0 && write(mapped[1], "m", 1) != 1)
		r = husk_error_set(err, errno, "rootless: the pause process");
	close(ready[0]);
	close(mapped[1]);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	*ret = pid;
	return 0;
}

/* pause.pid: "PID START MNTNS", the pause process and the inode of the
 * mount namespace it holds (0 when not known). */
static bool pause_read(int dirfd, pid_t *ret_pid, unsigned long long *ret_start,
		       unsigned long long *ret_mntns)
{
	cleanup_free char *data = NULL;
	int pid;

	*ret_mntns = 0;
	if (read_file_at(dirfd, "pause.pid", &data, NULL, NULL) < 0 ||
	    sscanf(data, "%d %llu %llu", &pid, ret_start, ret_mntns) < 2)
		return false;
	*ret_pid = pid;
	return true;
}

static bool pause_alive(int dirfd, pid_t *ret)
{
	unsigned long long start, mntns;
	pid_t pid;

	if (!pause_read(dirfd, &pid, &start, &mntns) || !process_alive(pid, start))
		return false;
	*ret = pid;
	return true;
}

/* The inode of pid's namespace of kind ("mnt", "user"), 0 when it cannot
 * be told. */
static unsigned long long ns_of(pid_t pid, const char *kind)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, kind);
	return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static int pause_write(int dirfd, pid_t pid, husk_error **err)
{
	unsigned long long start;
	char record[96];

	if (proc_start_time(pid, &start) < 0)
		start = 0;
	snprintf(record, sizeof(record), "%d %llu %llu\n", (int)pid, start, ns_of(pid, "mnt"));
	return write_file_atomic_at(dirfd, "pause.pid", record, strlen(record), 0600, err);
}

/* setns into pid's user and mount namespaces (the user's own, whose
 * owner may join them); into its user namespace and a new mount namespace
 * when new_mount_ns. */
static int enter_namespaces(pid_t pid, bool new_mount_ns, husk_error **err)
{
	char path[64];
	cleanup_close int user = -1, mnt = -1;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	user = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	mnt = new_mount_ns ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (user < 0 || (mnt < 0 && !new_mount_ns))
		return husk_error_set(err, errno, "rootless: open the namespaces of process %d",
				      (int)pid);
	if (setns(user, CLONE_NEWUSER) < 0 ||
	    (new_mount_ns ? unshare(CLONE_NEWNS) : setns(mnt, CLONE_NEWNS)) < 0)
		return husk_error_set(err, errno, "rootless: join the user's namespaces");
	return 0;
}

static int join(pid_t pid, bool new_mount_ns, husk_error **err)
{
	char cwd[PATH_MAX];
	bool has_cwd = getcwd(cwd, sizeof(cwd)) != NULL;

	if (enter_namespaces(pid, new_mount_ns, err) < 0)
		return -1;
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return husk_error_set(err, errno, "rootless: become root in the user namespace");
	/* setns(CLONE_NEWNS) moved us to its root */
	if (has_cwd && chdir(cwd) < 0 && chdir("/") < 0)
		return husk_error_set(err, errno, "chdir");
	return 0;
}

/* Whether pid holds the namespaces of the pause process that was killed:
 * its mount namespace's (when recorded), or else any user namespace but
 * ours. */
static bool in_pause_namespaces(pid_t pid, unsigned long long pause_mntns)
{
	char path[64];
	struct stat mine, theirs;

	if (pause_mntns != 0)
		return ns_of(pid, "mnt") == pause_mntns;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	return stat("/proc/self/ns/user", &mine) == 0 && stat(path, &theirs) == 0 &&
	       (mine.st_dev != theirs.st_dev || mine.st_ino != theirs.st_ino);
}

/* The container's monitor, if it lives (state.json's MonitorPid and
 * MonitorStart). */
static bool monitor_alive(const char *container_dir, pid_t *ret)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *j = NULL;
	pid_t pid;

	if (asprintf(&path, "%s/state.json", container_dir) < 0)
		return false;
	j = json_load_file(path, 0, NULL);
	pid = (pid_t)json_integer_value(json_object_get(j, "MonitorPid"));
	if (!process_alive(
		pid, (unsigned long long)json_integer_value(json_object_get(j, "MonitorStart"))))
		return false;
	*ret = pid;
	return true;
}

/* A process still in the namespaces of a pause process that was killed: a
 * container's monitor, or the fuse-overlayfs daemon of a container's
 * rootfs, by their recorded pids and start times. One in another mount
 * namespace (a `cp`'s own, an older pause process's) will not do. */
static bool namespace_survivor(unsigned long long pause_mntns, pid_t *ret)
{
	const char *root = getenv("HUSK_STORAGE_ROOT");
	cleanup_free char *containers = NULL;
	cleanup_strv char **ids = NULL;

	if (root == NULL || asprintf(&containers, "%s/containers", root) < 0 ||
	    ids_in_dir(containers, &ids, NULL) < 0)
		return false;
	for (size_t i = 0; ids[i]; i++) {
		cleanup_free char *dir = NULL;
		if (asprintf(&dir, "%s/%s", containers, ids[i]) < 0)
			return false;
		if ((monitor_alive(dir, ret) || fuse_daemon_alive(dir, ret)) &&
		    in_pause_namespaces(*ret, pause_mntns))
			return true;
	}
	return false;
}

/* A new pause process in the survivor's namespaces: its containers' mounts
 * and processes are the user's again, as if the old one had not died. */
static int pause_adopt(const char *monitor_exe, pid_t survivor, pid_t *ret, husk_error **err)
{
	cleanup_close int rd = -1;
	pid_t pid = fork_with_report_pipe(&rd, err);
	char c;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (enter_namespaces(survivor, false, NULL) < 0 || write(rd, "+", 1) != 1)
			_exit(1);
		exec_pause(monitor_exe);
	}
	if (read(rd, &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "rootless: cannot join the namespaces of process %d",
				       (int)survivor);
	}
	*ret = pid;
	return 0;
}

/* The pause process made again: in the namespaces of the old one when
 * something of them survives it, else with new ones. */
static int pause_remake(const char *monitor_exe, unsigned long long pause_mntns, pid_t *ret,
			husk_error **err)
{
	pid_t survivor;

	if (namespace_survivor(pause_mntns, &survivor) &&
	    pause_adopt(monitor_exe, survivor, ret, NULL) == 0)
		return 0;
	return pause_create(monitor_exe, ret, err);
}

static int rootless_enter_pause(const char *monitor_exe, husk_error **err)
{
	const char *run_root = getenv("HUSK_RUN_ROOT");
	cleanup_close int dirfd = -1, lock = -1;
	unsigned long long start, mntns;
	pid_t pid = -1;

	if (run_root == NULL || mkdir_p(run_root, 0700, err) < 0)
		return run_root ? -1 : husk_error_fail(err, HUSK_ERR_INVALID, "HUSK_RUN_ROOT");
	dirfd = open(run_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", run_root);
	lock = openat(dirfd, "pause.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return husk_error_set(err, errno, "lock `%s/pause.lock`", run_root);
	if (!pause_alive(dirfd, &pid)) {
		if (!pause_read(dirfd, &pid, &start, &mntns))
			mntns = 0;
		if (pause_remake(monitor_exe, mntns, &pid, err) < 0 ||
		    pause_write(dirfd, pid, err) < 0)
			return -1;
	}
	return join(pid, false, err);
}

int rootless_enter(const char *monitor_exe, husk_error **err)
{
	return needs_rootless() ? rootless_enter_pause(monitor_exe, err) : 0;
}

bool rootless_enter_deferred(void)
{
	return needs_rootless();
}

/* What of a container's namespaces lives: its monitor or fuse-overlayfs
 * daemon, in the user and mount namespaces it was started in; else its
 * init alone (a killed monitor), in that user namespace but a mount
 * namespace of its own. */
enum holder_kind { HOLDER_NONE, HOLDER_MOUNTS, HOLDER_INIT };

static enum holder_kind container_holder(const struct ctr *c, pid_t *ret)
{
	if (process_alive(c->st.monitor_pid, c->st.monitor_start)) {
		*ret = c->st.monitor_pid;
		return HOLDER_MOUNTS;
	}
	if (fuse_daemon_alive(c->dir, ret))
		return HOLDER_MOUNTS;
	if (process_alive(c->st.pid, c->st.pid_start)) {
		*ret = c->st.pid;
		return HOLDER_INIT;
	}
	return HOLDER_NONE;
}

/* Whether holder is of the pause process's generation: in the mount
 * namespace pause.pid records (alive or to be taken back through it), or
 * in the user namespace of a live pause process. */
static bool of_pause_generation(enum holder_kind kind, pid_t holder)
{
	const char *run_root = getenv("HUSK_RUN_ROOT");
	cleanup_close int dirfd = -1;
	unsigned long long start, mntns;
	pid_t pause;

	dirfd = run_root ? open(run_root, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dirfd < 0 || !pause_read(dirfd, &pause, &start, &mntns))
		return false;
	if (kind == HOLDER_MOUNTS)
		return mntns != 0 && ns_of(holder, "mnt") == mntns;
	return process_alive(pause, start) && ns_of(pause, "user") == ns_of(holder, "user");
}

int rootless_enter_for(const char *monitor_exe, const struct ctr *c, husk_error **err)
{
	enum holder_kind kind;
	pid_t holder;

	if (!needs_rootless())
		return 0;
	kind = container_holder(c, &holder);
	if (kind == HOLDER_NONE || of_pause_generation(kind, holder))
		return rootless_enter_pause(monitor_exe, err);
	/* an older generation, whose pause process was killed and made again
	 * in new namespaces: the command joins the container's own (with
	 * its init alone, a new mount namespace: the one its overlay was
	 * mounted in went with its monitor) */
	return join(holder, kind == HOLDER_INIT, err);
}
