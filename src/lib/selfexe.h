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

#include <husk/container.h>

/* husk_exe_guard_setup, _prepare, _free and husk_self_ensure_sealed are
 * public: <husk/container.h>. Prepare reads what the guard needs from this
 * process (its mappings of the binary, its /proc/self/stat); nothing is
 * needed when the binary is on a read-only mount or a sealed memfd already.
 * With exec, a read-only clone of the binary is kept for exec'd processes,
 * which have no other way to the binary's pages once they joined the
 * container (a mount, 0.1 ms; without it they copy the binary, 1 ms). */

/* In a child of the process that prepared g, single-threaded, with
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE in its user namespace: from here
 * on this process and its children are not the runtime binary. Closes g's
 * fds in this process. A failure leaves the process running, still the
 * runtime binary: it must not enter the container. NULL g fails. */
int husk_exe_guard_apply(const struct husk_exe_guard *g, husk_error **err);
