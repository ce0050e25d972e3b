/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Container state on disk: ROOT/ID/state.json (written atomically) and, while
 * the container is created but not started, ROOT/ID/exec.sock. Mutating verbs
 * hold an exclusive flock on the ROOT/ID directory.
 */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

enum husk_status {
	HUSK_STATUS_CREATING,
	HUSK_STATUS_CREATED,
	HUSK_STATUS_RUNNING,
	HUSK_STATUS_PAUSED,
	HUSK_STATUS_STOPPED,
};
const char *husk_status_name(enum husk_status s);

struct husk_state {
	char *id;
	char *bundle;
	char *oci_version;
	pid_t pid;
	unsigned long long pid_start_time;
	char *created; /* RFC 3339 */
	char *owner;
	json_t *annotations; /* object, owned */
	json_t *config;	     /* the parts later verbs need (hooks, cgroup), owned */
	bool rootless;
	bool systemd_cgroup;
	json_t *cgroup; /* husk_cgroup_to_json(), owned */
};

/* The --root directory: /run/husk for root, $XDG_RUNTIME_DIR/husk otherwise. */
int husk_state_root_default(char **ret, husk_error **err);
/* Validates a container id: [A-Za-z0-9][A-Za-z0-9_.+-]* and at most 1024 bytes. */
int husk_id_validate(const char *id, husk_error **err);

/* Creates ROOT/ID exclusively ("container `ID` already exists"), locked. */
int husk_state_dir_create(const char *root, const char *id, int *ret_dirfd, husk_error **err);
/* Opens and locks ROOT/ID ("container `ID` does not exist"). */
int husk_state_dir_open(const char *root, const char *id, bool exclusive, int *ret_dirfd,
			husk_error **err);
int husk_state_dir_remove(const char *root, const char *id);

int husk_state_write(int dirfd, const struct husk_state *st, husk_error **err);
int husk_state_read(int dirfd, struct husk_state *ret, husk_error **err);
void husk_state_clear(struct husk_state *st);

/* Live status from the saved pid: stopped when the process is gone (or the
 * pid was reused), created while exec.sock exists, paused when frozen. */
enum husk_status husk_state_status(int dirfd, const struct husk_state *st);

/* The runtime-spec state object (ociVersion, id, status, pid, bundle,
 * annotations). */
json_t *husk_state_to_json(const struct husk_state *st, enum husk_status status);

/* Lists container ids under root (sorted). */
int husk_state_list(const char *root, char ***ret, husk_error **err);
