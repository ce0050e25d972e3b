/* SPDX-License-Identifier: MIT */
#pragma once

#include "error.h"
#include "spec.h"

/* Looks args[0] up as execve(2) would after the container's PATH; errors use
 * the wording podman and containerd map to exit codes 127 and 126:
 * `exec: "x": executable file not found in $PATH`, `...: permission denied`. */
int husk_process_find_executable(const struct husk_process *p, char **ret, husk_error **err);

/* rlimits, before the user changes (raising a hard limit needs
 * CAP_SYS_RESOURCE: the error says so). */
int husk_process_apply_rlimits(const struct husk_process *p, husk_error **err);
int husk_process_apply_oom_score_adj(const struct husk_process *p, husk_error **err);

/* Drops the bounding set, changes uid/gid/groups keeping capabilities, then
 * sets effective/permitted/inheritable and ambient capabilities. */
int husk_process_apply_user_and_caps(const struct husk_process *p, bool setgroups_allowed,
				     husk_error **err);
int husk_process_apply_no_new_privs(const struct husk_process *p, husk_error **err);

/* The environment execve gets, in the container's root: a later value of
 * a name replaces an earlier one, and HOME, when missing, comes from the
 * user's entry in the container's /etc/passwd (else "/"), as runc sets it. */
int husk_process_prepare_env(struct husk_process *p, husk_error **err);

/* umask, cwd (created in the container when missing), environment. */
int husk_process_apply_cwd_and_umask(const struct husk_process *p, husk_error **err);

/* Marks every fd >= 3 + preserve_fds close-on-exec. */
int husk_close_fds_on_exec(int preserve_fds, husk_error **err);

/* Never returns on success. */
/* Default dispositions and an empty mask: nothing of the caller's signal
 * state (an ignored SIGPIPE, a blocked SIGTERM) reaches the container. */
void husk_process_reset_signals(void);
int husk_process_exec(const struct husk_process *p, const char *path, husk_error **err);
