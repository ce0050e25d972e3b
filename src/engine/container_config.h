/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <husk/error.h>
#include <husk/store.h>

enum restart_policy {
	RESTART_NO,
	RESTART_ON_FAILURE,
	RESTART_ALWAYS,
	RESTART_UNLESS_STOPPED,
};

/* What `run` was asked for, on top of the image's config. */
struct run_options {
	bool detach, rm, tty, interactive;
	const char *name;
	char **env; /* -e: "NAME=value", or "NAME" to take the host's value */
	const char *workdir;
	const char *hostname;
	const char *user; /* numeric uid[:gid] for now */
	const char *entrypoint;
	bool entrypoint_set; /* --entrypoint "" clears the image's */
	char **args;	     /* the command after the image, may be empty */

	enum restart_policy restart;
	int restart_max;	 /* on-failure:N (0: no limit) */
	const char *stop_signal; /* NULL: the image's, else SIGTERM */
	int stop_timeout;	 /* seconds (-1: wait for ever) */
	bool stop_timeout_set;
	const char *health_cmd; /* --health-cmd, run with /bin/sh -c */
	int64_t health_interval, health_timeout, health_start_period; /* ns, 0: default */
	int health_retries;					      /* 0: default */
	bool no_healthcheck;
	int64_t log_max_size; /* bytes, 0: never rotated */
	bool log_max_size_set;
};

extern const char run_usage[];
/* Returns the index of the image argument, -1 after an error (reported),
 * 0 after --help. */
int run_options_parse(struct run_options *o, int argc, char **argv);
void run_options_clear(struct run_options *o);

/*
 * The container's OCI config, in memory: the core's default (podman's
 * capabilities, the default seccomp profile, masked and read-only paths, a
 * network namespace of its own with nothing in it but lo) with the image's
 * Entrypoint, Cmd, Env, WorkingDir and User and the options applied.
 */
int container_config_generate(const struct husk_image *img, const struct run_options *o,
			      const char *id, const char *rootfs, json_t **ret, husk_error **err);
