/* SPDX-License-Identifier: MIT */
/* linux.sysctl: which namespace each key belongs to, and the writes. */
#define _GNU_SOURCE
#include "sysctl.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* IPC namespace keys (ipc/ipc_sysctl.c); fs.mqueue.* is matched by prefix. */
static const char *const ipc_keys[] = {
    "kernel.msgmax",	  "kernel.msgmnb",	"kernel.msgmni",      "kernel.sem",
    "kernel.shmall",	  "kernel.shmmax",	"kernel.shmmni",      "kernel.shm_rmid_forced",
    "kernel.shm_next_id", "kernel.msg_next_id", "kernel.sem_next_id",
};

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "net/ipv4/conf/eth0.100/forwarding" (slashes separate, dots are part of
 * a name) and "net.ipv4.ip_forward" name keys the same way for matching. */
static char *dotted_key(const char *key)
{
	char *k = strdup(key);

	if (k != NULL && strchr(k, '/') != NULL)
		for (char *c = k; *c; c++)
			if (*c == '/')
				*c = '.';
	return k;
}

static enum husk_sysctl_class classify_dotted(const char *k)
{
	if (strcmp(k, "kernel.hostname") == 0 || strcmp(k, "kernel.domainname") == 0)
		return HUSK_SYSCTL_UTS_FIELD;
	if (has_prefix(k, "fs.mqueue."))
		return HUSK_SYSCTL_IPC;
	for (size_t i = 0; i < ARRAY_SIZE(ipc_keys); i++)
		if (strcmp(k, ipc_keys[i]) == 0)
			return HUSK_SYSCTL_IPC;
	if (has_prefix(k, "net."))
		return HUSK_SYSCTL_NET;
	return HUSK_SYSCTL_HOST;
}

enum husk_sysctl_class husk_sysctl_classify(const char *key)
{
	cleanup_free char *k = dotted_key(key);

	return k ? classify_dotted(k) : HUSK_SYSCTL_HOST;
}

static const char *ns_words(enum husk_ns_type ns)
{
	return ns == HUSK_NS_IPC ? "an IPC" : "a network";
}

static bool valid_key(const char *key)
{
	if (key[0] == '\0' || key[0] == '/' || key[0] == '.' || strstr(key, ".."))
		return false;
	for (const char *c = key; *c; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

int husk_sysctl_validate(const struct husk_spec *spec, husk_error **err)
{
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		const char *key = spec->sysctl[i].key;
		enum husk_ns_type ns;

		if (!valid_key(key))
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "linux.sysctl: invalid key `%s`", key);
		switch (husk_sysctl_classify(key)) {
		case HUSK_SYSCTL_UTS_FIELD:
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "linux.sysctl: `%s` is not allowed: set the `%s` "
					       "field instead",
					       key,
					       strstr(key, "host") ? "hostname" : "domainname");
		case HUSK_SYSCTL_HOST:
			return husk_error_fail(
			    err, HUSK_ERR_INVALID,
			    "linux.sysctl: `%s` belongs to no namespace: writing "
			    "it would change the host",
			    key);
		case HUSK_SYSCTL_IPC:
			ns = HUSK_NS_IPC;
			break;
		case HUSK_SYSCTL_NET:
		default:
			ns = HUSK_NS_NET;
			break;
		}
		if (!spec->ns[ns].enabled)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "linux.sysctl: `%s` needs %s namespace of the "
					       "container's own (linux.namespaces has none, so it "
					       "would change the host's)",
					       key, ns_words(ns));
	}
	return 0;
}

/* Whether PATH is the namespace this process is in. */
static bool is_our_namespace(const char *path, const char *ours)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat(ours, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int husk_sysctl_check_joined(const struct husk_spec *spec, husk_error **err)
{
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		enum husk_sysctl_class c = husk_sysctl_classify(spec->sysctl[i].key);
		enum husk_ns_type ns = c == HUSK_SYSCTL_IPC ? HUSK_NS_IPC : HUSK_NS_NET;
		const char *path = spec->ns[ns].path;

		if ((c != HUSK_SYSCTL_IPC && c != HUSK_SYSCTL_NET) || path == NULL)
			continue;
		if (is_our_namespace(path,
				     ns == HUSK_NS_IPC ? "/proc/self/ns/ipc" : "/proc/self/ns/net"))
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "linux.sysctl: `%s` needs %s namespace of the "
					       "container's own, and `%s` is the host's",
					       spec->sysctl[i].key, ns_words(ns), path);
	}
	return 0;
}

int husk_sysctl_apply(const struct husk_spec *spec, husk_error **err)
{
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		const char *key = spec->sysctl[i].key;
		cleanup_free char *path = NULL;

		if (asprintf(&path, "/proc/sys/%s", key) < 0)
			return husk_error_set(err, ENOMEM, "sysctl");
		if (strchr(key, '/') == NULL) /* dotted: dots separate */
			for (char *c = path + strlen("/proc/sys/"); *c; c++)
				if (*c == '.')
					*c = '/';
		if (write_file_at(AT_FDCWD, path, spec->sysctl[i].value,
				  strlen(spec->sysctl[i].value), err) < 0)
			return husk_error_wrap(err, "linux.sysctl `%s`", key);
	}
	return 0;
}
