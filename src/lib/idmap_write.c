/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "idmap_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static bool maps_only_self(const struct husk_idmap *maps, size_t n, uint32_t self)
{
	return n == 1 && maps[0].size == 1 && maps[0].host_id == self;
}

static bool direct_write_allowed(const struct husk_idmap *maps, size_t n, uint32_t self)
{
	return geteuid() == 0 || maps_only_self(maps, n, self);
}

bool husk_idmap_needs_setgroups_deny(const struct husk_spec *spec, bool rootless)
{
	return geteuid() != 0 &&
	       maps_only_self(spec->gid_mappings, spec->n_gid_mappings, getegid());
}

static int write_map(pid_t pid, const char *file, const struct husk_idmap *maps, size_t n,
		     husk_error **err)
{
	cleanup_free char *text = husk_idmap_format(maps, n);
	char path[64];

	if (text == NULL)
		return husk_error_set(err, ENOMEM, "id map");
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return write_file_at(AT_FDCWD, path, text, strlen(text), err);
}

/* newuidmap PID ID HOSTID COUNT ... */
static int run_helper(const char *helper, pid_t pid, const struct husk_idmap *maps, size_t n,
		      husk_error **err)
{
	char **argv = calloc(3 + 3 * n, sizeof(char *));
	char buf[4][16];
	int status = 0;
	pid_t child;

	if (argv == NULL)
		return husk_error_set(err, ENOMEM, "%s", helper);
	argv[0] = (char *)helper;
	snprintf(buf[0], sizeof(buf[0]), "%d", (int)pid);
	argv[1] = buf[0];
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&argv[2 + 3 * i], "%u", maps[i].container_id) < 0 ||
		    asprintf(&argv[3 + 3 * i], "%u", maps[i].host_id) < 0 ||
		    asprintf(&argv[4 + 3 * i], "%u", maps[i].size) < 0)
			break;
	}
	child = fork();
	if (child == 0) {
		execvp(helper, argv);
		_exit(127);
	}
	for (size_t i = 2; i < 2 + 3 * n; i++)
		free(argv[i]);
	free(argv);
	if (child < 0)
		return husk_error_set(err, errno, "fork %s", helper);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "%s not found: install the uidmap package to use more than "
				       "your own id in a user namespace",
				       helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_error_fail(err, HUSK_ERR_PERMISSION,
				       "%s failed (check /etc/sub%cid for this user's ranges)",
				       helper, helper[3] == 'u' ? 'u' : 'g');
	return 0;
}

int husk_idmap_write(const struct husk_spec *spec, pid_t pid, bool rootless, husk_error **err)
{
	uint32_t uid = geteuid(), gid = getegid();

	(void)rootless;
	if (direct_write_allowed(spec->uid_mappings, spec->n_uid_mappings, uid)) {
		if (write_map(pid, "uid_map", spec->uid_mappings, spec->n_uid_mappings, err) < 0)
			return husk_error_wrap(err, "linux.uidMappings");
	} else if (run_helper("newuidmap", pid, spec->uid_mappings, spec->n_uid_mappings, err) <
		   0) {
		return husk_error_wrap(err, "linux.uidMappings");
	}
	if (direct_write_allowed(spec->gid_mappings, spec->n_gid_mappings, gid)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
		if (geteuid() != 0 && write_file_at(AT_FDCWD, path, "deny", 4, err) < 0)
			return husk_error_wrap(err, "linux.gidMappings");
		if (write_map(pid, "gid_map", spec->gid_mappings, spec->n_gid_mappings, err) < 0)
			return husk_error_wrap(err, "linux.gidMappings");
	} else if (run_helper("newgidmap", pid, spec->gid_mappings, spec->n_gid_mappings, err) <
		   0) {
		return husk_error_wrap(err, "linux.gidMappings");
	}
	return 0;
}
