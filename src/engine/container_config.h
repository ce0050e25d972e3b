/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include <husk/error.h>
#include <husk/store.h>

/* What `run` was asked for, on top of the image's config. */
struct run_options {
	bool rm, tty, interactive;
	const char *name;
	char **env; /* -e: "NAME=value", or "NAME" to take the host's value */
	const char *workdir;
	const char *hostname;
	const char *user; /* numeric uid[:gid] for now */
	const char *entrypoint;
	bool entrypoint_set; /* --entrypoint "" clears the image's */
	char **args;	     /* the command after the image, may be empty */
};

/*
 * The container's OCI config, in memory: the core's default (podman's
 * capabilities, the default seccomp profile, masked and read-only paths, a
 * network namespace of its own with nothing in it but lo) with the image's
 * Entrypoint, Cmd, Env, WorkingDir and User and the options applied.
 */
int container_config_generate(const struct husk_image *img, const struct run_options *o,
			      const char *id, const char *rootfs, json_t **ret, husk_error **err);
