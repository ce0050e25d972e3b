/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "cgroup.h"
#include "error.h"
#include "spec.h"

/*
 * Paths inside the container are always resolved against a directory fd of
 * the rootfs, component by component, so that no symlink in the image can
 * point a mount, a device or a masked path outside it (CVE-2021-30465,
 * CVE-2025-31133). Returns an O_PATH fd.
 */
int husk_path_open_in_root(int rootfd, const char *path, int *ret_fd, husk_error **err);
/* Same, creating what is missing: directories, and the last component as an
 * empty regular file when `file` is true. */
int husk_path_create_in_root(int rootfd, const char *path, bool file, int *ret_fd,
			     husk_error **err);

struct husk_rootfs_ctx {
	const struct husk_spec *spec;
	const struct husk_cgroup *cgroup;
	bool in_userns; /* mknod is not allowed: bind device nodes from the host */
	bool cgroupns;
	int rootfd;	     /* filled by husk_rootfs_prepare: the rootfs bind mount */
	int devnull;	     /* the host's /dev/null, opened before pivot_root (masks) */
	const int *bind_fds; /* husk_rootfs_open_bind_sources, or NULL */
};

/* With a user namespace, the runtime clones every bind source (open_tree)
 * before the container enters it, as runc and crun open them first: the
 * mapped root may not reach a source below a directory only the host's
 * root may enter. (*ret_fds)[i] is -1 for other mounts; *ret_fds is NULL
 * without a user namespace (binds by path, whose propagation Kubernetes'
 * Bidirectional volumes need), and its tail is -1 on a kernel without
 * open_tree or for a runtime without CAP_SYS_ADMIN (rootless). */
int husk_rootfs_open_bind_sources(const struct husk_spec *spec, int **ret_fds, husk_error **err);
void husk_rootfs_close_bind_sources(int *fds, size_t n);

/* Everything before pivot_root: propagation, rootfs bind, mounts[], /dev. */
int husk_rootfs_prepare(struct husk_rootfs_ctx *ctx, husk_error **err);
int husk_rootfs_pivot(struct husk_rootfs_ctx *ctx, bool no_pivot, husk_error **err);
/* After pivot_root: read-only paths, read-only root, propagation (masks are
 * done by prepare, from the host's /dev/null). */
int husk_rootfs_finalize(struct husk_rootfs_ctx *ctx, husk_error **err);
/* Bind the terminal's slave over /dev/console (before pivot_root). */
int husk_rootfs_bind_console(int rootfd, int slave_fd, husk_error **err);
