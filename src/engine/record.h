/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A container's record on disk, in containers/<id>/:
 *   container.json  what it was made from (Docker's field names): written
 *                   once at creation, and by rename;
 *   config.json     its OCI config, given to the core at every start;
 *   state.json      where it is in its life (created, running, exited):
 *                   written only under the lock, by whole-file rename;
 *   health.json     its healthcheck's status and last results;
 *   lock            flock(2)ed by whoever changes the state;
 *   stop-requested  made by stop/kill: the restart policy leaves it be;
 *   ctr.log[.1]     its output, JSON lines, kept by the monitor;
 *   attach.sock     the monitor's attach socket.
 * Nothing in this file prints.
 */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "container_config.h"
#include "engine.h"

enum ctr_status {
	CTR_CREATED,
	CTR_RUNNING,
	CTR_RESTARTING, /* between an exit and the restart policy's new start */
	CTR_EXITED,
};

struct ctr_state {
	enum ctr_status status;
	pid_t pid; /* the init, while running */
	unsigned long long pid_start;
	pid_t monitor_pid; /* while running or restarting */
	unsigned long long monitor_start;
	int exit_code;
	bool oom_killed;
	char *started_at, *finished_at; /* RFC 3339 with nanoseconds, or NULL */
	int restart_count;
	char *error; /* why it is not running, when husk knows */
};

void ctr_state_clear(struct ctr_state *s);

struct ctr {
	char id[65];
	char *dir;
	json_t *doc; /* container.json */
	struct ctr_state st;
	/* from doc, borrowed */
	const char *name;
	const char *image_digest;
	bool auto_remove, tty, open_stdin;
	enum restart_policy restart;
	int restart_max;
	int stop_signal, stop_timeout;
	int64_t log_max_size;
	bool has_healthcheck;
	int lock_fd; /* -1 unless locked */
	/* its image and its OCI config (config.json), kept from ctr_create()
	 * for the first start (NULL: read when needed) */
	struct husk_image *img;
	json_t *config;
};

void ctr_free(struct ctr *c);
static inline void ctr_freep(struct ctr **c)
{
	ctr_free(*c);
}
#define cleanup_ctr __attribute__((cleanup(ctr_freep)))

/* "2026-12-02T18:11:58.123456789Z", now. */
void rfc3339_now(char buf[64]);

/* Finds a container by name, full id or unique id prefix (NOT_FOUND,
 * or INVALID when a prefix is ambiguous), and reads its record. */
int ctr_lookup(const struct engine *e, const char *ref, struct ctr **ret, husk_error **err);
/* fn is called on the first container ctr_lookup finds from now on (then
 * forgotten), before it returns it: a command that joins the namespaces of
 * the container it names (rootless.h). Its failure is the lookup's. */
void ctr_lookup_first_hook(int (*fn)(const struct ctr *c, husk_error **err));
/* Reads containers/<id>. */
int ctr_load(const struct engine *e, const char *id, struct ctr **ret, husk_error **err);
/* Every container (sorted by creation, newest first); broken records are skipped. */
int ctr_list(const struct engine *e, struct ctr ***ret, size_t *ret_n, husk_error **err);
void ctr_list_free(struct ctr **list, size_t n);

/* The lock: blocking flock on containers/<id>/lock. State writes need it. */
int ctr_lock(struct ctr *c, husk_error **err);
void ctr_unlock(struct ctr *c);
/* Re-reads state.json (after taking the lock). */
int ctr_reload_state(struct ctr *c, husk_error **err);
int ctr_save_state(struct ctr *c, husk_error **err);
int ctr_save_doc(struct ctr *c, husk_error **err);

/* Where it is, truly: the recorded status checked against the processes. A
 * running container whose monitor is gone is "running" while its init lives
 * (unmonitored) and "exited" once that is gone too. */
enum ctr_status ctr_status_now(const struct ctr *c, bool *ret_monitor_alive);
const char *ctr_status_name(enum ctr_status s);
/* Whether pid still is the process that started at start, and not a
 * zombie (whose parent was killed, and which some inits never reap). */
bool process_alive(pid_t pid, unsigned long long start);

/* A file of the container's dir: marker files. */
int ctr_mark(const struct ctr *c, const char *name, bool on, husk_error **err);
bool ctr_marked(const struct ctr *c, const char *name);
