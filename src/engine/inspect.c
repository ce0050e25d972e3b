/* SPDX-License-Identifier: MIT */
/* husk inspect NAME...: containers (and images), as a JSON array shaped
 * like Docker's. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "health.h"
#include "net.h"
#include "util.h"

static json_t *state_json(const struct ctr *c)
{
	bool monitor;
	enum ctr_status now = ctr_status_now(c, &monitor);
	const char *error = c->st.error;
	json_t *s;

	if (now == CTR_EXITED && !monitor &&
	    (c->st.status == CTR_RUNNING || c->st.status == CTR_RESTARTING))
		error = "its monitor was killed: the exit code is unknown";
	s = json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:I, s:i, s:s, s:s, s:s, s:I}", "Status",
		      ctr_status_name(now), "Running", now == CTR_RUNNING, "Paused", 0,
		      "Restarting", now == CTR_RESTARTING, "OOMKilled", c->st.oom_killed, "Dead", 0,
		      "Pid", (json_int_t)(now == CTR_RUNNING ? c->st.pid : 0), "ExitCode",
		      c->st.exit_code, "Error", error ? error : "", "StartedAt",
		      c->st.started_at ? c->st.started_at : "0001-01-01T00:00:00Z", "FinishedAt",
		      c->st.finished_at ? c->st.finished_at : "0001-01-01T00:00:00Z", "MonitorPid",
		      (json_int_t)(monitor ? c->st.monitor_pid : 0));
	if (s && c->has_healthcheck)
		json_object_set_new(s, "Health", health_json(c));
	return s;
}

json_t *ctr_inspect_json(const struct engine *e, const struct ctr *c)
{
	json_t *j = json_deep_copy(c->doc);
	cleanup_free char *log = NULL;

	if (j == NULL)
		return NULL;
	json_object_del(j, "ImageDigest");
	json_object_set_new(j, "State", state_json(c));
	json_object_set_new(j, "RestartCount", json_integer(c->st.restart_count));
	json_object_set_new(j, "NetworkSettings", net_settings_json(e, c));
	if (asprintf(&log, "%s/ctr.log", c->dir) >= 0)
		json_object_set_new(j, "LogPath", json_string(log));
	return j;
}

int cmd_inspect(struct engine *e, int argc, char **argv)
{
	cleanup_json json_t *all = json_array();
	cleanup_free char *text = NULL;
	int status = 0;

	if (argc < 2) {
		engine_error("inspect: a container or image is required");
		return EXIT_ENGINE;
	}
	for (int i = 1; i < argc; i++) {
		cleanup_ctr struct ctr *c = NULL;
		husk_error *err = NULL;
		json_t *j = NULL;
		if (ctr_lookup(e, argv[i], &c, &err) == 0)
			j = ctr_inspect_json(e, c);
		else if (husk_error_is(err, HUSK_ERR_NOT_FOUND)) {
			husk_error_free(&err);
			if (image_inspect_json(e, argv[i], &j, &err) < 0 &&
			    husk_error_is(err, HUSK_ERR_NOT_FOUND)) {
				husk_error_free(&err);
				husk_error_fail(&err, HUSK_ERR_NOT_FOUND,
						"no such container or image: %s", argv[i]);
			}
		}
		if (j == NULL) {
			engine_fail(err);
			status = 1;
			continue;
		}
		json_array_append_new(all, j);
	}
	text = json_dumps(all, JSON_INDENT(4));
	if (text)
		printf("%s\n", text);
	return status;
}
