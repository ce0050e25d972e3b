/* SPDX-License-Identifier: MIT */
/*
 * CVE-2019-5736: a hostile image can make the container's first exec run the
 * runtime binary again (an entrypoint "#!/proc/self/exe"), then write to it
 * through /proc/self/exe once we exit. So the process that enters the
 * container must run from a file that cannot be written:
 *  - already on a read-only mount, nothing to do;
 *  - otherwise a detached read-only bind mount of the binary itself
 *    (open_tree + mount_setattr, Linux 5.12), re-executed with execveat: no
 *    copy, so it costs one exec;
 *  - where that is not allowed (no privilege over the mount namespace, old
 *    kernels), a sealed memfd copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container.h"
#include "util.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define HUSK_OPEN_TREE_CLONE   1
#define HUSK_MOUNT_ATTR_RDONLY 0x00000001
#define HUSK_MOUNT_ATTR_NOSUID 0x00000002
#define HUSK_MOUNT_ATTR_NODEV  0x00000004

struct husk_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool exe_is_unwritable(void)
{
	cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct statvfs sv;
	int seals;

	if (fd < 0)
		return false;
	if (fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return true;
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

static void reexec_readonly_bind(char **argv)
{
	extern char **environ;
	struct husk_mount_attr attr = {.attr_set = HUSK_MOUNT_ATTR_RDONLY | HUSK_MOUNT_ATTR_NOSUID |
						   HUSK_MOUNT_ATTR_NODEV};
	cleanup_close int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
					    HUSK_OPEN_TREE_CLONE | O_CLOEXEC);

	if (fd < 0)
		return;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return;
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
}

static int reexec_sealed_copy(char **argv, husk_error **err)
{
	extern char **environ;
	cleanup_close int exe = -1, mem = -1;
	struct stat st;
	off_t off = 0;

	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0 || fstat(exe, &st) < 0)
		return husk_error_set(err, errno, "open /proc/self/exe");
	mem = memfd_create("husk-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem < 0)
		return husk_error_set(err, errno, "memfd_create");
	while (off < st.st_size) {
		ssize_t n = sendfile(mem, exe, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return husk_error_set(err, n < 0 ? errno : EIO, "copy the runtime binary");
	}
	if (fcntl(mem, F_ADD_SEALS, SEALS) < 0)
		return husk_error_set(err, errno, "seal the runtime copy");
	fexecve(mem, argv, environ);
	return husk_error_set(err, errno, "re-execute the sealed runtime copy");
}

int husk_self_ensure_sealed(char **argv, husk_error **err)
{
	if (exe_is_unwritable())
		return 0;
	reexec_readonly_bind(argv);
	return reexec_sealed_copy(argv, err);
}
