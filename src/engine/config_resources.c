/* SPDX-License-Identifier: MIT */
/* Resources: linux.resources (memory, CPU, pids, device rules), the
 * process's rlimits and the devices it gets (--device, --privileged). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config_internal.h"
#include "spec.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define MAX_DEVICE_DEPTH 8

/* Whether the kernel accounts swap per cgroup (docker's default for
 * --memory-swap, twice the memory, needs it): v1's memory.memsw files, or
 * v2's memory.swap.max in our own cgroup. */
static bool swap_accounting(void)
{
	struct statfs fs;
	char line[512];
	FILE *f;
	bool found = false;

	if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
		return true;
	if (statfs("/sys/fs/cgroup", &fs) < 0 || fs.f_type != CGROUP2_SUPER_MAGIC)
		return false;
	f = fopen("/proc/self/cgroup", "re");
	while (f && !found && fgets(line, sizeof(line), f)) {
		cleanup_free char *path = NULL;
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (asprintf(&path, "/sys/fs/cgroup%s/memory.swap.max", line + 3) >= 0)
			found = access(path, F_OK) == 0;
		break;
	}
	if (f)
		fclose(f);
	return found;
}

static json_t *memory_json(const struct run_resources *r)
{
	int64_t swap = r->memory_swap;

	if (r->memory == 0)
		return NULL;
	if (swap == 0 && swap_accounting())
		swap = 2 * r->memory;
	if (swap == 0)
		return json_pack("{s:I}", "limit", (json_int_t)r->memory);
	return json_pack("{s:I, s:I}", "limit", (json_int_t)r->memory, "swap", (json_int_t)swap);
}

static json_t *cpu_json(const struct run_resources *r)
{
	json_t *cpu;

	if (r->cpu_quota == 0 && r->cpu_shares == 0 && r->cpuset_cpus == NULL)
		return NULL;
	cpu = json_object();
	if (cpu == NULL)
		return NULL;
	if (r->cpu_quota) {
		json_object_set_new(cpu, "quota", json_integer(r->cpu_quota));
		json_object_set_new(cpu, "period", json_integer(r->cpu_period));
	}
	if (r->cpu_shares)
		json_object_set_new(cpu, "shares", json_integer(r->cpu_shares));
	if (r->cpuset_cpus)
		json_object_set_new(cpu, "cpus", json_string(r->cpuset_cpus));
	return cpu;
}

static int set_part(json_t *resources, const char *key, json_t *part, bool wanted, husk_error **err)
{
	if (!wanted) {
		json_decref(part);
		return 0;
	}
	if (part == NULL || json_object_set_new(resources, key, part) < 0)
		return husk_error_set(err, ENOMEM, "linux.resources.%s", key);
	return 0;
}

static int apply_limits(json_t *resources, const struct run_resources *r, husk_error **err)
{
	if (set_part(resources, "memory", memory_json(r), r->memory != 0, err) < 0 ||
	    set_part(resources, "cpu", cpu_json(r), r->cpu_quota || r->cpu_shares || r->cpuset_cpus,
		     err) < 0 ||
	    set_part(resources, "pids", json_pack("{s:I}", "limit", (json_int_t)r->pids_limit),
		     r->pids_limit != 0, err) < 0)
		return -1;
	return 0;
}

/* The core reads INT64_MIN as RLIM_INFINITY (JSON has no 2^64 - 1). */
static json_int_t rlimit_value(int64_t v)
{
	return v == -1 ? (json_int_t)INT64_MIN : (json_int_t)v;
}

static int apply_ulimits(json_t *process, const struct run_options *o, husk_error **err)
{
	json_t *rlimits = json_object_get(process, "rlimits");

	if (rlimits == NULL) {
		rlimits = json_array();
		if (rlimits == NULL || json_object_set_new(process, "rlimits", rlimits) < 0)
			return husk_error_set(err, ENOMEM, "process.rlimits");
	}
	for (size_t i = 0; i < o->n_ulimits; i++) {
		const struct run_ulimit *u = &o->ulimits[i];
		const char *type = husk_rlimit_name(u->resource);
		json_t *e, *r = json_pack("{s:s, s:I, s:I}", "type", type, "soft",
					  rlimit_value(u->soft), "hard", rlimit_value(u->hard));
		size_t k;
		if (r == NULL)
			return husk_error_set(err, ENOMEM, "process.rlimits");
		json_array_foreach (rlimits, k, e)
			if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0) {
				json_array_remove(rlimits, k);
				break;
			}
		if (json_array_append_new(rlimits, r) < 0)
			return husk_error_set(err, ENOMEM, "process.rlimits");
	}
	return 0;
}

struct device_lists {
	struct config_ctx *c;
	json_t *devices; /* linux.devices */
	json_t *rules;	 /* linux.resources.devices */
	const char *access;
};

static bool device_listed(json_t *devices, const char *path)
{
	size_t i;
	json_t *d;

	json_array_foreach (devices, i, d)
		if (strcmp(json_string_value(json_object_get(d, "path")), path) == 0)
			return true;
	return false;
}

static int add_device(struct device_lists *l, const char *host, const char *path,
		      const struct stat *st, husk_error **err)
{
	const char *type = S_ISBLK(st->st_mode) ? "b" : "c";
	json_int_t major = major(st->st_rdev), minor = minor(st->st_rdev);
	json_t *node;

	if (device_listed(l->devices, path) || config_user_mounts(l->c->o, path))
		return 0;
	/* The core allows the nodes of linux.devices rwm (as runc): a node
	 * with less is the host's, bound read-only (its mode and owner are
	 * not the container's to change), under a rule with just that. */
	if (l->access && strcmp(l->access, "rwm") != 0) {
		if (config_add_bind(l->c, path, host, true, NULL, err) < 0)
			return -1;
	} else {
		node = json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:i}", "path", path, "type", type,
				 "major", major, "minor", minor, "fileMode",
				 (int)(st->st_mode & 07777), "uid", 0, "gid", 0);
		if (json_array_append_new(l->devices, node) < 0)
			return husk_error_set(err, ENOMEM, "linux.devices");
	}
	if (l->access &&
	    json_array_append_new(l->rules, json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1,
						      "type", type, "major", major, "minor", minor,
						      "access", l->access)) < 0)
		return husk_error_set(err, ENOMEM, "linux.resources.devices");
	return 0;
}

/* Not devices of the host's to give: mounts of the container's own, and the
 * console the core binds to the container's terminal. */
static bool skipped_in_dev(const char *host_path)
{
	static const char *const skip[] = {"/dev/pts",	   "/dev/shm",	"/dev/mqueue", "/dev/fd",
					   "/dev/console", "/dev/.lxc", "/dev/.udev"};

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strcmp(host_path, skip[i]) == 0)
			return true;
	return false;
}

/* Every device under host (a directory), at the same place under ctr. */
static int add_device_tree(struct device_lists *l, const char *host, const char *ctr, int depth,
			   husk_error **err)
{
	DIR *d = opendir(host);
	struct dirent *de;
	int r = 0;

	if (d == NULL)
		return husk_error_set(err, errno, "open `%s`", host);
	while (r == 0 && (de = readdir(d)) != NULL) {
		cleanup_free char *hp = NULL, *cp = NULL;
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&hp, "%s/%s", host, de->d_name) < 0 ||
		    asprintf(&cp, "%s/%s", ctr, de->d_name) < 0) {
			r = husk_error_set(err, ENOMEM, "devices");
			break;
		}
		if (skipped_in_dev(hp) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < MAX_DEVICE_DEPTH)
			r = add_device_tree(l, hp, cp, depth + 1, err);
		else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			r = add_device(l, hp, cp, &st, err);
	}
	closedir(d);
	return r;
}

static int add_option_device(struct device_lists *l, const struct run_device *dev, husk_error **err)
{
	struct stat st;

	l->access = dev->access;
	if (stat(dev->host, &st) < 0)
		return husk_error_set(err, errno, "--device `%s`", dev->host);
	if (S_ISDIR(st.st_mode))
		return add_device_tree(l, dev->host, dev->container, 0, err);
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return husk_error_fail(err, HUSK_ERR_INVALID, "--device `%s`: not a device",
				       dev->host);
	return add_device(l, dev->host, dev->container, &st, err);
}

static int apply_devices(struct config_ctx *c, json_t *resources, husk_error **err)
{
	const struct run_options *o = c->o;
	json_t *lx = json_object_get(c->config, "linux");
	cleanup_json json_t *devices = json_array(), *rules = json_array();
	struct device_lists l = {.c = c, .devices = devices, .rules = rules};

	if (devices == NULL || rules == NULL)
		return husk_error_set(err, ENOMEM, "linux.devices");
	for (size_t i = 0; i < o->n_devices; i++)
		if (add_option_device(&l, &o->devices[i], err) < 0)
			return -1;
	if (o->security.privileged) {
		l.access = NULL; /* one rule for all, below */
		if (add_device_tree(&l, "/dev", "/dev", 0, err) < 0)
			return -1;
		json_array_clear(rules);
		json_array_append_new(rules, json_pack("{s:b, s:s}", "allow", 1, "access", "rwm"));
	}
	if (json_array_size(devices) > 0 && json_object_set(lx, "devices", devices) < 0)
		return husk_error_set(err, ENOMEM, "linux.devices");
	if (json_array_size(rules) > 0 && json_object_set(resources, "devices", rules) < 0)
		return husk_error_set(err, ENOMEM, "linux.resources.devices");
	return 0;
}

int config_apply_resources(struct config_ctx *c, husk_error **err)
{
	cleanup_json json_t *resources = json_object();
	json_t *lx = json_object_get(c->config, "linux");

	if (resources == NULL)
		return husk_error_set(err, ENOMEM, "linux.resources");
	if (apply_limits(resources, &c->o->resources, err) < 0 ||
	    apply_devices(c, resources, err) < 0 ||
	    apply_ulimits(json_object_get(c->config, "process"), c->o, err) < 0)
		return -1;
	if (json_object_size(resources) == 0)
		return 0;
	return json_object_set(lx, "resources", resources) < 0
		   ? husk_error_set(err, ENOMEM, "linux.resources")
		   : 0;
}
