/* SPDX-License-Identifier: MIT */
/* Overlay upper dirs as the kernel's overlay and fuse-overlayfs write them. */
#define _GNU_SOURCE
#include "store_internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define WH ".wh."

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum husk_upper_entry husk_upper_entry_kind(const char *name, const struct stat *st,
					    const char **ret_name)
{
	bool device_whiteout = S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);

	*ret_name = name;
	/* `.wh..wh..opq` and aufs's `.wh..wh.*`; a device whiteout of a
	 * `.wh.` name hides fuse-overlayfs's own markers from itself (no
	 * layer has such names: unpacking turns them into whiteouts) */
	if (starts_with(name, WH WH) || (device_whiteout && starts_with(name, WH)))
		return HUSK_UPPER_INTERNAL;
	if (device_whiteout)
		return HUSK_UPPER_WHITEOUT;
	if (S_ISREG(st->st_mode) && starts_with(name, WH) && name[strlen(WH)] != '\0') {
		*ret_name = name + strlen(WH);
		return HUSK_UPPER_WHITEOUT;
	}
	return HUSK_UPPER_PLAIN;
}

static bool xattr_is_y(int fd, const char *name)
{
	char v[2];

	return fgetxattr(fd, name, v, sizeof(v)) == 1 && v[0] == 'y';
}

bool husk_upper_dir_opaque(int dirfd)
{
	struct stat st;

	return xattr_is_y(dirfd, "trusted.overlay.opaque") ||
	       xattr_is_y(dirfd, "user.overlay.opaque") ||
	       xattr_is_y(dirfd, "user.fuseoverlayfs.opaque") ||
	       (fstatat(dirfd, WH WH ".opq", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
}

bool husk_overlay_xattr(const char *name)
{
	static const char *const owned[] = {"trusted.overlay.", "user.overlay.",
					    "trusted.fuseoverlayfs.", "user.fuseoverlayfs.",
					    "security.fuseoverlayfs."};

	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (starts_with(name, owned[i]))
			return true;
	return false;
}
