/* SPDX-License-Identifier: MIT */
/*
 * A running container's netns named for ip-netns(8) users (`husk network
 * netns CONTAINER [NAME]`): /proc/PID/ns/net bound on /run/netns/NAME, as
 * `ip netns attach` does, the name recorded in its endpoint first, so
 * that the teardown of its network (its exit, rm, a reclaim after a kill)
 * removes it. And the netns's path for inspect (SandboxKey).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

#define NETNS_RUN_DIR "/run/netns"

/* The file of a recorded name (checked again: the endpoint file is data). */
static char *named_path(const char *name)
{
	static const char ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t len = name ? strlen(name) : 0;
	char *p = NULL;

	if (len == 0 || len > 64 || name[0] == '.' || strspn(name, ok) != len)
		return NULL;
	return asprintf(&p, NETNS_RUN_DIR "/%s", name) < 0 ? NULL : p;
}

/* Only the netns bound there by us (its inode recorded), or the empty
 * file a kill left before the bind (no mount on it): never what someone
 * else named so, whatever an endpoint file says. */
void net_name_remove(json_t *ep)
{
	cleanup_free char *path = named_path(json_string_value(json_object_get(ep, "NetnsName")));
	json_int_t ino = json_integer_value(json_object_get(ep, "NetnsIno"));
	struct stat st, dir;

	if (path == NULL || stat(path, &st) < 0 || stat(NETNS_RUN_DIR, &dir) < 0)
		return;
	if (ino ? (json_int_t)st.st_ino != ino : st.st_dev != dir.st_dev)
		return;
	umount2(path, MNT_DETACH);
	unlink(path);
}

/* Under the lock: the name recorded, the file made (never someone else's),
 * the netns bound on it. */
static int name_locked(const struct engine *e, const char *id, json_t *ep, const char *name,
		       pid_t pid, husk_error **err)
{
	cleanup_free char *path = named_path(name);
	cleanup_close int fd = -1;
	struct stat st;
	char src[64];

	if (path == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "`%s`: a netns name is 1 to 64 of [A-Za-z0-9_.-], not "
				       "starting with a dot",
				       name);
	if (json_object_get(ep, "NetnsName"))
		return husk_error_fail(err, HUSK_ERR_EXISTS, "its netns is named `%s` already",
				       json_string_value(json_object_get(ep, "NetnsName")));
	if (mkdir_p(NETNS_RUN_DIR, 0755, err) < 0)
		return -1;
	json_object_set_new(ep, "NetnsName", json_string(name));
	if (net_endpoint_save(e, id, ep, err) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0) {
		int e1 = errno;
		json_object_del(ep, "NetnsName");
		net_endpoint_save(e, id, ep, NULL);
		return e1 == EEXIST ? husk_error_fail(err, HUSK_ERR_EXISTS, "`%s` exists", path)
				    : husk_error_set(err, e1, "create `%s`", path);
	}
	snprintf(src, sizeof(src), "/proc/%d/ns/net", pid);
	if (mount(src, path, NULL, MS_BIND, NULL) < 0 || stat(path, &st) < 0) {
		int e1 = errno;
		net_name_remove(ep);
		json_object_del(ep, "NetnsName");
		net_endpoint_save(e, id, ep, NULL);
		return husk_error_set(err, e1, "bind `%s` on `%s`", src, path);
	}
	json_object_set_new(ep, "NetnsIno", json_integer((json_int_t)st.st_ino));
	return net_endpoint_save(e, id, ep, err);
}

int net_netns_name(const struct engine *e, const struct ctr *c, const char *name, pid_t pid,
		   husk_error **err)
{
	cleanup_close int lock = -1;
	cleanup_json json_t *ep = NULL;
	const char *who = c->name ? c->name : c->id;

	if (e->rt.rootless)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "network netns: rootless, " NETNS_RUN_DIR
				       " is root's; the netns is at `husk inspect`'s SandboxKey");
	if (!net_ctr_unshares_netns(c))
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "container %s has no network namespace of its own (--network %s)", who,
		    net_ctr_mode(c));
	if (pid <= 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "container %s is not running", who);
	lock = net_lock(e, err);
	if (lock < 0)
		return -1;
	ep = net_endpoint_load(e, c->id);
	/* --network none: no endpoint but for the name, which its teardown
	 * (at its exit, or a reclaim after a kill) removes with it */
	if (ep == NULL && !net_ctr_has_own_netns(c))
		ep = net_endpoint_new(c, pid);
	if (ep == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "container %s has no network attached", who);
	return name_locked(e, c->id, ep, name, pid, err);
}

char *net_sandbox_key(const struct engine *e, const struct ctr *c, json_t *ep, pid_t pid)
{
	cleanup_free char *kept = e->rt.rootless ? net_netns_path(e, c->id) : NULL;
	const char *name = json_string_value(json_object_get(ep, "NetnsName"));
	char *p = NULL;
	struct stat st;

	if (name)
		return named_path(name);
	if (kept && stat(kept, &st) == 0)
		return steal_pointer(&kept);
	if (pid > 0 && net_ctr_unshares_netns(c) && asprintf(&p, "/proc/%d/ns/net", pid) >= 0)
		return p;
	return strdup("");
}
