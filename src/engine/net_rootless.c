/* SPDX-License-Identifier: MIT */
/*
 * Rootless user-defined networks, as podman 5 has them: one network
 * namespace per user, the "rootless netns", bound on
 * <run_root>/net/rootless-netns (in the mount namespace all the user's husk
 * commands share), connected to the outside by a pasta of its own
 * (--config-net: the host's addresses and routes, its traffic the host's
 * sockets). In it, the code root uses: a bridge per network, a veth per
 * container, the address allocator, nftables' masquerade and DNAT. That
 * code runs in a thread that joined it: setns(CLONE_NEWNET) is per
 * thread, and the process itself could not come back to the host's netns
 * (owned by the initial user namespace, not ours).
 *
 * Its pasta's pid and start time are recorded in
 * <run_root>/net/rootless-netns.json right after its fork, and Ready once
 * it is: a record not ready, or whose pasta is gone, is undone (the pasta
 * ended, the file unmounted) and the netns made again by the next command
 * that needs it. `network rm`, `network prune` and `system prune` remove it
 * when no endpoint has a network in it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

#define RECORD "rootless-netns.json"

char *net_rootless_path(const struct engine *e)
{
	char *p = NULL;

	return asprintf(&p, "%s/net/rootless-netns", e->paths.run_root) < 0 ? NULL : p;
}

static json_t *record_load(const struct engine *e)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/net/" RECORD, e->paths.run_root) < 0)
		return NULL;
	return json_load_file(path, 0, NULL);
}

static int record_save(const struct engine *e, json_t *rec, husk_error **err)
{
	cleanup_free char *dir = NULL, *text = json_dumps(rec, JSON_COMPACT);
	cleanup_close int dirfd = -1;

	if (text == NULL || asprintf(&dir, "%s/net", e->paths.run_root) < 0)
		return husk_error_set(err, ENOMEM, "rootless netns");
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dirfd, RECORD, text, strlen(text), 0600, err);
}

static bool pasta_alive(json_t *rec)
{
	json_int_t pid = json_integer_value(json_object_get(rec, "Pasta"));
	json_int_t start = json_integer_value(json_object_get(rec, "PastaStart"));

	return pid > 0 && process_alive((pid_t)pid, (unsigned long long)start);
}

/* Its pasta ended (by its recorded pid and start time), its file
 * unmounted and removed, its record last: a kill in between leaves what
 * the next undo finds. */
static void rootless_undo(const struct engine *e)
{
	cleanup_json json_t *rec = record_load(e);
	cleanup_free char *path = net_rootless_path(e), *record = NULL;

	if (rec && pasta_alive(rec)) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(rec, "Pasta"));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0); /* ECHILD at once unless ours */
	}
	if (path) {
		umount2(path, MNT_DETACH);
		unlink(path);
	}
	if (asprintf(&record, "%s/net/" RECORD, e->paths.run_root) >= 0)
		unlink(record);
}

static bool rootless_ready(const struct engine *e)
{
	cleanup_json json_t *rec = record_load(e);
	cleanup_free char *path = net_rootless_path(e);
	cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	return fd >= 0 && json_is_true(json_object_get(rec, "Ready")) && pasta_alive(rec);
}

static int pasta_record(void *arg, pid_t pid, husk_error **err)
{
	const struct engine *e = arg;
	unsigned long long start = 0;
	cleanup_json json_t *rec = NULL;

	proc_start_time(pid, &start);
	rec = json_pack("{s:I, s:I, s:b}", "Pasta", (json_int_t)pid, "PastaStart",
			(json_int_t)start, "Ready", false);
	return rec ? record_save(e, rec, err) : husk_error_set(err, ENOMEM, "rootless netns");
}

static int rootless_make(const struct engine *e, husk_error **err)
{
	cleanup_free char *path = net_rootless_path(e), *pidfile = NULL;
	cleanup_json json_t *rec = NULL;
	struct net_pasta_plan p = {
	    .config_net = true, .record = pasta_record, .record_arg = (void *)e};
	pid_t pasta = 0;

	if (path == NULL ||
	    asprintf(&pidfile, "%s/net/pasta-rootless-netns.pid", e->paths.run_root) < 0)
		return husk_error_set(err, ENOMEM, "rootless netns");
	if (net_netns_bind_new(path, err) < 0)
		return -1;
	p.netns = path;
	p.pidfile = pidfile;
	if (net_pasta_spawn(&p, &pasta, err) < 0) {
		rootless_undo(e);
		return -1;
	}
	rec = record_load(e);
	if (rec == NULL || json_object_set_new(rec, "Ready", json_true()) < 0 ||
	    record_save(e, rec, err) < 0) {
		rootless_undo(e);
		return rec ? -1 : husk_error_set(err, EIO, "the rootless netns's record is gone");
	}
	return 0;
}

int net_rootless_ensure(const struct engine *e, husk_error **err)
{
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return husk_error_set(err, errno,
				      "rootless networks need /dev/net/tun (open to users: "
				      "mode 0666)");
	if (rootless_ready(e))
		return 0;
	rootless_undo(e);
	if (rootless_make(e, err) < 0)
		return husk_error_wrap(err, "rootless network namespace");
	return 0;
}

static bool endpoints_use_networks(const struct engine *e)
{
	cleanup_strv char **ids = NULL;

	if (net_endpoint_ids(e, &ids, NULL) < 0)
		return true; /* not known: kept */
	for (size_t i = 0; ids[i]; i++) {
		cleanup_json json_t *ep = net_endpoint_load(e, ids[i]);
		if (json_object_size(json_object_get(ep, "Networks")) > 0)
			return true;
	}
	return false;
}

void net_rootless_remove_unused(const struct engine *e)
{
	if (e->rt.rootless && !endpoints_use_networks(e))
		rootless_undo(e);
}

int net_rootless_prune(const struct engine *e, husk_error **err)
{
	cleanup_close int lock = -1;

	if (!e->rt.rootless)
		return 0;
	lock = net_lock(e, err);
	if (lock < 0)
		return -1;
	net_rootless_remove_unused(e);
	return 0;
}

struct in_netns {
	int nsfd;
	int (*fn)(void *arg, husk_error **err);
	void *arg;
	husk_error *err;
	int r;
};

static void *in_netns_main(void *arg)
{
	struct in_netns *t = arg;

	if (setns(t->nsfd, CLONE_NEWNET) < 0)
		t->r = husk_error_set(&t->err, errno, "join the rootless network namespace");
	else
		t->r = t->fn(t->arg, &t->err);
	return NULL;
}

int net_rootless_run(const struct engine *e, bool needed, int (*fn)(void *arg, husk_error **err),
		     void *arg, husk_error **err)
{
	cleanup_free char *path = net_rootless_path(e);
	cleanup_close int nsfd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	struct in_netns t = {.nsfd = nsfd, .fn = fn, .arg = arg};
	pthread_t thread;
	int r;

	if (nsfd < 0)
		return needed ? husk_error_set(err, errno, "open the rootless network namespace")
			      : 1;
	r = pthread_create(&thread, NULL, in_netns_main, &t);
	if (r != 0)
		return husk_error_set(err, r, "pthread_create");
	pthread_join(thread, NULL);
	if (t.err && err)
		*err = t.err;
	else
		husk_error_free(&t.err);
	return t.r;
}
