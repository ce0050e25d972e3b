/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * CVE-2019-5736: a hostile image makes the container's first exec run the
 * runtime binary again (an entrypoint "#!/proc/self/exe"), then writes to it
 * through /proc/PID/exe once the runtime has exited. So no process that
 * enters a container may have the runtime binary as its executable.
 *
 * The guard does it without an exec. The runtime (the CLI for each command,
 * an engine once at start-up) prepares it; the process that enters the
 * container, a child of the runtime, applies it before anything in the
 * container can reach it: every mapping of the binary is replaced by the
 * same pages through another mount (or by an anonymous copy of them), then
 * prctl(PR_SET_MM_MAP) points /proc/self/exe at an empty sealed memfd. An
 * exec of /proc/self/exe then fails (ENOEXEC) and nothing in the process
 * leads back to the writable binary (selfexe.c has the details).
 */

#include <stdbool.h>

#include "error.h"

struct husk_exe_guard;

/* What the guard needs, read from this process (its mappings of the binary,
 * its /proc/self/stat). Nothing is needed when the binary is on a read-only
 * mount or a sealed memfd already. exec: the guard will also serve
 * husk_container_exec, whose process has no other way to the binary's pages
 * once it has joined the container: a read-only clone of the binary is kept
 * (a mount, 0.1 ms; without it such a process copies the binary, 1 ms). An
 * unprivileged runtime cannot clone, and copies. HUSK_ERR_UNSUPPORTED: this
 * kernel cannot change /proc/self/exe (no PR_SET_MM_MAP, or no executable
 * memfd); use husk_self_ensure_sealed instead. */
int husk_exe_guard_prepare(bool exec, struct husk_exe_guard **ret, husk_error **err);
void husk_exe_guard_free(struct husk_exe_guard *g);
static inline void husk_exe_guard_freep(struct husk_exe_guard **g)
{
	husk_exe_guard_free(*g);
}
#define cleanup_exe_guard __attribute__((cleanup(husk_exe_guard_freep)))

/* In a child of the process that prepared g, single-threaded, with
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in its user namespace: from here
 * on this process and its children are not the runtime binary. Closes g's
 * fds in this process. A failure leaves the process running, still the
 * runtime binary: it must not enter the container. NULL g fails. */
int husk_exe_guard_apply(const struct husk_exe_guard *g, husk_error **err);

/* The fallback where the guard is unsupported: re-executes the runtime from
 * a read-only bind mount of itself, or a sealed memfd copy, unless it runs
 * from one already (then returns 0). Costs an exec. */
int husk_self_ensure_sealed(char **argv, husk_error **err);
