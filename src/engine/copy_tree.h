/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A file or a tree copied from one directory fd to another (`cp`), entirely
 * with *at() calls on single names and O_NOFOLLOW: a symlink anywhere in
 * the source is copied as a symlink and one in the destination is replaced,
 * never followed, so a copy into or out of a container's rootfs cannot be
 * led out of it, even by a container changing its files meanwhile.
 *
 * Regular files, directories (recursively), symlinks, device nodes and
 * fifos; sockets are left out; hardlinks become separate files; xattrs are
 * not copied. Modes and times are kept; an existing directory is merged
 * into, an existing non-directory replaced, a directory is never replaced
 * by a non-directory.
 */

#include <stdbool.h>
#include <sys/stat.h>

#include <husk/error.h>
#include <husk/store.h>

struct copy_opts {
	bool keep_owner; /* the source's uid/gid (cp -a), else uid/gid below */
	uid_t uid;
	gid_t gid;
	bool follow; /* the top entry: follow it if it is a symlink (cp -L) */
	/* keep_owner across a user namespace's maps (--userns auto,
	 * keep-id): inward, the source's ids are the namespace's and become
	 * their outer ids, else outer ids become the namespace's (the overflow
	 * id 65534 where unmapped). n_uids 0: kept as they are. */
	const struct husk_id_extent *uids, *gids;
	size_t n_uids, n_gids;
	bool ids_inward;
	/* user.* xattrs copied too (overlay's user.overlay.opaque) */
	bool xattrs;
};

/* src_dir/src_name → dst_dir/dst_name. */
int copy_entry(int src_dir, const char *src_name, int dst_dir, const char *dst_name,
	       const struct copy_opts *o, husk_error **err);
/* What the directory src holds → into the directory dst (merged). */
int copy_dir_contents(int src, int dst, const struct copy_opts *o, husk_error **err);
