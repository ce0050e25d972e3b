/* SPDX-License-Identifier: MIT */
/* CVE-2019-5736: run from a sealed in-memory copy of ourselves. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "util.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

static bool running_sealed(void)
{
	cleanup_close int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals;

	if (fd < 0)
		return false;
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

int husk_self_ensure_sealed(char **argv, husk_error **err)
{
	extern char **environ;
	cleanup_close int exe = -1, mem = -1;
	struct stat st;
	off_t off = 0;

	if (running_sealed())
		return 0;
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
