/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include <husk/error.h>

struct ctr;

/*
 * Rootless: a user other than root runs every husk command as root in a
 * user namespace of its own (its uid mapped to 0, its /etc/subuid and
 * /etc/subgid ranges from 1 on, through newuidmap and newgidmap), in a
 * mount namespace of that user namespace where the containers' overlays are
 * mounted. One of each per user, held by a pause process (husk-monitor
 * pause, pid in <run root>/pause.pid): every command of that user joins
 * both, so they all see the same mounts and may signal every container of
 * the user, as podman's rootless mode does. No daemon: the pause process
 * only holds the namespaces. A pause process that was killed is made again
 * by the next command in the namespaces it held, when something of them
 * lives on (a container's monitor, a fuse-overlayfs daemon: by recorded pid
 * and start time), so that their mounts and processes stay in reach; in new
 * ones when nothing does.
 *
 * So several generations of namespaces may live at once: a container whose
 * monitor was killed as well as the pause process is left, through its
 * init, in namespaces nothing else holds, and the next pause process has
 * new ones. A command on one container (exec, stop, rm, ...) therefore
 * joins that container's generation, found from its live processes (the
 * monitor, the fuse-overlayfs daemon, the init: by recorded pid and start
 * time) when they are not in the pause process's: the choice is made
 * before joining any, as a user namespace cannot be left for a sibling.
 */

/* For a user other than root (outside any user namespace): sets
 * HUSK_STORAGE_ROOT ($XDG_DATA_HOME/husk, ~/.local/share/husk) and
 * HUSK_RUN_ROOT ($XDG_RUNTIME_DIR/husk-engine, /tmp/husk-engine-UID) when
 * unset, so that the processes husk starts later use them too. */
int rootless_default_roots(husk_error **err);
/* Joins the user's namespaces, making them (and the pause process) first
 * when there are none. The working directory is kept. 0 at once for root. */
int rootless_enter(const char *monitor_exe, husk_error **err);
/* Whether this command runs rootless and may wait for its container to
 * be known (rootless_enter_for) before it joins any namespace. */
bool rootless_enter_deferred(void);
/* rootless_enter for a command on container c: the namespaces its live
 * processes are in when they are of another generation than the pause
 * process's; the pause process's otherwise. */
int rootless_enter_for(const char *monitor_exe, const struct ctr *c, husk_error **err);
