/* SPDX-License-Identifier: MIT */
/* The default seccomp profile: in effect Docker's. An allow-list, so that a
 * syscall newer than the list fails with EPERM; the rules a capability makes
 * safe are added when the container keeps that capability, and the rules
 * that depend on the architecture or kernel are chosen for this host, as
 * Docker does when it turns its profile into a runtime-spec one. */
#define _GNU_SOURCE
/* This library's seccomp.h, and through it libseccomp's (see there). */
#include <seccomp.h>

#include "seccomp_filter.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "util.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define CAP(c)		      (1ULL << (c))
#define KERNEL_VERSION(a, b)  (((a) << 16) | ((b) << 8))
#define NAMES(...)	      ((const char *const[]){__VA_ARGS__, NULL})
#define ARG(index, value, op) (&(const struct profile_arg){(index), (value), (op)})

/* Clone flags that create namespaces; without CAP_SYS_ADMIN clone must leave
 * them all clear. */
#define CLONE_NAMESPACE_FLAGS 0x7E020000ULL
#define AF_VSOCK_FAMILY	      40

/* Host architectures, as Docker's includes/excludes name them. */
enum {
	HOST_AMD64 = 1 << 0,
	HOST_X32 = 1 << 1,
	HOST_X86 = 1 << 2,
	HOST_ARM64 = 1 << 3,
	HOST_ARM = 1 << 4,
	HOST_S390 = 1 << 5, /* s390 and s390x */
	HOST_PPC64LE = 1 << 6,
	HOST_RISCV64 = 1 << 7,
};

struct profile_arg {
	unsigned int index;
	uint64_t value;
	const char *op;
};

struct profile_rule {
	const char *const *names;
	const char *action;	       /* NULL: SCMP_ACT_ALLOW */
	int errno_ret;		       /* for SCMP_ACT_ERRNO */
	const struct profile_arg *arg; /* NULL: whatever the arguments */
	uint64_t caps;		       /* only with all of these capabilities */
	uint64_t not_caps;	       /* not with any of these */
	unsigned int arches;	       /* only on these hosts; 0: any */
	unsigned int not_arches;
	unsigned int min_kernel;
};

/* clang-format off */
static const char *const always_allowed[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
	"capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
	"clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
	"clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
	"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
	"eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
	"fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
	"fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
	"futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
	"getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
	"geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
	"getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
	"getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
	"getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
	"inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
	"io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
	"io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule",
	"landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
	"link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
	"memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
	"mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
	"mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
	"munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
	"open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
	"pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
	"pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
	"readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
	"remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
	"rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
	"rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
	"rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
	"sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
	"semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
	"sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
	"setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
	"setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
	"setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
	"setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
	"shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
	"sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64",
	"statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
	"sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun",
	"timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
	"timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
	"tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink", "unlinkat",
	"utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
	"waitpid", "write", "writev", NULL
};
/* clang-format on */

static const struct profile_rule profile_rules[] = {
    {.names = always_allowed},
    /* Before 4.8 ptrace could bypass seccomp. */
    {.names = NAMES("process_vm_readv", "process_vm_writev", "ptrace"),
     .min_kernel = KERNEL_VERSION(4, 8)},
    /* vsock reaches the host, past network namespaces. */
    {.names = NAMES("socket"), .arg = ARG(0, AF_VSOCK_FAMILY, "SCMP_CMP_NE")},
    /* personality: PER_LINUX, UNAME26, PER_LINUX32 and their mix, and the query. */
    {.names = NAMES("personality"), .arg = ARG(0, 0x0, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), .arg = ARG(0, 0x8, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), .arg = ARG(0, 0x20000, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), .arg = ARG(0, 0x20008, "SCMP_CMP_EQ")},
    {.names = NAMES("personality"), .arg = ARG(0, 0xffffffff, "SCMP_CMP_EQ")},
    {.names = NAMES("sync_file_range2", "swapcontext"), .arches = HOST_PPC64LE},
    {.names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
		    "cacheflush", "set_tls"),
     .arches = HOST_ARM | HOST_ARM64},
    {.names = NAMES("arch_prctl"), .arches = HOST_AMD64 | HOST_X32},
    {.names = NAMES("modify_ldt"), .arches = HOST_AMD64 | HOST_X32 | HOST_X86},
    {.names = NAMES("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
     .arches = HOST_S390},
    {.names = NAMES("riscv_flush_icache"), .arches = HOST_RISCV64},
    {.names = NAMES("open_by_handle_at"), .caps = CAP(CAP_DAC_READ_SEARCH)},
    {.names = NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
		    "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
		    "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
		    "setns", "syslog", "umount", "umount2", "unshare"),
     .caps = CAP(CAP_SYS_ADMIN)},
    {.names = NAMES("clone"),
     .arg = ARG(0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"),
     .not_caps = CAP(CAP_SYS_ADMIN),
     .not_arches = HOST_S390},
    /* s390 passes the clone flags second. */
    {.names = NAMES("clone"),
     .arg = ARG(1, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ"),
     .not_caps = CAP(CAP_SYS_ADMIN),
     .arches = HOST_S390},
    /* Its flags are behind a pointer seccomp cannot read: ENOSYS makes the C
     * libraries fall back to clone, whose flags it can. */
    {.names = NAMES("clone3"),
     .action = "SCMP_ACT_ERRNO",
     .errno_ret = ENOSYS,
     .not_caps = CAP(CAP_SYS_ADMIN)},
    {.names = NAMES("reboot"), .caps = CAP(CAP_SYS_BOOT)},
    {.names = NAMES("chroot"), .caps = CAP(CAP_SYS_CHROOT)},
    {.names = NAMES("delete_module", "init_module", "finit_module"), .caps = CAP(CAP_SYS_MODULE)},
    {.names = NAMES("acct"), .caps = CAP(CAP_SYS_PACCT)},
    {.names = NAMES("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
		    "process_vm_writev", "ptrace"),
     .caps = CAP(CAP_SYS_PTRACE)},
    {.names = NAMES("iopl", "ioperm"), .caps = CAP(CAP_SYS_RAWIO)},
    {.names = NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"),
     .caps = CAP(CAP_SYS_TIME)},
    {.names = NAMES("vhangup"), .caps = CAP(CAP_SYS_TTY_CONFIG)},
    {.names = NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
     .caps = CAP(CAP_SYS_NICE)},
    {.names = NAMES("syslog"), .caps = CAP(CAP_SYSLOG)},
    {.names = NAMES("bpf"), .caps = CAP(CAP_BPF)},
    {.names = NAMES("perf_event_open"), .caps = CAP(CAP_PERFMON)},
};

/* The architectures a filter for this host covers: the native one and those
 * whose binaries it runs. */
static const struct {
	uint32_t native;
	unsigned int host;
	const char *arches[4];
} arch_groups[] = {
    {SCMP_ARCH_X86_64, HOST_AMD64, {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
    {SCMP_ARCH_X32, HOST_X32, {"SCMP_ARCH_X32", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
    {SCMP_ARCH_X86, HOST_X86, {"SCMP_ARCH_X86"}},
    {SCMP_ARCH_AARCH64, HOST_ARM64, {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
    {SCMP_ARCH_ARM, HOST_ARM, {"SCMP_ARCH_ARM"}},
    {SCMP_ARCH_S390X, HOST_S390, {"SCMP_ARCH_S390X", "SCMP_ARCH_S390"}},
    {SCMP_ARCH_S390, HOST_S390, {"SCMP_ARCH_S390"}},
    {SCMP_ARCH_PPC64LE, HOST_PPC64LE, {"SCMP_ARCH_PPC64LE"}},
    {SCMP_ARCH_RISCV64, HOST_RISCV64, {"SCMP_ARCH_RISCV64"}},
    {SCMP_ARCH_MIPS64, 0, {"SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}},
    {SCMP_ARCH_MIPS64N32, 0, {"SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"}},
    {SCMP_ARCH_MIPSEL64, 0, {"SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}},
    {SCMP_ARCH_MIPSEL64N32, 0, {"SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"}},
};

struct host {
	int group; /* index in arch_groups; -1: only the native architecture */
	unsigned int arch;
	unsigned int kernel; /* KERNEL_VERSION() */
};

static unsigned int kernel_version(void)
{
	struct utsname u;
	unsigned int major, minor;

	/* An unreadable version counts as old: fail closed. */
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return KERNEL_VERSION(major, minor);
}

static struct host host_detect(void)
{
	struct host h = {.group = -1, .kernel = kernel_version()};
	uint32_t native = seccomp_arch_native();

	for (size_t i = 0; i < ARRAY_SIZE(arch_groups); i++) {
		if (arch_groups[i].native == native) {
			h.group = (int)i;
			h.arch = arch_groups[i].host;
		}
	}
	return h;
}

static bool rule_applies(const struct profile_rule *r, uint64_t caps, const struct host *h)
{
	return (caps & r->caps) == r->caps && (caps & r->not_caps) == 0 &&
	       (r->arches == 0 || (r->arches & h->arch) != 0) && (r->not_arches & h->arch) == 0 &&
	       h->kernel >= r->min_kernel;
}

static json_t *strv_to_json(const char *const *v)
{
	json_t *a = json_array();

	for (; a != NULL && *v != NULL; v++) {
		if (json_array_append_new(a, json_string(*v)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *rule_to_json(const struct profile_rule *r)
{
	json_t *o = json_pack("{s:o, s:s}", "names", strv_to_json(r->names), "action",
			      r->action ? r->action : "SCMP_ACT_ALLOW");

	if (o != NULL && r->errno_ret != 0 &&
	    json_object_set_new(o, "errnoRet", json_integer(r->errno_ret)) < 0)
		goto fail;
	if (o != NULL && r->arg != NULL &&
	    json_object_set_new(o, "args",
				json_pack("[{s:i, s:I, s:s}]", "index", r->arg->index, "value",
					  (json_int_t)r->arg->value, "op", r->arg->op)) < 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *architectures_to_json(const struct host *h)
{
	if (h->group < 0)
		return json_array();
	return strv_to_json(NAMES(arch_groups[h->group].arches[0], arch_groups[h->group].arches[1],
				  arch_groups[h->group].arches[2]));
}

json_t *husk_seccomp_default_profile(uint64_t caps)
{
	struct host h = host_detect();
	json_t *syscalls = json_array(), *profile;

	for (size_t i = 0; syscalls != NULL && i < ARRAY_SIZE(profile_rules); i++) {
		if (rule_applies(&profile_rules[i], caps, &h) &&
		    json_array_append_new(syscalls, rule_to_json(&profile_rules[i])) < 0) {
			json_decref(syscalls);
			return NULL;
		}
	}
	/* "o" takes the references, also when packing fails. */
	profile =
	    json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet",
		      EPERM, "architectures", architectures_to_json(&h), "syscalls", syscalls);
	return profile;
}
