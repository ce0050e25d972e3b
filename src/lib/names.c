/* SPDX-License-Identifier: MIT */
/* Name tables: namespaces, capabilities, rlimits and signals. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "signals.h"
#include "spec.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int flag;
} ns_table[HUSK_NS_COUNT] = {
    [HUSK_NS_MOUNT] = {"mount", CLONE_NEWNS},	    [HUSK_NS_UTS] = {"uts", CLONE_NEWUTS},
    [HUSK_NS_IPC] = {"ipc", CLONE_NEWIPC},	    [HUSK_NS_PID] = {"pid", CLONE_NEWPID},
    [HUSK_NS_NET] = {"network", CLONE_NEWNET},	    [HUSK_NS_USER] = {"user", CLONE_NEWUSER},
    [HUSK_NS_CGROUP] = {"cgroup", CLONE_NEWCGROUP}, [HUSK_NS_TIME] = {"time", CLONE_NEWTIME},
};

const char *husk_ns_name(enum husk_ns_type t)
{
	return (unsigned)t < HUSK_NS_COUNT ? ns_table[t].name : NULL;
}

int husk_ns_from_name(const char *name)
{
	for (int i = 0; i < HUSK_NS_COUNT; i++)
		if (strcmp(ns_table[i].name, name) == 0)
			return i;
	return -1;
}

int husk_ns_clone_flag(enum husk_ns_type t)
{
	return (unsigned)t < HUSK_NS_COUNT ? ns_table[t].flag : 0;
}

/* Capability numbers are the kernel's ABI (linux/capability.h). */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int husk_cap_last(void)
{
	return (int)ARRAY_SIZE(cap_names) - 1;
}

int husk_cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcasecmp(cap_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *husk_cap_name(int cap)
{
	return cap >= 0 && cap <= husk_cap_last() ? cap_names[cap] : NULL;
}

static const struct {
	const char *name;
	int resource;
} rlimit_table[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},		  {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},	  {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},	  {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},	  {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},	  {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},	  {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},	  {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int husk_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++)
		if (strcmp(rlimit_table[i].name, name) == 0)
			return rlimit_table[i].resource;
	return -1;
}

const char *husk_rlimit_name(int resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++)
		if (rlimit_table[i].resource == resource)
			return rlimit_table[i].name;
	return "RLIMIT_?";
}

static const struct {
	const char *name;
	int sig;
} signal_table[] = {
    {"HUP", SIGHUP},	   {"INT", SIGINT},	{"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},	   {"ABRT", SIGABRT},	{"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},	   {"KILL", SIGKILL},	{"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},	   {"PIPE", SIGPIPE},	{"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},	{"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP},	   {"TSTP", SIGTSTP},	{"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},	   {"XCPU", SIGXCPU},	{"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},	   {"WINCH", SIGWINCH}, {"IO", SIGIO},	   {"POLL", SIGPOLL},
    {"PWR", SIGPWR},	   {"SYS", SIGSYS},
};

int husk_signal_parse(const char *s, int *ret)
{
	int64_t n;
	const char *name = s;
	int base, off = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (parse_int64(s, 1, SIGRTMAX, &n) == 0) {
		*ret = (int)n;
		return 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signal_table); i++)
		if (strcasecmp(signal_table[i].name, name) == 0) {
			*ret = signal_table[i].sig;
			return 0;
		}
	/* RTMIN, RTMIN+N, RTMAX, RTMAX-N */
	if (strncasecmp(name, "RTMIN", 5) == 0) {
		base = SIGRTMIN;
		name += 5;
		if (*name == '+' && parse_int64(name + 1, 0, SIGRTMAX - SIGRTMIN, &n) == 0)
			off = (int)n;
		else if (*name != '\0')
			return -EINVAL;
	} else if (strncasecmp(name, "RTMAX", 5) == 0) {
		base = SIGRTMAX;
		name += 5;
		if (*name == '-' && parse_int64(name + 1, 0, SIGRTMAX - SIGRTMIN, &n) == 0)
			off = -(int)n;
		else if (*name != '\0')
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	*ret = base + off;
	return 0;
}

const char *husk_signal_name(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(signal_table); i++)
		if (signal_table[i].sig == sig)
			return signal_table[i].name;
	return NULL;
}
