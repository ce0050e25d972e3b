/* SPDX-License-Identifier: MIT */
/* The default container configuration: secure unless asked otherwise. */
#define _GNU_SOURCE
#include "spec_default.h"

#include <linux/capability.h>
#include <sys/prctl.h>

#include "seccomp_filter.h"
#include "spec.h"
#include "util.h"

uint64_t husk_caps_default(void)
{
	/* podman's: Docker's without MKNOD (a block device node for the
	 * host's disk), NET_RAW (AF_PACKET and raw ICMP sockets; ping works
	 * through ping_group_range instead) and AUDIT_WRITE. */
	static const int caps[] = {CAP_CHOWN,	   CAP_DAC_OVERRIDE, CAP_FOWNER,
				   CAP_FSETID,	   CAP_KILL,	     CAP_SETGID,
				   CAP_SETUID,	   CAP_SETPCAP,	     CAP_NET_BIND_SERVICE,
				   CAP_SYS_CHROOT, CAP_SETFCAP};
	uint64_t set = 0;

	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		set |= 1ULL << caps[i];
	return set;
}

uint64_t husk_caps_all(void)
{
	uint64_t set = 0;

	/* Only what our bounding set still holds: a runtime started without
	 * (say) CAP_SYS_RESOURCE cannot grant it. */
	for (int c = 0; c <= husk_cap_last(); c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			set |= 1ULL << c;
	return set;
}

const char *const husk_default_masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};

const char *const husk_default_readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static json_t *caps_array(uint64_t set)
{
	json_t *a = json_array();

	for (int c = 0; a && c <= husk_cap_last(); c++)
		if (set & (1ULL << c))
			json_array_append_new(a, json_string(husk_cap_name(c)));
	return a;
}

static json_t *strings_array(const char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *default_process(const struct husk_spec_defaults *d, uint64_t caps)
{
	return json_pack("{s:b, s:{s:i, s:i}, s:[s], s:[s, s], s:s, s:{s:o, s:o, s:o, s:[]}, "
			 "s:[{s:s, s:i, s:i}], s:b}",
			 "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
			 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			 "TERM=xterm", "cwd", "/", "capabilities", "bounding", caps_array(caps),
			 "effective", caps_array(caps), "permitted", caps_array(caps), "ambient",
			 "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024,
			 "noNewPrivileges", !d->privileged);
}

static json_t *default_mounts(bool rootless, bool privileged)
{
	json_t *m =
	    json_pack("[{s:s, s:s, s:s}, "
		      "{s:s, s:s, s:s, s:[s, s, s, s]}, "
		      "{s:s, s:s, s:s, s:[s, s, s, s, s, s]}, "
		      "{s:s, s:s, s:s, s:[s, s, s, s, s]}, "
		      "{s:s, s:s, s:s, s:[s, s, s]}]",
		      "destination", "/proc", "type", "proc", "source", "proc", "destination",
		      "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
		      "strictatime", "mode=755", "size=65536k", "destination", "/dev/pts", "type",
		      "devpts", "source", "devpts", "options", "nosuid", "noexec", "newinstance",
		      "ptmxmode=0666", "mode=0620", rootless ? "nodev" : "gid=5", "destination",
		      "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec",
		      "nodev", "mode=1777", "size=65536k", "destination", "/dev/mqueue", "type",
		      "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev");

	if (m == NULL)
		return NULL;
	if (rootless) {
		json_array_append_new(m,
				      json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "destination",
						"/sys", "type", "none", "source", "/sys", "options",
						"rbind", "nosuid", "noexec", "nodev", "ro"));
	} else {
		/* --privileged: /sys and the cgroup tree writable, as Docker does */
		const char *access = privileged ? "rw" : "ro";
		json_array_append_new(m, json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination",
						   "/sys", "type", "sysfs", "source", "sysfs",
						   "options", "nosuid", "noexec", "nodev", access));
		json_array_append_new(
		    m, json_pack("{s:s, s:s, s:s, s:[s, s, s, s, s]}", "destination",
				 "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup", "options",
				 "nosuid", "noexec", "nodev", "relatime", access));
	}
	return m;
}

static json_t *default_namespaces(bool rootless)
{
	json_t *ns = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "ipc",
			       "type", "uts", "type", "mount", "type", "cgroup");

	if (ns == NULL)
		return NULL;
	json_array_append_new(ns, json_pack("{s:s}", "type", rootless ? "user" : "network"));
	return ns;
}

static json_t *default_linux(const struct husk_spec_defaults *d, uint64_t caps)
{
	json_t *lx = json_pack("{s:o}", "namespaces", default_namespaces(d->rootless));

	if (lx == NULL)
		return NULL;
	/* ping without NET_RAW: ICMP echo sockets for group 0, in the
	 * container's own network namespace only, as podman sets it (a gid
	 * range wider than a user namespace maps would be refused). */
	if (!d->rootless)
		json_object_set_new(lx, "sysctl",
				    json_pack("{s:s}", "net.ipv4.ping_group_range", "0 0"));
	if (d->rootless) {
		json_object_set_new(lx, "uidMappings",
				    json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
					      (json_int_t)d->uid, "size", 1));
		json_object_set_new(lx, "gidMappings",
				    json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID",
					      (json_int_t)d->gid, "size", 1));
	}
	if (!d->privileged) {
		json_object_set_new(lx, "maskedPaths", strings_array(husk_default_masked_paths));
		json_object_set_new(lx, "readonlyPaths",
				    strings_array(husk_default_readonly_paths));
		json_object_set_new(lx, "seccomp", husk_seccomp_default_profile(caps));
	}
	return lx;
}

json_t *husk_spec_default(const struct husk_spec_defaults *d)
{
	uint64_t caps = d->privileged ? husk_caps_all() : d->caps;

	return json_pack("{s:s, s:{s:s, s:b}, s:o, s:s, s:o, s:o}", "ociVersion", "1.0.2", "root",
			 "path", "rootfs", "readonly", 1, "process", default_process(d, caps),
			 "hostname", "husk", "mounts", default_mounts(d->rootless, d->privileged),
			 "linux", default_linux(d, caps));
}
