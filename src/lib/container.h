/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The container lifecycle, as the OCI runtime spec defines it: create, start,
 * state, kill, delete (and run = create + start + wait + delete). The engine
 * calls these directly; the runtime CLI is a thin layer over them.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct husk_exe_guard;

struct husk_runtime {
	const char *root; /* state directory root */
	/* Where compiled seccomp filters are kept (seccomp_cache.h); NULL: nowhere. */
	const char *seccomp_cache;
	bool rootless; /* not root: user namespace, no cgroup unless delegated */
	bool systemd_cgroup;
	/* Called with one-line warnings (e.g. "running without cgroup limits"). */
	void (*warn)(const char *msg);
	/* CVE-2019-5736 (selfexe.h), prepared once: without it no container
	 * can be created or exec'd into. */
	const struct husk_exe_guard *exe_guard;
};

struct husk_create_opts {
	const char *id;
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool no_new_keyring;
	int preserve_fds;
	bool detach; /* run: return once the process is started */
};

int husk_container_create(const struct husk_runtime *rt, struct husk_spec *spec,
			  const struct husk_create_opts *o, husk_error **err);
/* create + start, then (unless detached) wait, delete, and return the exit
 * status in *ret_status (128 + signal when killed). */
int husk_container_run(const struct husk_runtime *rt, struct husk_spec *spec,
		       const struct husk_create_opts *o, int *ret_status, husk_error **err);
int husk_container_start(const struct husk_runtime *rt, const char *id, husk_error **err);
int husk_container_state(const struct husk_runtime *rt, const char *id, json_t **ret,
			 husk_error **err);
int husk_container_kill(const struct husk_runtime *rt, const char *id, int sig, bool all,
			husk_error **err);
int husk_container_delete(const struct husk_runtime *rt, const char *id, bool force,
			  husk_error **err);
/* An array of state objects (with "created" and "owner" added). */
int husk_container_list(const struct husk_runtime *rt, json_t **ret, husk_error **err);

struct husk_exec_opts {
	const char *console_socket;
	const char *pid_file;
	bool detach;
	int preserve_fds;
	bool ignore_paused;
};

/* A copy of the container's own process object, to build an exec from. */
int husk_container_saved_process(const struct husk_runtime *rt, const char *id, json_t **ret,
				 husk_error **err);
/* Runs `process` (a runtime-spec process object) in the container: every
 * namespace of its init, its cgroup, and the process's user, capabilities,
 * no_new_privs, rlimits and the container's seccomp profile. Unless
 * detached, waits and returns the exit status (128 + signal when killed). */
int husk_container_exec(const struct husk_runtime *rt, const char *id, json_t *process,
			const struct husk_exec_opts *o, int *ret_status, husk_error **err);

/* The pids in the container's cgroup (the init alone without a cgroup). */
int husk_container_pids(const struct husk_runtime *rt, const char *id, pid_t **ret, size_t *ret_n,
			husk_error **err);
int husk_container_pause(const struct husk_runtime *rt, const char *id, husk_error **err);
int husk_container_resume(const struct husk_runtime *rt, const char *id, husk_error **err);

/* Applies a linux.resources object to a running container's cgroup. */
int husk_container_update(const struct husk_runtime *rt, const char *id, json_t *resources,
			  husk_error **err);
/* One runc-style event: {"type": "stats", "id", "data": {...}}. */
int husk_container_stats(const struct husk_runtime *rt, const char *id, json_t **ret,
			 husk_error **err);
/* The container's OOM kill count so far. */
int husk_container_oom_count(const struct husk_runtime *rt, const char *id, uint64_t *ret,
			     husk_error **err);
