/* SPDX-License-Identifier: MIT */
/*
 * sec-attack: what a hostile image would try, one system call per verb, for
 * tests/integration/security.bats. Built static and copied into the rootfs.
 *
 *   sec-attack VERB [ARGS...]
 *
 * Prints one line, "LABEL: OK[ detail]" or "LABEL: ENAME (message)", where
 * LABEL is VERB and its first argument if any ("open /proc/sys/x"), and exits
 * 0 on success, 1 when the kernel refused, 2 on a usage error.
 *
 * Every verb is chosen so that it changes nothing on the host even when it is
 * allowed (the privileged runs prove the test can fail): invalid arguments
 * that are checked after the permission check, files opened for writing but
 * never written, keys in the process keyring, a probe in a child process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define X32_BIT 0x40000000L
/* i386 numbers for the int $0x80 probes. */
#define I386_KEYCTL  288
#define I386_UNSHARE 310

static const char *verb;
static char label[512];
static char detail[4200];

static int report(long r)
{
	int e = errno;

	if (r >= 0) {
		printf("%s: OK%s\n", label, detail);
		return 0;
	}
	printf("%s: %s (%s)\n", label, strerrorname_np(e) ? strerrorname_np(e) : "E?", strerror(e));
	return 1;
}

/* int $0x80 from a 64-bit process: the i386 table, AUDIT_ARCH_I386 for seccomp. */
static long int80(long nr, long a1, long a2, long a3)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a1), "c"(a2), "d"(a3) : "memory");
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* Runs fn in a child so that namespaces it makes die with it. */
static long in_child(long (*fn)(long), long arg)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		long r = fn(arg);
		_exit(r < 0 ? errno : 0);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	errno = WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
	return -1;
}

static long do_unshare(long flags)
{
	return unshare((int)flags);
}
static long do_unshare_x32(long flags)
{
	return syscall(X32_BIT | SYS_unshare, flags);
}
/* A harmless i386 getpid (20): some hosts kill even an unconfined process
 * for any int $0x80, and then no i386 check can say anything. */
static long do_getpid_int80(long unused)
{
	return int80(20, 0, 0, 0) == getpid() ? 0 : (errno = EINVAL, -1);
}
static long do_unshare_int80(long flags)
{
	return int80(I386_UNSHARE, flags, 0, 0);
}

static long do_clone3_userns(long unused)
{
	struct clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	int st;

	(void)unused;
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, &st, 0);
	return pid;
}

static long shocker(void)
{
	/* CVE-2014-3519 ("shocker"): inode 2 is the root of ext4, so a handle to
	 * it opens the host's root directory from the mount the rootfs is on. */
	struct {
		struct file_handle fh;
		unsigned char bytes[8];
	} h = {.fh = {.handle_bytes = 8, .handle_type = 1}, .bytes = {2, 0, 0, 0, 0, 0, 0, 0}};
	int mfd = open("/", O_RDONLY | O_DIRECTORY);
	long fd = syscall(SYS_open_by_handle_at, mfd, &h.fh, O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		char p[64], target[4096];
		ssize_t n;
		snprintf(p, sizeof(p), "/proc/self/fd/%ld", fd);
		n = readlink(p, target, sizeof(target) - 1);
		snprintf(detail, sizeof(detail), " opened %.*s", n > 0 ? (int)n : 0, target);
	}
	return fd;
}

static long perf_open(void)
{
	struct perf_event_attr a = {.type = PERF_TYPE_SOFTWARE,
				    .size = sizeof(a),
				    .config = PERF_COUNT_SW_CPU_CLOCK,
				    .disabled = 1,
				    .exclude_kernel = 1,
				    .exclude_hv = 1};

	return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static long bpf_map(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	return syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
}

static long open_mode(const char *path, const char *how)
{
	int flags = strcmp(how, "w") == 0 ? O_WRONLY : strcmp(how, "rw") == 0 ? O_RDWR : O_RDONLY;
	/* Opened, never written: the open is where the kernel says no. */
	int fd = open(path, flags | O_NOCTTY | O_NONBLOCK);

	if (fd >= 0)
		close(fd);
	return fd;
}

static long read_some(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n >= 0)
		snprintf(detail, sizeof(detail), " %zd bytes", n);
	return n;
}

static long do_mknod(const char *path, const char *type, const char *maj, const char *min)
{
	mode_t t = type[0] == 'b' ? S_IFBLK : S_IFCHR;

	return mknod(path, t | 0600, makedev(strtoul(maj, NULL, 0), strtoul(min, NULL, 0)));
}

static long do_setns(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	return setns(fd, 0);
}

/* A socket of the given kind, closed again: only whether it may be made. */
static long open_socket(int domain, int type, int protocol)
{
	int fd = socket(domain, type | SOCK_CLOEXEC, protocol);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static long do_connect_abstract(const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || n + 1 > sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path + 1, name, n);
	return connect(fd, (struct sockaddr *)&a,
		       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
}

static long do_ptrace(pid_t pid)
{
	long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);

	if (r == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	}
	return r;
}

static int usage(void)
{
	fprintf(stderr, "sec-attack: bad arguments for `%s`\n", verb ? verb : "");
	return 2;
}

#define NEED(n)                                                                                    \
	do {                                                                                       \
		if (argc < (n) + 2)                                                                \
			return usage();                                                            \
	} while (0)

int main(int argc, char **argv)
{
	struct timespec bad = {.tv_sec = 0, .tv_nsec = -1};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	/* These attacks succeed where nothing confines them: never on the host
	 * (security.bats sets this in the container's environment only); the
	 * harmless connect-abstract is also its host-side control. */
	if (getenv("HUSK_SEC_INSIDE") == NULL && strcmp(argv[1], "connect-abstract") != 0 &&
	    strcmp(argv[1], "int80-probe") != 0) {
		fprintf(stderr, "sec-attack: refusing to run outside a test container\n");
		return 2;
	}
	verb = argv[1];
	snprintf(label, sizeof(label), "%s%s%s", verb, argc > 2 ? " " : "",
		 argc > 2 ? argv[2] : "");
	if (!strcmp(verb, "ids")) {
		snprintf(detail, sizeof(detail), " uid=%d euid=%d", (int)getuid(), (int)geteuid());
		return report(0);
	}
	if (!strcmp(verb, "mount-tmpfs")) {
		NEED(1);
		return report(mount("x", argv[2], "tmpfs", 0, NULL));
	}
	if (!strcmp(verb, "umount")) {
		NEED(1);
		return report(umount2(argv[2], MNT_DETACH));
	}
	if (!strcmp(verb, "fsopen"))
		return report(syscall(SYS_fsopen, "tmpfs", 0));
	if (!strcmp(verb, "open_tree"))
		return report(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
	if (!strcmp(verb, "unshare-user"))
		return report(in_child(do_unshare, CLONE_NEWUSER));
	if (!strcmp(verb, "unshare-mount"))
		return report(in_child(do_unshare, CLONE_NEWNS));
	if (!strcmp(verb, "unshare-user-x32"))
		return report(in_child(do_unshare_x32, CLONE_NEWUSER));
	if (!strcmp(verb, "int80-probe"))
		return report(in_child(do_getpid_int80, 0));
	if (!strcmp(verb, "unshare-user-int80"))
		return report(in_child(do_unshare_int80, CLONE_NEWUSER));
	if (!strcmp(verb, "clone3-user"))
		return report(do_clone3_userns(0));
	if (!strcmp(verb, "keyctl"))
		return report(
		    syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	if (!strcmp(verb, "keyctl-int80"))
		return report(
		    int80(I386_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
	if (!strcmp(verb, "add_key"))
		return report(
		    syscall(SYS_add_key, "user", "husk-sec", "x", 1, KEY_SPEC_PROCESS_KEYRING));
	if (!strcmp(verb, "request_key"))
		return report(syscall(SYS_request_key, "user", "husk-sec-none", NULL, 0));
	if (!strcmp(verb, "ptrace")) {
		NEED(1);
		return report(do_ptrace((pid_t)atoi(argv[2])));
	}
	if (!strcmp(verb, "process_vm_readv")) {
		NEED(1);
		char buf[8];
		struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x400000, sizeof(buf)};
		return report(syscall(SYS_process_vm_readv, atoi(argv[2]), &l, 1, &r, 1, 0));
	}
	/* More segments than KEXEC_SEGMENT_MAX: EINVAL once permitted. */
	if (!strcmp(verb, "kexec_load"))
		return report(syscall(SYS_kexec_load, 0, 1000, NULL, 0));
	if (!strcmp(verb, "kexec_file_load"))
		return report(syscall(SYS_kexec_file_load, -1, -1, 0, "", 0x80000000UL));
	/* An empty image: ENOEXEC once permitted. */
	if (!strcmp(verb, "init_module"))
		return report(syscall(SYS_init_module, NULL, 0, ""));
	if (!strcmp(verb, "finit_module"))
		return report(syscall(SYS_finit_module, -1, "", 0));
	if (!strcmp(verb, "delete_module"))
		return report(syscall(SYS_delete_module, "husk_no_such_module", O_NONBLOCK));
	if (!strcmp(verb, "bpf"))
		return report(bpf_map());
	if (!strcmp(verb, "perf_event_open"))
		return report(perf_open());
	/* No time, no zone: only the permission check runs. */
	if (!strcmp(verb, "settimeofday"))
		return report(syscall(SYS_settimeofday, NULL, NULL));
	if (!strcmp(verb, "clock_settime"))
		return report(syscall(SYS_clock_settime, CLOCK_REALTIME, &bad));
	/* An out-of-range tick: EINVAL once permitted. */
	if (!strcmp(verb, "adjtimex")) {
		struct timex t = {.modes = ADJ_TICK, .tick = 1};
		return report(adjtimex(&t));
	}
	/* A command a child pid namespace rejects with EINVAL once permitted. */
	if (!strcmp(verb, "reboot")) {
		struct stat self;
		NEED(1); /* the inode of the host's pid namespace */
		if (stat("/proc/self/ns/pid", &self) < 0 ||
		    (unsigned long)self.st_ino == strtoul(argv[2], NULL, 0)) {
			fprintf(stderr, "sec-attack: refusing reboot in the host pid namespace\n");
			return 2;
		}
		return report(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
				      LINUX_REBOOT_CMD_CAD_OFF, NULL));
	}
	if (!strcmp(verb, "swapon"))
		return report(syscall(SYS_swapon, "/husk-no-such-swap", 0));
	if (!strcmp(verb, "acct"))
		return report(syscall(SYS_acct, "/husk-no-such-acct"));
	if (!strcmp(verb, "open_by_handle_at"))
		return report(shocker());
	if (!strcmp(verb, "pivot_root"))
		return report(syscall(SYS_pivot_root, "/husk-no-such-dir", "/husk-no-such-dir"));
	if (!strcmp(verb, "setns")) {
		NEED(1);
		return report(do_setns(argv[2]));
	}
	if (!strcmp(verb, "sethostname")) {
		NEED(1);
		return report(sethostname(argv[2], strlen(argv[2])));
	}
	if (!strcmp(verb, "ioperm"))
		return report(ioperm(0x80, 1, 1));
	if (!strcmp(verb, "iopl"))
		return report(iopl(3));
	if (!strcmp(verb, "syslog"))
		return report(syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
	if (!strcmp(verb, "open")) {
		NEED(2);
		return report(open_mode(argv[2], argv[3]));
	}
	if (!strcmp(verb, "read")) {
		NEED(1);
		return report(read_some(argv[2]));
	}
	if (!strcmp(verb, "mknod")) {
		NEED(4);
		return report(do_mknod(argv[2], argv[3], argv[4], argv[5]));
	}
	if (!strcmp(verb, "kill")) {
		NEED(1);
		return report(kill((pid_t)atoi(argv[2]), SIGKILL));
	}
	/* CAP_NET_RAW: a packet socket sees every frame of the namespace */
	if (!strcmp(verb, "socket-packet"))
		return report(open_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)));
	if (!strcmp(verb, "socket-raw-icmp"))
		return report(open_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
	/* what ping uses without CAP_NET_RAW, as net.ipv4.ping_group_range allows */
	if (!strcmp(verb, "socket-icmp-echo"))
		return report(open_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
	if (!strcmp(verb, "connect-abstract")) {
		NEED(1);
		return report(do_connect_abstract(argv[2]));
	}
	return usage();
}
