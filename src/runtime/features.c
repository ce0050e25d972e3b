/* SPDX-License-Identifier: MIT */
/* The runtime-spec "features" document: what this runtime implements. */
#include <seccomp.h>

#include "cli.h"
#include "spec.h"
#include "util.h"

static json_t *all_caps(void)
{
	json_t *a = json_array();

	for (int c = 0; a && c <= husk_cap_last(); c++)
		json_array_append_new(a, json_string(husk_cap_name(c)));
	return a;
}

static json_t *namespaces(void)
{
	json_t *a = json_array();

	for (int t = 0; a && t < HUSK_NS_COUNT; t++)
		json_array_append_new(a, json_string(husk_ns_name(t)));
	return a;
}

static json_t *seccomp_features(void)
{
	return json_pack(
	    "{s:b, s:[s,s,s,s,s,s,s,s,s], s:[s,s,s,s,s,s,s], s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s], "
	    "s:[s,s,s,s,s], s:[s,s,s,s]}",
	    "enabled", 1, "actions", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
	    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
	    "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE",
	    "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
	    "archs", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
	    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
	    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
	    "SCMP_ARCH_S390X", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "knownFlags",
	    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
	    "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
	    "SECCOMP_FILTER_FLAG_NEW_LISTENER", "supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC",
	    "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
	    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
}

int cmd_features(struct cli *cli, int argc, char **argv)
{
	cleanup_json json_t *f = NULL;

	(void)cli;
	(void)argv;
	if (argc != 1)
		return 2;
	f = json_pack(
	    "{s:s, s:s, s:[s,s,s,s,s,s], s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,"
	    "s,s,s,s,s,s,s,s,s,s,s,s,s], s:{s:o, s:o, s:{s:b, s:b, s:b, s:b, s:b}, s:o, "
	    "s:{s:b}, s:{s:b}}, s:{s:s}}",
	    "ociVersionMin", "1.0.0", "ociVersionMax", "1.1.0", "hooks", "prestart",
	    "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
	    "mountOptions", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync",
	    "exec", "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec",
	    "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind",
	    "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw",
	    "shared", "silent", "slave", "strictatime", "suid", "sync", "unbindable", "tmpcopyup",
	    "nosymfollow", "linux", "namespaces", namespaces(), "capabilities", all_caps(),
	    "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0, "seccomp",
	    seccomp_features(), "apparmor", "enabled", 0, "selinux", "enabled", 0, "annotations",
	    "org.opencontainers.runtime-spec.features.runtime", "husk");
	if (f == NULL)
		return 1;
	return cli_print_json(f);
}
