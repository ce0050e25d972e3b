/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Seccomp: linux.seccomp of config.json is validated and compiled to a BPF
 * program by the runtime, before the container process exists, so that a bad
 * profile fails early and the container process only has to make one syscall.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct husk_seccomp; /* opaque: a validated, compiled filter ready to load */

/* Validates linux.seccomp (the runtime-spec schema) and compiles it with
 * libseccomp, without loading it. Errors name the field, e.g.
 * "linux.seccomp.syscalls[3].action: unknown action `SCMP_ACT_FOO`". Syscall
 * names that libseccomp does not know are skipped, as runc and crun do: a
 * profile may name syscalls newer than this build. Several comparisons of the
 * same argument in one entry are alternatives (runc and crun split them into
 * separate rules); comparisons of different arguments must all hold. */
int husk_seccomp_prepare(json_t *linux_seccomp, const char *cache_dir, struct husk_seccomp **ret,
			 husk_error **err);
/* The same with the compile's deadline: libseccomp runs in a child process
 * that is killed after timeout_ms (some libseccomp versions loop for ever on
 * some rule shapes); husk_seccomp_prepare gives it
 * HUSK_SECCOMP_COMPILE_TIMEOUT_MS. A negative timeout_ms compiles in this
 * process, unbounded (for fuzzers). The child is a fork(): call it from a
 * process with one thread, or with no lock held that libseccomp or malloc
 * could need. */
#define HUSK_SECCOMP_COMPILE_TIMEOUT_MS 3000
int husk_seccomp_prepare_within(json_t *linux_seccomp, const char *cache_dir, int timeout_ms,
				struct husk_seccomp **ret, husk_error **err);
/* With a cache_dir (see seccomp_cache.h), a profile compiled before is taken
 * from there instead: whether this one was. */
bool husk_seccomp_from_cache(const struct husk_seccomp *s);

/* In the container process, as late as possible before execve: installs the
 * filter with seccomp(2), with the requested flags this kernel supports. The
 * kernel requires no_new_privs or CAP_SYS_ADMIN, so call it either after
 * PR_SET_NO_NEW_PRIVS or before dropping capabilities. When a rule uses
 * SCMP_ACT_NOTIFY, *ret_notify_fd is the listener fd (O_CLOEXEC), else -1;
 * syscalls the caller makes before handing it over must not be notified ones. */
int husk_seccomp_load(struct husk_seccomp *s, int *ret_notify_fd, husk_error **err);

bool husk_seccomp_uses_notify(const struct husk_seccomp *s);
/* linux.seccomp.listenerPath; NULL when unset (never when notify is used). */
const char *husk_seccomp_listener_path(const struct husk_seccomp *s);

/* Connects to listenerPath and sends the container process state
 * {ociVersion, fds: ["seccompFd"], pid, metadata, state} with notify_fd in
 * SCM_RIGHTS, one message per connection, as the runtime-spec says. `state`
 * is the container state object (borrowed). */
int husk_seccomp_send_listener(const struct husk_seccomp *s, int notify_fd, pid_t pid,
			       json_t *state, husk_error **err);

void husk_seccomp_free(struct husk_seccomp *s);
static inline void husk_seccomp_freep(struct husk_seccomp **p)
{
	husk_seccomp_free(*p);
}
#define cleanup_seccomp __attribute__((cleanup(husk_seccomp_freep)))

/* The engine's default profile (seccomp_profile.c), equivalent in effect to
 * Docker's: everything not allowed fails with EPERM. `caps` is the bounding
 * set the container will have, as a mask of (1ULL << CAP_X); capabilities
 * allow the syscalls they guard (CAP_SYS_ADMIN: mount, unshare, setns,
 * namespace-creating clone, ...). The result depends on this host's
 * architecture and kernel, like Docker's. Returns a new linux.seccomp object,
 * or NULL when out of memory. */
json_t *husk_seccomp_default_profile(uint64_t caps);
