/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The default capability set, podman's: CHOWN, DAC_OVERRIDE, FOWNER,
 * FSETID, KILL, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID,
 * SYS_CHROOT (Docker's without MKNOD, NET_RAW and AUDIT_WRITE). */
uint64_t husk_caps_default(void);
/* Every capability this build knows that our bounding set holds (--privileged). */
uint64_t husk_caps_all(void);

extern const char *const husk_default_masked_paths[];
extern const char *const husk_default_readonly_paths[];

struct husk_spec_defaults {
	bool rootless;
	uid_t uid; /* the user that maps to root when rootless */
	gid_t gid;
	uint64_t caps;	 /* the capability set: husk_caps_default() is podman's */
	bool privileged; /* all caps, no seccomp, no masked/read-only paths */
};

/* A complete config.json (as `husk-runtime spec` writes and the engine
 * starts from): namespaces, mounts, /proc and /sys hardening, the default
 * capability set and seccomp profile. */
json_t *husk_spec_default(const struct husk_spec_defaults *d);
