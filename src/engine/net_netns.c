/* SPDX-License-Identifier: MIT */
/*
 * Rootless, the init's netns cannot be reached for its set-up: the init is
 * not dumpable and its memory map was made outside the user namespace, so
 * /proc/PID/ns/net and setns(pidfd) are refused to the user namespace's
 * root. So the netns is made first, by a child of ours that binds its own
 * /proc/self/ns/net on a file (in the mount namespace all the user's husk
 * commands share), and the init joins it by that path, as podman does.
 * An endpoint naming us as its owner is saved first (under the net lock):
 * a netns file with no endpoint is a leftover, and one whose endpoint's
 * process is gone is reclaimed with it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

char *net_netns_path(const struct engine *e, const char *id)
{
	char *p = NULL;

	return asprintf(&p, "%s/net/ns/%s", e->paths.run_root, id) < 0 ? NULL : p;
}

void net_netns_remove(const struct engine *e, const char *id)
{
	cleanup_free char *path = net_netns_path(e, id);

	if (path == NULL)
		return;
	umount2(path, MNT_DETACH);
	unlink(path);
}

int net_netns_open(const struct engine *e, const char *id)
{
	cleanup_free char *path = net_netns_path(e, id);

	return path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
}

/* The endpoint that owns the netns until the container's is saved: ours,
 * while we start it. */
static int owner_save(const struct engine *e, const char *id, husk_error **err)
{
	unsigned long long start = 0;
	cleanup_json json_t *ep = NULL;

	proc_start_time(getpid(), &start);
	ep = json_pack("{s:s, s:I, s:I, s:{}, s:[]}", "Id", id, "Pid", (json_int_t)getpid(),
		       "PidStart", (json_int_t)start, "Networks", "Ports");
	if (ep == NULL)
		return husk_error_set(err, ENOMEM, "endpoint");
	return net_endpoint_save(e, id, ep, err);
}

int net_netns_bind_new(const char *path, husk_error **err)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int status = 0;
	pid_t child;

	if (fd < 0)
		return husk_error_set(err, errno, "create `%s`", path);
	child = fork();
	if (child < 0) {
		unlink(path);
		return husk_error_set(err, errno, "fork");
	}
	if (child == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		_exit(mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0 ? 2 : 0);
	}
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		unlink(path);
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "cannot make a network namespace (%s)",
				       WIFEXITED(status) && WEXITSTATUS(status) == 1 ? "unshare"
										     : "bind it");
	}
	return 0;
}

int net_netns_make(const struct engine *e, const char *id, char **ret, husk_error **err)
{
	cleanup_free char *path = net_netns_path(e, id), *dir = NULL;
	cleanup_close int lock = -1;

	if (path == NULL || asprintf(&dir, "%s/net/ns", e->paths.run_root) < 0)
		return husk_error_set(err, ENOMEM, "netns");
	lock = net_lock(e, err);
	if (lock < 0)
		return -1;
	/* a crash's leftovers */
	net_teardown_locked(e, id, true);
	net_netns_remove(e, id);
	if (owner_save(e, id, err) < 0 || mkdir_p(dir, 0700, err) < 0 ||
	    net_netns_bind_new(path, err) < 0)
		return -1;
	*ret = steal_pointer(&path);
	return 0;
}

void net_netns_orphans_remove(const struct engine *e)
{
	cleanup_free char *dir = NULL;
	cleanup_dir DIR *d = NULL;
	struct dirent *de;

	if (asprintf(&dir, "%s/net/ns", e->paths.run_root) < 0 || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		cleanup_json json_t *ep = NULL;
		if (de->d_name[0] == '.')
			continue;
		ep = net_endpoint_load(e, de->d_name);
		if (ep == NULL)
			net_netns_remove(e, de->d_name);
	}
}
