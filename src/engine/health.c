/* SPDX-License-Identifier: MIT */
/* husk __healthcheck ID: one run of the container's healthcheck, recorded. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "health.h"
#include "util.h"

#define HEALTH_LOG_KEEP	   5
#define HEALTH_OUTPUT_MAX  4096
#define DEFAULT_TIMEOUT_NS 30000000000LL
#define DEFAULT_RETRIES	   3

json_t *health_json(const struct ctr *c)
{
	cleanup_free char *path = NULL;
	json_t *j = NULL;

	if (asprintf(&path, "%s/health.json", c->dir) >= 0)
		j = json_load_file(path, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		j = json_pack("{s:s, s:i, s:[]}", "Status", "starting", "FailingStreak", 0, "Log");
	}
	return j;
}

int health_status(const struct ctr *c, char **ret)
{
	cleanup_json json_t *j = health_json(c);
	const char *s = json_string_value(json_object_get(j, "Status"));

	*ret = strdup(s ? s : "starting");
	return *ret ? 0 : -1;
}

void health_reset(const struct ctr *c)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/health.json", c->dir) >= 0)
		unlink(path);
}

/* The check's process: the container's own, with the test as its args. */
static json_t *check_process(struct engine *e, const struct ctr *c, husk_error **err)
{
	json_t *hc = json_object_get(json_object_get(c->doc, "Config"), "Healthcheck");
	json_t *test = json_object_get(hc, "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	cleanup_json json_t *process = NULL;
	json_t *args;

	if (husk_container_saved_process(&e->rt, c->id, &process, err) < 0)
		return NULL;
	if (kind && strcmp(kind, "CMD-SHELL") == 0)
		args = json_pack("[s,s,O]", "/bin/sh", "-c", json_array_get(test, 1));
	else if (kind && strcmp(kind, "CMD") == 0 && json_array_size(test) > 1) {
		args = json_array();
		for (size_t i = 1; i < json_array_size(test); i++)
			json_array_append(args, json_array_get(test, i));
	} else {
		husk_error_fail(err, HUSK_ERR_INVALID,
				"healthcheck: a test must be CMD or CMD-SHELL");
		return NULL;
	}
	json_object_set_new(process, "args", args);
	json_object_set_new(process, "terminal", json_false());
	return steal_pointer(&process);
}

static int64_t ns_of(const struct ctr *c, const char *key, int64_t def)
{
	json_t *hc = json_object_get(json_object_get(c->doc, "Config"), "Healthcheck");
	json_int_t v = json_integer_value(json_object_get(hc, key));

	return v > 0 ? v : def;
}

/* Runs the check with its output in a pipe: exit code (-1 on timeout) and
 * the output's first HEALTH_OUTPUT_MAX bytes. */
static int run_check(struct engine *e, const struct ctr *c, int *ret_code, char **ret_output,
		     husk_error **err)
{
	cleanup_json json_t *process = check_process(e, c, err);
	cleanup_handle struct husk_handle *h = NULL;
	struct husk_exec_opts o = {0};
	char out[HEALTH_OUTPUT_MAX + 1];
	size_t len = 0;
	int fds[2], status;
	struct timespec start;
	int64_t timeout_ms = ns_of(c, "Timeout", DEFAULT_TIMEOUT_NS) / 1000000;

	if (process == NULL || pipe2(fds, O_CLOEXEC) < 0)
		return process ? husk_error_set(err, errno, "pipe") : -1;
	dup2(fds[1], 1);
	dup2(fds[1], 2);
	close(fds[1]);
	if (husk_container_exec(&e->rt, c->id, process, &o, &h, err) < 0) {
		close(fds[0]);
		return -1;
	}
	/* only the check holds the write end now */
	dup2(0, 1);
	dup2(0, 2);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		struct timespec now;
		int64_t left;
		ssize_t n;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
				     (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			husk_handle_kill(h, SIGKILL, NULL);
			husk_handle_wait(h, &status, NULL);
			close(fds[0]);
			*ret_code = -1;
			return asprintf(ret_output, "Health check exceeded timeout (%llds)",
					(long long)(timeout_ms / 1000)) < 0
				   ? -1
				   : 0;
		}
		n = read(fds[0], out + len, HEALTH_OUTPUT_MAX - len);
		if (n <= 0 || (len += (size_t)n) == HEALTH_OUTPUT_MAX)
			break;
	}
	close(fds[0]);
	if (husk_handle_wait(h, &status, err) < 0)
		return -1;
	out[len] = '\0';
	*ret_code = status;
	*ret_output = strdup(out);
	return 0;
}

static void record(struct ctr *c, const char *start, int code, const char *output)
{
	cleanup_json json_t *j = health_json(c);
	json_t *log = json_object_get(j, "Log");
	int streak = (int)json_integer_value(json_object_get(j, "FailingStreak"));
	int retries = (int)ns_of(c, "Retries", DEFAULT_RETRIES);
	double started = rfc3339_seconds(c->st.started_at);
	struct timespec now;
	char end[64];
	cleanup_free char *text = NULL;
	cleanup_close int dirfd = -1;

	rfc3339_now(end);
	clock_gettime(CLOCK_REALTIME, &now);
	if (code == 0) {
		streak = 0;
		json_object_set_new(j, "Status", json_string("healthy"));
	} else if ((double)now.tv_sec - started >= ns_of(c, "StartPeriod", 0) / 1e9) {
		/* failures in the start period do not count */
		if (++streak >= retries)
			json_object_set_new(j, "Status", json_string("unhealthy"));
	}
	json_object_set_new(j, "FailingStreak", json_integer(streak));
	if (!json_is_array(log))
		json_object_set_new(j, "Log", log = json_array());
	json_array_append_new(log, json_pack("{s:s, s:s, s:i, s:s}", "Start", start, "End", end,
					     "ExitCode", code, "Output", output ? output : ""));
	while (json_array_size(log) > HEALTH_LOG_KEEP)
		json_array_remove(log, 0);
	text = json_dumps(j, JSON_COMPACT);
	dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (text && dirfd >= 0)
		write_file_atomic_at(dirfd, "health.json", text, strlen(text), 0600, NULL);
}

int cmd_healthcheck(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	cleanup_free char *output = NULL;
	husk_error *err = NULL;
	char start[64];
	int code;

	if (argc != 2)
		return EXIT_ENGINE;
	if (ctr_lookup(e, argv[1], &c, &err) < 0)
		return engine_fail(err);
	if (ctr_status_now(c, NULL) != CTR_RUNNING || !c->has_healthcheck)
		return EXIT_ENGINE;
	rfc3339_now(start);
	if (run_check(e, c, &code, &output, &err) < 0) {
		code = -1;
		output = strdup(err && err->msg ? err->msg : "the check could not run");
		husk_error_free(&err);
	}
	if (ctr_lock(c, &err) < 0)
		return engine_fail(err);
	/* a check that ended with the container tells nothing */
	if (c->st.status != CTR_RUNNING)
		return EXIT_ENGINE;
	record(c, start, code, output);
	return code == 0 ? 0 : 1;
}
