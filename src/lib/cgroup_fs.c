/* SPDX-License-Identifier: MIT */
/* What the cgroupfs backends share: directories made, joined, emptied,
 * removed and recorded; the freezer loop; cgroup2's core files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "util.h"

/* ---- creating ---- */

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

char *husk_cgroupfs_own_cgroup(const char *proc_cgroup, const char *names)
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
static char *resolve_dir(const char *mountpoint, const char *own,
			 const struct husk_cgroup_config *cfg)
{
	const char *path = cfg->path;
	char *dir = NULL;
	int r;

	if (path && path[0] == '/')
		r = asprintf(&dir, "%s%s", mountpoint, path);
	else if (path && path[0])
		r = asprintf(&dir, "%s%s/%s", mountpoint, strcmp(own, "/") ? own : "", path);
	else
		r = asprintf(&dir, "%s%s/husk-%s", mountpoint, strcmp(own, "/") ? own : "",
			     cfg->id);
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
	for (char *s = p + strlen(HUSK_CGROUP_ROOT) + 1;; s++) {
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

/* How many trailing components of dir do not exist (yet). */
static int missing_components(const char *dir)
{
	cleanup_free char *p = strdup(dir);
	int n = 0;
	char *slash;

	while (p && access(p, F_OK) < 0 && errno == ENOENT && (slash = strrchr(p, '/')) != NULL &&
	       slash > p + strlen(HUSK_CGROUP_ROOT)) {
		n++;
		*slash = '\0';
	}
	return n;
}

int husk_cgroupfs_plan_dir(struct husk_cgroup *cg, const char *name, const char *mountpoint,
			   const char *own, const struct husk_cgroup_config *cfg, husk_error **err)
{
	char *dir = resolve_dir(mountpoint, own, cfg);

	if (dir == NULL)
		return husk_error_set(err, ENOMEM, "cgroup");
	if (add_dir(cg, name, dir) < 0) {
		free(dir);
		return husk_error_set(err, ENOMEM, "cgroup");
	}
	/* as if made, for the record make_planned writes first */
	cg->dirs[cg->n - 1].created = missing_components(dir);
	return 0;
}

/* v1 cpuset children start with empty cpus and mems and refuse tasks. */
static bool is_cpuset(const struct husk_cgroup_dir *d)
{
	return strcmp(d->name, "cpuset") == 0;
}

int husk_cgroupfs_make_planned(struct husk_cgroup *cg, const struct husk_cgroup_config *cfg,
			       husk_error **err)
{
	bool as_recorded = true;

	/* Recorded first, as if made, once for every hierarchy: a kill
	 * between a mkdir and a save after it would leave a cgroup nothing
	 * names. Removing counts components already gone as removed. */
	if (cfg->save && cfg->save(cg, cfg->save_arg, err) < 0)
		return -1;
	for (size_t i = 0; i < cg->n; i++) {
		int created = 0;
		if (mkdir_counting(cg->dirs[i].dir, is_cpuset(&cg->dirs[i]), &created, err) < 0) {
			cg->dirs[i].created = created;
			for (size_t j = i + 1; j < cg->n; j++)
				cg->dirs[j].created = 0; /* not tried */
			return -1;
		}
		as_recorded = as_recorded && created == cg->dirs[i].created;
		cg->dirs[i].created = created;
	}
	/* someone else made a component meanwhile: it is not ours to remove */
	if (cfg->save && !as_recorded)
		return cfg->save(cg, cfg->save_arg, err);
	return 0;
}

/* ---- the state ---- */

int husk_cgroupfs_save(const struct husk_cgroup *cg, json_t *o)
{
	json_t *dirs = json_array();

	for (size_t i = 0; dirs && i < cg->n; i++)
		json_array_append_new(dirs,
				      json_pack("{s:s, s:s, s:i}", "name", cg->dirs[i].name, "dir",
						cg->dirs[i].dir, "created", cg->dirs[i].created));
	return dirs ? json_object_set_new(o, "dirs", dirs) : -1;
}

int husk_cgroupfs_load(json_t *o, struct husk_cgroup *cg, husk_error **err)
{
	json_t *dirs = json_object_get(o, "dirs"), *e;
	size_t i;

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

/* ---- the processes inside ---- */

int husk_cgroupfs_join(const char *dir, const char *file, const char *what, husk_error **err)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return husk_error_set(err, ENOMEM, "cgroup");
	if (write_file_at(AT_FDCWD, path, what, strlen(what), err) < 0)
		return husk_error_wrap(err, "join cgroup");
	return 0;
}

int husk_cgroupfs_kill(const struct husk_cgroup *cg)
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

int husk_cgroupfs_pids(const struct husk_cgroup *cg, pid_t **ret, size_t *ret_n, husk_error **err)
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

/* ---- removing ---- */

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

int husk_cgroupfs_destroy(const struct husk_cgroup *cg, husk_error **err)
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
			(void)husk_cgroupfs_kill(cg);
			kill_remaining(cg->dirs[i].dir);
		}
		killed = true;
		r = remove_dir(&cg->dirs[i]);
		if (r < 0 && ret == 0)
			ret = husk_error_set(err, -r, "remove cgroup `%s`", cg->dirs[i].dir);
	}
	return ret;
}

/* ---- the freezer ---- */

/* Waits (bounded) until the freezer reports the state; v1 may linger in
 * FREEZING while tasks are in uninterruptible sleep. */
static bool freezer_reached(const char *dir, const struct husk_cgroupfs_freezer *f, bool frozen)
{
	for (int i = 0; i < 200; i++) {
		cleanup_free char *path = NULL, *val = NULL;
		struct timespec ts = {0, 1000 * 1000};

		if (asprintf(&path, "%s/%s", dir, f->report) < 0)
			return false;
		if (read_file_at(AT_FDCWD, path, &val, NULL, NULL) < 0)
			return false;
		if (f->reached(val, frozen))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int husk_cgroupfs_freeze(const char *dir, const struct husk_cgroupfs_freezer *f, bool frozen,
			 husk_error **err)
{
	cleanup_free char *path = NULL;
	const char *val = frozen ? f->frozen : f->thawed;

	if (dir == NULL)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "the container has no freezer cgroup");
	if (asprintf(&path, "%s/%s", dir, f->control) < 0)
		return husk_error_set(err, ENOMEM, "freeze");
	/* Retry: a v1 freeze can stall on a task in uninterruptible sleep;
	 * thawing and freezing again lets it through, as runc does. */
	for (int attempt = 0; attempt < 10; attempt++) {
		if (write_file_at(AT_FDCWD, path, val, strlen(val), err) < 0)
			return -1;
		if (freezer_reached(dir, f, frozen))
			return 0;
		if (frozen && f->thaw_to_retry)
			write_file_at(AT_FDCWD, path, f->thawed, strlen(f->thawed), NULL);
	}
	if (frozen)
		write_file_at(AT_FDCWD, path, f->thawed, strlen(f->thawed), NULL);
	return husk_error_fail(err, HUSK_ERR_BUSY, "the cgroup did not %s in time",
			       frozen ? "freeze" : "thaw");
}

bool husk_cgroupfs_is_frozen(const char *dir, const struct husk_cgroupfs_freezer *f)
{
	cleanup_free char *path = NULL, *val = NULL;

	if (dir == NULL)
		return false;
	if (asprintf(&path, "%s/%s", dir, f->control) < 0)
		return false;
	if (read_file_at(AT_FDCWD, path, &val, NULL, NULL) < 0)
		return false;
	return strncmp(val, f->frozen, strlen(f->frozen)) == 0;
}

static bool v2_freezer_reached(const char *events, bool frozen)
{
	return strstr(events, frozen ? "frozen 1" : "frozen 0") != NULL;
}

/* cgroup2's core files: a pure v2 host's, and a hybrid host's unified
 * directory's where it has no v1 freezer. */
const struct husk_cgroupfs_freezer husk_cgroupfs_v2_freezer = {
    .control = "cgroup.freeze",
    .frozen = "1",
    .thawed = "0",
    .report = "cgroup.events",
    .reached = v2_freezer_reached,
    .thaw_to_retry = false,
};
