/* SPDX-License-Identifier: MIT */
/* husk info: where husk keeps things and what this host offers it, laid
 * out as docker info's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "ctl.h"
#include "human.h"
#include "overlay_driver.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* Docker's names of the file systems a store is found on. */
static const char *fs_name(long type)
{
	static const struct {
		long magic;
		const char *name;
	} names[] = {
	    {0xEF53, "extfs"},	   {0x58465342, "xfs"},	      {0x9123683E, "btrfs"},
	    {0x01021994, "tmpfs"}, {0x794c7630, "overlayfs"}, {0x2FC12FC1, "zfs"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].magic == type)
			return names[i].name;
	return "unknown";
}

/* Whether readdir gives entry types there (overlay needs d_type). */
static bool has_d_type(const char *dir)
{
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return de->d_type != DT_UNKNOWN;
	return true;
}

static bool kernel_has_overlay(void)
{
	cleanup_free char *text = NULL;

	return read_file_at(AT_FDCWD, "/proc/filesystems", &text, NULL, NULL) == 0 &&
	       strstr(text, "\toverlay\n") != NULL;
}

/* Overlay in a user namespace (rootless, with no FUSE) came with 5.11. */
static bool kernel_at_least(const char *release, int major, int minor)
{
	int a = 0, b = 0;

	return sscanf(release, "%d.%d", &a, &b) == 2 && (a > major || (a == major && b >= minor));
}

static void print_storage(const struct engine *e, const struct utsname *u)
{
	cleanup_free char *fuse = overlay_find_program("fuse-overlayfs");
	struct overlay_choice c;
	husk_error *err = NULL;
	struct statfs fs;

	if (overlay_driver_choose(e->paths.storage_root, &c, &err) == 0) {
		printf(" Storage Driver: %s\n", overlay_driver_name(c.driver));
		printf("  Driver Chosen Because: %s\n", c.why);
	} else {
		printf(" Storage Driver: unknown (%s)\n", err->msg);
		husk_error_free(&err);
	}
	printf("  Backing Filesystem: %s\n",
	       statfs(e->paths.storage_root, &fs) == 0 ? fs_name((long)fs.f_type) : "unknown");
	printf("  Supports d_type: %s\n", has_d_type(e->paths.storage_root) ? "true" : "false");
	printf("  Overlay: %s\n",
	       kernel_has_overlay() ? "supported" : "not loaded (modprobe overlay)");
	printf("  Rootless Overlay: %s\n", kernel_at_least(u->release, 5, 11)
					       ? "supported (kernel 5.11 or later)"
					       : "not supported (kernel older than 5.11)");
	printf("  fuse-overlayfs: %s\n", fuse ? fuse : "not installed");
}

static void print_cgroups(void)
{
	struct statfs fs;
	int layout = husk_cgroup_layout();
	bool hybrid = statfs("/sys/fs/cgroup/unified", &fs) == 0 &&
		      fs.f_type == (typeof(fs.f_type))CGROUP2_SUPER_MAGIC;

	printf(" Cgroup Driver: %s\n", layout == HUSK_CGROUP_NONE ? "none" : "cgroupfs");
	if (layout == HUSK_CGROUP_UNIFIED)
		printf(" Cgroup Version: 2\n");
	else if (layout == HUSK_CGROUP_V1)
		printf(" Cgroup Version: 1%s\n",
		       hybrid ? " (hybrid: cgroup2 at /sys/fs/cgroup/unified too)" : "");
	else
		printf(" Cgroup Version: none (nothing at /sys/fs/cgroup)\n");
}

/* PRETTY_NAME from os-release. */
static void print_os(void)
{
	cleanup_free char *text = NULL;
	const char *p;
	int len;

	if (read_file_at(AT_FDCWD, "/etc/os-release", &text, NULL, NULL) < 0 ||
	    (p = strstr(text, "PRETTY_NAME=")) == NULL)
		return;
	p += strlen("PRETTY_NAME=");
	if (*p == '"')
		p++;
	len = (int)strcspn(p, "\"\n");
	printf(" Operating System: %.*s\n", len, p);
}

static int count_images(struct engine *e, size_t *ret, husk_error **err)
{
	struct husk_store *s = NULL;
	struct husk_image_summary *list = NULL;
	int r;

	if (engine_store_open(e, &s, err) < 0)
		return -1;
	r = husk_store_list_images(s, &list, ret, err);
	husk_store_close(s);
	if (r == 0)
		husk_image_summaries_free(list, *ret);
	return r;
}

int cmd_info(struct engine *e, int argc, char **argv)
{
	struct ctr **list = NULL;
	size_t n = 0, running = 0, images = 0;
	husk_error *err = NULL;
	struct utsname u;
	struct sysinfo si;
	char memory[32];

	if (argc > 1) {
		engine_error("info: takes no arguments (`%s`)", argv[1]);
		return EXIT_ENGINE;
	}
	if (ctr_list(e, &list, &n, &err) < 0 || count_images(e, &images, &err) < 0)
		return engine_fail(err);
	for (size_t i = 0; i < n; i++)
		running += ctr_busy(list[i]);
	ctr_list_free(list, n);
	uname(&u);
	printf("Server:\n Containers: %zu\n  Running: %zu\n  Paused: 0\n  Stopped: %zu\n", n,
	       running, n - running);
	printf(" Images: %zu\n Server Version: %s (no daemon)\n", images, HUSK_VERSION);
	print_storage(e, &u);
	print_cgroups();
	printf(" Kernel Version: %s\n", u.release);
	print_os();
	printf(" OSType: linux\n Architecture: %s\n CPUs: %ld\n", u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN));
	if (sysinfo(&si) == 0) {
		human_size((int64_t)si.totalram * si.mem_unit, memory, sizeof(memory));
		printf(" Total Memory: %s\n", memory);
	}
	printf(" Storage Root: %s\n Run Root: %s\n Monitor: %s\n", e->paths.storage_root,
	       e->paths.run_root, e->monitor_exe);
	return 0;
}
