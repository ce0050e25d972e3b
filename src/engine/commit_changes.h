/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>

#include <husk/error.h>

/*
 * `commit -c`: Dockerfile instructions applied to an image's "config"
 * object (Docker's field names): CMD, ENTRYPOINT (JSON or shell form; an
 * ENTRYPOINT clears the Cmd unless a CMD is given too, as in a Dockerfile),
 * ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR. Checks them all
 * before changing anything: on failure config is as it was.
 */
int commit_apply_changes(json_t *config, char *const *changes, husk_error **err);
