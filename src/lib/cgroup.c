/* SPDX-License-Identifier: MIT */
/* Cgroup directories: layout detection, creation, membership, removal. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define CGROUP_ROOT "/sys/fs/cgroup"

int husk_cgroup_layout(void)
{
	struct statfs fs;

	if (statfs(CGROUP_ROOT, &fs) < 0)
		return HUSK_CGROUP_NONE;
	if (fs.f_type == CGROUP2_SUPER_MAGIC)
		return HUSK_CGROUP_UNIFIED;
	if (fs.f_type == TMPFS_MAGIC)
		return HUSK_CGROUP_V1;
	return HUSK_CGROUP_NONE;
}

/* A v1 host that also mounts cgroup2 at /sys/fs/cgroup/unified (systemd's
 * "hybrid" layout): the container gets a cgroup there too, for the v2 core
 * files (cgroup.kill, cgroup.freeze, cgroup.events) and whatever controllers
 * that hierarchy carries. */
static bool hybrid_unified(void)
{
	struct statfs fs;

	return statfs(CGROUP_ROOT "/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

static bool is_v2_dir(const struct husk_cgroup *cg, const struct husk_cgroup_dir *d)
{
	return cg->version == 2 || strcmp(d->name, "unified") == 0;
}

const char *husk_cgroup_v2_dir(const struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (is_v2_dir(cg, &cg->dirs[i]))
			return cg->dirs[i].dir;
	return NULL;
}

void husk_cgroup_clear(struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->dirs[i].name);
		free(cg->dirs[i].dir);
	}
	free(cg->dirs);
	memset(cg, 0, sizeof(*cg));
}

static int add_dir(struct husk_cgroup *cg, const char *name, char *dir)
{
	struct husk_cgroup_dir *n = realloc(cg->dirs, (cg->n + 1) * sizeof(*n));

	if (n == NULL)
		return -1;
	cg->dirs = n;
	cg->dirs[cg->n] = (struct husk_cgroup_dir){.name = strdup(name), .dir = dir};
	if (cg->dirs[cg->n].name == NULL)
		return -1;
	cg->n++;
	return 0;
}

json_t *husk_cgroup_to_json(const struct husk_cgroup *cg)
{
	json_t *dirs = json_array();

	for (size_t i = 0; dirs && i < cg->n; i++)
		json_array_append_new(dirs,
				      json_pack("{s:s, s:s, s:i}", "name", cg->dirs[i].name, "dir",
						cg->dirs[i].dir, "created", cg->dirs[i].created));
	return json_pack("{s:i, s:o}", "version", cg->version, "dirs", dirs);
}

int husk_cgroup_from_json(json_t *o, struct husk_cgroup *cg, husk_error **err)
{
	json_t *dirs = json_object_get(o, "dirs"), *e;
	size_t i;

	memset(cg, 0, sizeof(*cg));
	cg->version = (int)json_integer_value(json_object_get(o, "version"));
	json_array_foreach (dirs, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *dir = json_string_value(json_object_get(e, "dir"));
		char *d = dir ? strdup(dir) : NULL;
		if (name == NULL || d == NULL || add_dir(cg, name, d) < 0) {
			free(d);
			husk_cgroup_clear(cg);
			return husk_error_fail(err, HUSK_ERR_SYSTEM,
					       "state.json: corrupt cgroup entry");
		}
		cg->dirs[cg->n - 1].created =
		    (int)json_integer_value(json_object_get(e, "created"));
	}
	return 0;
}

static bool name_has_controller(const char *names, const char *controller)
{
	size_t len = strlen(controller);

	for (const char *p = names; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n == len && strncmp(p, controller, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

const char *husk_cgroup_dir_for(const struct husk_cgroup *cg, const char *controller)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->version == 2 || name_has_controller(cg->dirs[i].name, controller))
			return cg->dirs[i].dir;
	return NULL;
}

/* The runtime's own cgroup in the hierarchy named `names` ("" for v2), from
 * /proc/self/cgroup. */
static char *own_cgroup(const char *proc_cgroup, const char *names)
{
	char *copy = strdup(proc_cgroup), *save = NULL, *res = NULL;

	for (char *line = strtok_r(copy, "\n", &save); copy && line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		if (strcmp(c1 + 1, names) == 0) {
			res = strdup(c2 + 1);
			break;
		}
	}
	free(copy);
	return res;
}

/* Hierarchy root + cgroup path; relative paths are below our own cgroup. */
static char *resolve_dir(const char *mountpoint, const char *own, const char *cgroups_path,
			 const char *id)
{
	char *dir = NULL;
	int r;

	if (cgroups_path && cgroups_path[0] == '/')
		r = asprintf(&dir, "%s%s", mountpoint, cgroups_path);
	else if (cgroups_path && cgroups_path[0])
		r = asprintf(&dir, "%s%s/%s", mountpoint, strcmp(own, "/") ? own : "",
			     cgroups_path);
	else
		r = asprintf(&dir, "%s%s/husk-%s", mountpoint, strcmp(own, "/") ? own : "", id);
	return r < 0 ? NULL : dir;
}

/* v1 cpuset children start with empty cpus/mems and refuse tasks: copy the
 * parent's values down each directory we create. */
static int cpuset_inherit(const char *dir)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	cleanup_free char *parent = strdup(dir);
	char *slash = parent ? strrchr(parent, '/') : NULL;

	if (slash == NULL)
		return -1;
	*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		cleanup_free char *val = NULL, *src = NULL, *dst = NULL;
		if (asprintf(&src, "%s/%s", parent, files[i]) < 0 ||
		    asprintf(&dst, "%s/%s", dir, files[i]) < 0)
			return -1;
		if (read_file_at(AT_FDCWD, src, &val, NULL, NULL) < 0)
			return -1;
		if (write_file_at(AT_FDCWD, dst, val, strlen(val), NULL) < 0)
			return -1;
	}
	return 0;
}

/* mkdir -p that counts how many components it created. */
static int mkdir_counting(const char *dir, bool cpuset, int *ret_created, husk_error **err)
{
	cleanup_free char *p = strdup(dir);
	int created = 0;

	if (p == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	for (char *s = p + strlen(CGROUP_ROOT) + 1;; s++) {
		bool end = *s == '\0';
		if (!end && *s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == 0) {
			created++;
			if (cpuset)
				cpuset_inherit(p);
		} else if (errno != EEXIST) {
			*ret_created = created;
			return husk_error_set(err, errno, "create cgroup `%s`", p);
		} else if (created > 0) {
			created = 0; /* raced with someone else: not ours */
		}
		if (end)
			break;
		*s = '/';
	}
	*ret_created = created;
	return 0;
}

static int create_in_hierarchy(struct husk_cgroup *cg, const char *names, const char *mountpoint,
			       const char *proc_cgroup, const char *cgroups_path, const char *id,
			       husk_error **err)
{
	bool v2 = cg->version == 2 || strcmp(names, "unified") == 0;
	cleanup_free char *own = own_cgroup(proc_cgroup, v2 ? "" : names);
	char *dir = resolve_dir(mountpoint, own ? own : "/", cgroups_path, id);
	int created = 0;

	if (dir == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	if (add_dir(cg, names, dir) < 0) {
		free(dir);
		return husk_error_set(err, ENOMEM, "cgroup");
	}
	if (mkdir_counting(dir, strcmp(names, "cpuset") == 0, &created, err) < 0) {
		cg->dirs[cg->n - 1].created = created;
		return -1;
	}
	cg->dirs[cg->n - 1].created = created;
	return 0;
}

/* Every mounted v1 hierarchy with controllers: "cgroup" lines of mountinfo. */
static int create_v1(struct husk_cgroup *cg, const char *proc_cgroup, const char *cgroups_path,
		     const char *id, husk_error **err)
{
	cleanup_free char *mountinfo = NULL;
	char *save = NULL;

	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL, err) < 0)
		return -1;
	for (char *line = strtok_r(mountinfo, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char mnt[512], fstype[64], super[512];
		char *dash = strstr(line, " - "), *names;
		cleanup_free char *list = NULL;

		if (dash == NULL || sscanf(dash, " - %63s %*s %511s", fstype, super) != 2 ||
		    strcmp(fstype, "cgroup") != 0 ||
		    sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    strncmp(mnt, CGROUP_ROOT "/", strlen(CGROUP_ROOT) + 1) != 0)
			continue;
		/* super options: "rw,cpu,cpuacct" -> controllers "cpu,cpuacct" */
		names = strchr(super, ',');
		if (names == NULL || strstr(names, "name=") != NULL)
			continue;
		list = strdup(names + 1);
		if (list == NULL)
			return husk_error_set(err, ENOMEM, "cgroup");
		if (create_in_hierarchy(cg, list, mnt, proc_cgroup, cgroups_path, id, err) < 0)
			return -1;
	}
	return 0;
}

int husk_cgroup_create(const char *cgroups_path, const char *id, bool rootless,
		       struct husk_cgroup *cg, husk_error **err)
{
	cleanup_free char *proc_cgroup = NULL;
	int layout = husk_cgroup_layout(), r;

	memset(cg, 0, sizeof(*cg));
	if (layout == HUSK_CGROUP_NONE)
		return 0;
	if (read_file_at(AT_FDCWD, "/proc/self/cgroup", &proc_cgroup, NULL, err) < 0)
		return -1;
	cg->version = layout == HUSK_CGROUP_UNIFIED ? 2 : 1;
	if (cg->version == 2)
		r = create_in_hierarchy(cg, "unified", CGROUP_ROOT, proc_cgroup, cgroups_path, id,
					err);
	else
		r = create_v1(cg, proc_cgroup, cgroups_path, id, err);
	if (r == 0 && cg->version == 1 && hybrid_unified())
		r = create_in_hierarchy(cg, "unified", CGROUP_ROOT "/unified", proc_cgroup,
					cgroups_path, id, err);
	if (r < 0) {
		husk_cgroup_destroy(cg, NULL);
		husk_cgroup_clear(cg);
		if (rootless && err && husk_error_is(*err, HUSK_ERR_PERMISSION)) {
			/* No delegated subtree: run without limits (the caller warns). */
			husk_error_free(err);
			return 0;
		}
		return -1;
	}
	return 0;
}

int husk_cgroup_enter(const struct husk_cgroup *cg, pid_t pid, husk_error **err)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	for (size_t i = 0; i < cg->n; i++) {
		cleanup_free char *procs = NULL;
		if (asprintf(&procs, "%s/cgroup.procs", cg->dirs[i].dir) < 0)
			return husk_error_set(err, ENOMEM, "cgroup");
		if (write_file_at(AT_FDCWD, procs, buf, (size_t)n, err) < 0)
			return husk_error_wrap(err, "join cgroup");
	}
	return 0;
}

int husk_cgroup_enter_self(const struct husk_cgroup *cg, bool skip_v2, husk_error **err)
{
	if (cg->version != 1)
		return -ENOTSUP;
	for (size_t i = 0; i < cg->n; i++) {
		bool v2 = is_v2_dir(cg, &cg->dirs[i]);
		cleanup_free char *file = NULL;
		if (v2 && skip_v2)
			continue;
		/* v2 has no "tasks": cgroup.procs, "0" being the caller there too. */
		if (asprintf(&file, "%s/%s", cg->dirs[i].dir, v2 ? "cgroup.procs" : "tasks") < 0)
			return husk_error_set(err, ENOMEM, "cgroup");
		if (write_file_at(AT_FDCWD, file, "0", 1, err) < 0)
			return husk_error_wrap(err, "join cgroup");
	}
	return 0;
}

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of linux/sched.h up to its 5.7 size (CLONE_ARGS_SIZE_VER2),
 * spelled out: that header clashes with glibc's sched.h. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	    set_tid_size, cgroup;
};

/* clone3 with CLONE_INTO_CGROUP: -1 when that cannot be done here (no v2
 * directory, an old kernel, a seccomp filter hiding clone3, no right to the
 * cgroup). */
static pid_t clone_into_v2(const struct husk_cgroup *cg, int flags)
{
	const char *dir = husk_cgroup_v2_dir(cg);
	cleanup_close int cgfd = -1;
	/* With CLONE_PARENT the exit signal is the caller's own (clone3
	 * refuses one). */
	struct clone3_args args = {.flags = (uint64_t)(unsigned)flags | CLONE_INTO_CGROUP,
				   .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD};

	if (dir == NULL || (cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	args.cgroup = (uint64_t)cgfd;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

pid_t husk_cgroup_clone(const struct husk_cgroup *cg, int flags, bool *born_in)
{
	pid_t pid = clone_into_v2(cg, flags);

	*born_in = pid >= 0;
	if (pid < 0)
		pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	return pid;
}

int husk_cgroup_kill(const struct husk_cgroup *cg)
{
	const char *dir = husk_cgroup_v2_dir(cg);
	cleanup_free char *path = NULL;
	int r;

	if (dir == NULL)
		return -ENOTSUP;
	if (asprintf(&path, "%s/cgroup.kill", dir) < 0)
		return -ENOMEM;
	r = write_file_at(AT_FDCWD, path, "1", 1, NULL);
	return r == -ENOENT ? -ENOTSUP : r;
}

static int read_pids(const char *dir, pid_t **ret, size_t *ret_n, husk_error **err)
{
	cleanup_free char *path = NULL, *text = NULL;
	cleanup_free pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	char *save = NULL;

	if (asprintf(&path, "%s/cgroup.procs", dir) < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		return -1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (n == cap) {
			pid_t *np = realloc(pids, (cap = cap ? cap * 2 : 16) * sizeof(pid_t));
			if (np == NULL)
				return husk_error_set(err, ENOMEM, "cgroup");
			pids = np;
		}
		pids[n++] = (pid_t)atoi(l);
	}
	*ret = steal_pointer(&pids);
	*ret_n = n;
	return 0;
}

int husk_cgroup_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err)
{
	static const char *const prefer[] = {"pids", "freezer", "memory", "cpu"};
	const char *dir = NULL;

	for (size_t i = 0; dir == NULL && i < ARRAY_SIZE(prefer); i++)
		dir = husk_cgroup_dir_for(cg, prefer[i]);
	if (dir == NULL && cg->n > 0)
		dir = cg->dirs[0].dir;
	if (dir == NULL) {
		*ret = NULL;
		*ret_n = 0;
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED, "the container has no cgroup");
	}
	return read_pids(dir, ret, ret_n, err);
}

/* SIGKILL whatever is left, then wait (bounded) until the cgroup is empty. */
static void kill_remaining(const char *dir)
{
	for (int round = 0; round < 200; round++) {
		cleanup_free pid_t *pids = NULL;
		size_t n = 0;
		struct timespec ts = {0, 5 * 1000 * 1000};

		if (read_pids(dir, &pids, &n, NULL) < 0 || n == 0)
			return;
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		nanosleep(&ts, NULL);
	}
}

static int remove_dir(const struct husk_cgroup_dir *d)
{
	cleanup_free char *p = strdup(d->dir);

	if (p == NULL)
		return -ENOMEM;
	for (int i = 0; i < d->created; i++) {
		char *slash;
		if (rmdir(p) < 0 && errno != ENOENT) {
			/* A task may still be exiting: retry briefly. */
			struct timespec ts = {0, 2 * 1000 * 1000};
			int tries = 0;
			while (errno == EBUSY && tries++ < 250 && rmdir(p) < 0)
				nanosleep(&ts, NULL);
			if (tries > 250 || (errno != EBUSY && errno != ENOENT && i == 0))
				return -errno;
		}
		slash = strrchr(p, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
	}
	return 0;
}

int husk_cgroup_destroy(const struct husk_cgroup *cg, husk_error **err)
{
	bool killed = false;
	int ret = 0;

	for (size_t i = 0; i < cg->n; i++) {
		int r;
		if (cg->dirs[i].created == 0)
			continue;
		/* Every hierarchy holds the same processes: empty one, all are.
		 * cgroup.kill also gets a process forking at that moment. */
		if (!killed) {
			(void)husk_cgroup_kill(cg);
			kill_remaining(cg->dirs[i].dir);
		}
		killed = true;
		r = remove_dir(&cg->dirs[i]);
		if (r < 0 && ret == 0)
			ret = husk_error_set(err, -r, "remove cgroup `%s`", cg->dirs[i].dir);
	}
	return ret;
}

/* The freezer: v1's where there is one (a hybrid host freezes as runc does
 * there, and as tools reading freezer.state expect), else cgroup.freeze of
 * the v2 directory (pure v2, or hybrid without a v1 freezer). */
static const char *freezer_dir(const struct husk_cgroup *cg, bool *v2)
{
	const char *dir = cg->version == 1 ? husk_cgroup_dir_for(cg, "freezer") : NULL;

	*v2 = dir == NULL;
	return dir ? dir : husk_cgroup_v2_dir(cg);
}

/* Waits (bounded) until the freezer reports the state; v1 may linger in
 * FREEZING while tasks are in uninterruptible sleep. */
static bool freezer_reached(const char *dir, bool v2, bool frozen)
{
	for (int i = 0; i < 200; i++) {
		cleanup_free char *path = NULL, *val = NULL;
		struct timespec ts = {0, 1000 * 1000};
		bool done;

		if (asprintf(&path, "%s/%s", dir, v2 ? "cgroup.events" : "freezer.state") < 0)
			return false;
		if (read_file_at(AT_FDCWD, path, &val, NULL, NULL) < 0)
			return false;
		if (v2)
			done = strstr(val, frozen ? "frozen 1" : "frozen 0") != NULL;
		else
			done = strncmp(val, frozen ? "FROZEN" : "THAWED", 6) == 0;
		if (done)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int husk_cgroup_freeze(const struct husk_cgroup *cg, bool frozen, husk_error **err)
{
	bool v2;
	const char *dir = freezer_dir(cg, &v2);
	cleanup_free char *path = NULL;
	const char *val;

	if (dir == NULL)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "the container has no freezer cgroup");
	if (v2) {
		if (asprintf(&path, "%s/cgroup.freeze", dir) < 0)
			return husk_error_set(err, ENOMEM, "freeze");
		val = frozen ? "1" : "0";
	} else {
		if (asprintf(&path, "%s/freezer.state", dir) < 0)
			return husk_error_set(err, ENOMEM, "freeze");
		val = frozen ? "FROZEN" : "THAWED";
	}
	/* Retry: a v1 freeze can stall on a task in uninterruptible sleep;
	 * thawing and freezing again lets it through, as runc does. */
	for (int attempt = 0; attempt < 10; attempt++) {
		if (write_file_at(AT_FDCWD, path, val, strlen(val), err) < 0)
			return -1;
		if (freezer_reached(dir, v2, frozen))
			return 0;
		if (frozen && !v2)
			write_file_at(AT_FDCWD, path, "THAWED", 6, NULL);
	}
	if (frozen)
		write_file_at(AT_FDCWD, path, v2 ? "0" : "THAWED", v2 ? 1 : 6, NULL);
	return husk_error_fail(err, HUSK_ERR_BUSY, "the cgroup did not %s in time",
			       frozen ? "freeze" : "thaw");
}

bool husk_cgroup_is_frozen(const struct husk_cgroup *cg)
{
	bool v2;
	const char *dir = freezer_dir(cg, &v2);
	cleanup_free char *path = NULL, *val = NULL;

	if (dir == NULL)
		return false;
	if (asprintf(&path, "%s/%s", dir, v2 ? "cgroup.freeze" : "freezer.state") < 0)
		return false;
	if (read_file_at(AT_FDCWD, path, &val, NULL, NULL) < 0)
		return false;
	return v2 ? val[0] == '1' : strncmp(val, "FROZEN", 6) == 0;
}
