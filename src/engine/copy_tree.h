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

struct copy_opts {
	bool keep_owner; /* the source's uid/gid (cp -a), else uid/gid below */
	uid_t uid;
	gid_t gid;
	bool follow; /* the top entry: follow it if it is a symlink (cp -L) */
	/* keep_owner across a user namespace (--userns auto): ids in
	 * [id_from, id_from + id_count) become id_to + (id - id_from), others
	 * id_to + 65534 (the overflow id). id_count 0: kept as they are. */
	unsigned long uid_from, uid_to, gid_from, gid_to, id_count;
};

/* src_dir/src_name → dst_dir/dst_name. */
int copy_entry(int src_dir, const char *src_name, int dst_dir, const char *dst_name,
	       const struct copy_opts *o, husk_error **err);
/* What the directory src holds → into the directory dst (merged). */
int copy_dir_contents(int src, int dst, const struct copy_opts *o, husk_error **err);
