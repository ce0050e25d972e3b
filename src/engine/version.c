/* SPDX-License-Identifier: MIT */
/* husk version */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "config.h"
#include "engine.h"

/* The OCI (Go) name of the machine's architecture. */
static const char *oci_arch(const char *machine)
{
	if (strcmp(machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(machine, "aarch64") == 0)
		return "arm64";
	return machine;
}

int cmd_version(struct engine *e, int argc, char **argv)
{
	struct utsname u;

	(void)e;
	if (argc > 1) {
		engine_error("version: unexpected argument `%s`", argv[1]);
		return EXIT_ENGINE;
	}
	printf("husk version %s\n", HUSK_VERSION);
	if (uname(&u) == 0)
		printf("OS/Arch: linux/%s\nKernel:  %s\n", oci_arch(u.machine), u.release);
	return 0;
}
