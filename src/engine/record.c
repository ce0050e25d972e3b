/* SPDX-License-Identifier: MIT */
/* A container's record: container.json, state.json, the lock, look-ups. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "signals.h"
#include "util.h"

static const char *const status_names[] = {
    [CTR_CREATED] = "created",
    [CTR_RUNNING] = "running",
    [CTR_RESTARTING] = "restarting",
    [CTR_EXITED] = "exited",
};

const char *ctr_status_name(enum ctr_status s)
{
	return status_names[s];
}

void rfc3339_now(char buf[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

void ctr_state_clear(struct ctr_state *s)
{
	free(s->started_at);
	free(s->finished_at);
	free(s->error);
	memset(s, 0, sizeof(*s));
}

void ctr_free(struct ctr *c)
{
	if (c == NULL)
		return;
	ctr_unlock(c);
	husk_image_free(c->img);
	json_decref(c->config);
	json_decref(c->doc);
	ctr_state_clear(&c->st);
	free(c->dir);
	free(c);
}

/* A zombie has exited: its pid and start time stay until it is reaped. */
static bool zombie(pid_t pid)
{
	char path[32], buf[512], *paren;
	cleanup_close int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return false;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

bool process_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now;

	return pid > 0 && proc_start_time(pid, &now) == 0 && now == start && !zombie(pid);
}

static enum restart_policy restart_from_name(const char *s)
{
	if (s == NULL)
		return RESTART_NO;
	if (strcmp(s, "always") == 0)
		return RESTART_ALWAYS;
	if (strcmp(s, "unless-stopped") == 0)
		return RESTART_UNLESS_STOPPED;
	if (strcmp(s, "on-failure") == 0)
		return RESTART_ON_FAILURE;
	return RESTART_NO;
}

/* The fields husk acts on, from container.json. */
static void doc_fields(struct ctr *c)
{
	json_t *config = json_object_get(c->doc, "Config");
	json_t *host = json_object_get(c->doc, "HostConfig");
	json_t *policy = json_object_get(host, "RestartPolicy");
	json_t *timeout = json_object_get(config, "StopTimeout");
	int sig = SIGTERM;

	c->name = json_string_value(json_object_get(c->doc, "Name"));
	if (c->name && c->name[0] == '/')
		c->name++;
	c->image_digest = json_string_value(json_object_get(c->doc, "ImageDigest"));
	c->auto_remove = json_is_true(json_object_get(host, "AutoRemove"));
	c->tty = json_is_true(json_object_get(config, "Tty"));
	c->open_stdin = json_is_true(json_object_get(config, "OpenStdin"));
	c->restart = restart_from_name(json_string_value(json_object_get(policy, "Name")));
	c->restart_max = (int)json_integer_value(json_object_get(policy, "MaximumRetryCount"));
	if (husk_signal_parse(json_string_value(json_object_get(config, "StopSignal")), &sig) < 0)
		sig = SIGTERM;
	c->stop_signal = sig;
	c->stop_timeout = json_is_integer(timeout) ? (int)json_integer_value(timeout) : 10;
	c->log_max_size = json_integer_value(json_object_get(host, "LogMaxSize"));
	c->has_healthcheck = json_object_get(config, "Healthcheck") != NULL;
}

static char *dup_or_null(json_t *v)
{
	const char *s = json_string_value(v);

	return s ? strdup(s) : NULL;
}

static int state_from_json(struct ctr_state *s, json_t *j)
{
	const char *status = json_string_value(json_object_get(j, "Status"));

	ctr_state_clear(s);
	s->status = CTR_EXITED;
	for (size_t i = 0; status && i < ARRAY_SIZE(status_names); i++)
		if (strcmp(status, status_names[i]) == 0)
			s->status = (enum ctr_status)i;
	s->pid = (pid_t)json_integer_value(json_object_get(j, "Pid"));
	s->pid_start = (unsigned long long)json_integer_value(json_object_get(j, "PidStart"));
	s->monitor_pid = (pid_t)json_integer_value(json_object_get(j, "MonitorPid"));
	s->monitor_start =
	    (unsigned long long)json_integer_value(json_object_get(j, "MonitorStart"));
	s->exit_code = (int)json_integer_value(json_object_get(j, "ExitCode"));
	s->oom_killed = json_is_true(json_object_get(j, "OOMKilled"));
	s->restart_count = (int)json_integer_value(json_object_get(j, "RestartCount"));
	s->started_at = dup_or_null(json_object_get(j, "StartedAt"));
	s->finished_at = dup_or_null(json_object_get(j, "FinishedAt"));
	s->error = dup_or_null(json_object_get(j, "Error"));
	return 0;
}

static json_t *state_to_json(const struct ctr_state *s)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:b, s:s?, s:s?, s:i, s:s?}", "Status",
			 status_names[s->status], "Pid", (json_int_t)s->pid, "PidStart",
			 (json_int_t)s->pid_start, "MonitorPid", (json_int_t)s->monitor_pid,
			 "MonitorStart", (json_int_t)s->monitor_start, "ExitCode", s->exit_code,
			 "OOMKilled", s->oom_killed, "StartedAt", s->started_at, "FinishedAt",
			 s->finished_at, "RestartCount", s->restart_count, "Error", s->error);
}

static json_t *load_json(const char *dir, const char *name, husk_error **err)
{
	cleanup_free char *path = NULL;
	json_error_t jerr;
	json_t *j;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		husk_error_set(err, ENOMEM, "%s", name);
		return NULL;
	}
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL && access(path, F_OK) < 0)
		husk_error_set(err, errno, "read `%s`", path);
	else if (j == NULL)
		husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: %s", path, jerr.text);
	return j;
}

static int save_json(const char *dir, const char *name, json_t *j, husk_error **err)
{
	cleanup_free char *text = json_dumps(j, JSON_COMPACT);
	cleanup_close int dirfd = -1;

	if (text == NULL)
		return husk_error_set(err, ENOMEM, "%s", name);
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dirfd, name, text, strlen(text), 0600, err);
}

int ctr_reload_state(struct ctr *c, husk_error **err)
{
	cleanup_json json_t *j = load_json(c->dir, "state.json", err);

	return j == NULL ? -1 : state_from_json(&c->st, j);
}

int ctr_save_state(struct ctr *c, husk_error **err)
{
	cleanup_json json_t *j = state_to_json(&c->st);

	if (j == NULL)
		return husk_error_set(err, ENOMEM, "state");
	return save_json(c->dir, "state.json", j, err);
}

int ctr_save_doc(struct ctr *c, husk_error **err)
{
	if (save_json(c->dir, "container.json", c->doc, err) < 0)
		return -1;
	doc_fields(c);
	return 0;
}

static bool id_valid(const char *id)
{
	return strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

int ctr_load(const struct engine *e, const char *id, struct ctr **ret, husk_error **err)
{
	cleanup_ctr struct ctr *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return husk_error_set(err, ENOMEM, "container");
	c->lock_fd = -1;
	if (!id_valid(id))
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such container: %s", id);
	memcpy(c->id, id, 65);
	c->dir = engine_container_path(&e->paths, id, NULL);
	if (c->dir == NULL)
		return husk_error_set(err, ENOMEM, "container");
	c->doc = load_json(c->dir, "container.json", err);
	if (c->doc == NULL)
		return -1;
	doc_fields(c);
	if (ctr_reload_state(c, err) < 0)
		return -1;
	*ret = steal_pointer(&c);
	return 0;
}

int ctr_lock(struct ctr *c, husk_error **err)
{
	cleanup_free char *path = NULL;

	if (c->lock_fd >= 0)
		return 0;
	if (asprintf(&path, "%s/lock", c->dir) < 0)
		return husk_error_set(err, ENOMEM, "lock");
	c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	if (flock(c->lock_fd, LOCK_EX) < 0) {
		int e = errno;
		close(c->lock_fd);
		c->lock_fd = -1;
		return husk_error_set(err, e, "lock `%s`", path);
	}
	/* The record may have changed (or gone) while we waited. */
	if (access(c->dir, F_OK) < 0) {
		ctr_unlock(c);
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such container: %s", c->id);
	}
	return ctr_reload_state(c, err);
}

void ctr_unlock(struct ctr *c)
{
	if (c->lock_fd >= 0) {
		close(c->lock_fd);
		c->lock_fd = -1;
	}
}

/* The id a name file holds. */
static int id_by_name(const struct engine *e, const char *name, char id[65])
{
	cleanup_free char *path = NULL, *data = NULL;

	if (strchr(name, '/') || name[0] == '.' ||
	    asprintf(&path, "%s/%s", e->paths.names, name) < 0)
		return -1;
	if (read_file_at(AT_FDCWD, path, &data, NULL, NULL) < 0 || !id_valid(data))
		return -1;
	memcpy(id, data, 65);
	return 0;
}

static int id_by_prefix(const struct engine *e, const char *prefix, char id[65], husk_error **err)
{
	cleanup_dir DIR *d = opendir(e->paths.containers);
	size_t len = strlen(prefix), found = 0;
	struct dirent *de;

	if (d == NULL)
		return husk_error_set(err, errno, "open `%s`", e->paths.containers);
	while ((de = readdir(d)) != NULL) {
		if (!id_valid(de->d_name) || strncmp(de->d_name, prefix, len) != 0)
			continue;
		if (found++ == 0)
			memcpy(id, de->d_name, 65);
	}
	if (found > 1)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "container id prefix `%s` is ambiguous (%zu containers)",
				       prefix, found);
	if (found == 0)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such container: %s", prefix);
	return 0;
}

static int (*first_hook)(const struct ctr *c, husk_error **err);

void ctr_lookup_first_hook(int (*fn)(const struct ctr *c, husk_error **err))
{
	first_hook = fn;
}

static int load_found(const struct engine *e, const char *id, struct ctr **ret, husk_error **err)
{
	int (*hook)(const struct ctr *, husk_error **) = first_hook;
	struct ctr *c = NULL;

	if (ctr_load(e, id, &c, err) < 0)
		return -1;
	/* kept when it fails: the next container tried calls it again, no
	 * command goes on with one it could not prepare for */
	if (hook && hook(c, err) < 0) {
		ctr_free(c);
		return -1;
	}
	first_hook = NULL;
	*ret = c;
	return 0;
}

int ctr_lookup(const struct engine *e, const char *ref, struct ctr **ret, husk_error **err)
{
	char id[65];

	if (ref == NULL || ref[0] == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID, "a container name or id is required");
	if (ref[0] == '/')
		ref++;
	if (id_by_name(e, ref, id) == 0)
		return load_found(e, id, ret, err);
	if (strspn(ref, "0123456789abcdef") != strlen(ref) || strlen(ref) > 64)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "no such container: %s", ref);
	if (id_by_prefix(e, ref, id, err) < 0)
		return -1;
	return load_found(e, id, ret, err);
}

static int newest_first(const void *a, const void *b)
{
	const struct ctr *x = *(struct ctr *const *)a, *y = *(struct ctr *const *)b;
	const char *cx = json_string_value(json_object_get(x->doc, "Created"));
	const char *cy = json_string_value(json_object_get(y->doc, "Created"));

	return strcmp(cy ? cy : "", cx ? cx : "");
}

void ctr_list_free(struct ctr **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ctr_free(list[i]);
	free(list);
}

int ctr_list(const struct engine *e, struct ctr ***ret, size_t *ret_n, husk_error **err)
{
	cleanup_dir DIR *d = opendir(e->paths.containers);
	struct ctr **list = NULL, **grown;
	size_t n = 0;
	struct dirent *de;

	if (d == NULL)
		return husk_error_set(err, errno, "open `%s`", e->paths.containers);
	while ((de = readdir(d)) != NULL) {
		struct ctr *c = NULL;
		if (!id_valid(de->d_name) || ctr_load(e, de->d_name, &c, NULL) < 0)
			continue; /* half-made (no record yet) or being removed */
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (grown == NULL) {
			ctr_free(c);
			ctr_list_free(list, n);
			return husk_error_set(err, ENOMEM, "containers");
		}
		list = grown;
		list[n++] = c;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), newest_first);
	*ret = list;
	*ret_n = n;
	return 0;
}

enum ctr_status ctr_status_now(const struct ctr *c, bool *ret_monitor_alive)
{
	bool monitor = process_alive(c->st.monitor_pid, c->st.monitor_start);

	if (ret_monitor_alive)
		*ret_monitor_alive = monitor;
	if (c->st.status != CTR_RUNNING && c->st.status != CTR_RESTARTING)
		return c->st.status;
	if (monitor)
		return c->st.status;
	/* The monitor is gone: the recorded state is stale. */
	return process_alive(c->st.pid, c->st.pid_start) ? CTR_RUNNING : CTR_EXITED;
}

int ctr_mark(const struct ctr *c, const char *name, bool on, husk_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_close int fd = -1;

	if (asprintf(&path, "%s/%s", c->dir, name) < 0)
		return husk_error_set(err, ENOMEM, "%s", name);
	if (!on)
		return unlink(path) < 0 && errno != ENOENT ? husk_error_set(err, errno, "%s", path)
							   : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	return fd < 0 ? husk_error_set(err, errno, "create `%s`", path) : 0;
}

bool ctr_marked(const struct ctr *c, const char *name)
{
	cleanup_free char *path = NULL;

	return asprintf(&path, "%s/%s", c->dir, name) >= 0 && access(path, F_OK) == 0;
}
