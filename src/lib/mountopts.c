/* SPDX-License-Identifier: MIT */
/* Mount options of config.json mounts[] into mount(2) flags and data. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "spec.h"
#include "util.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif

enum opt_kind { OPT_SET, OPT_CLEAR, OPT_PROPAGATION, OPT_BIND, OPT_IGNORE };

static const struct {
	const char *name;
	enum opt_kind kind;
	unsigned long flag;
} mount_opts[] = {
    {"defaults", OPT_IGNORE, 0},
    {"ro", OPT_SET, MS_RDONLY},
    {"rw", OPT_CLEAR, MS_RDONLY},
    {"nosuid", OPT_SET, MS_NOSUID},
    {"suid", OPT_CLEAR, MS_NOSUID},
    {"nodev", OPT_SET, MS_NODEV},
    {"dev", OPT_CLEAR, MS_NODEV},
    {"noexec", OPT_SET, MS_NOEXEC},
    {"exec", OPT_CLEAR, MS_NOEXEC},
    {"sync", OPT_SET, MS_SYNCHRONOUS},
    {"async", OPT_CLEAR, MS_SYNCHRONOUS},
    {"dirsync", OPT_SET, MS_DIRSYNC},
    {"remount", OPT_SET, MS_REMOUNT},
    {"mand", OPT_SET, MS_MANDLOCK},
    {"nomand", OPT_CLEAR, MS_MANDLOCK},
    {"atime", OPT_CLEAR, MS_NOATIME},
    {"noatime", OPT_SET, MS_NOATIME},
    {"diratime", OPT_CLEAR, MS_NODIRATIME},
    {"nodiratime", OPT_SET, MS_NODIRATIME},
    {"relatime", OPT_SET, MS_RELATIME},
    {"norelatime", OPT_CLEAR, MS_RELATIME},
    {"strictatime", OPT_SET, MS_STRICTATIME},
    {"nostrictatime", OPT_CLEAR, MS_STRICTATIME},
    {"lazytime", OPT_SET, MS_LAZYTIME},
    {"nolazytime", OPT_CLEAR, MS_LAZYTIME},
    {"silent", OPT_SET, MS_SILENT},
    {"loud", OPT_CLEAR, MS_SILENT},
    {"bind", OPT_BIND, 0},
    {"rbind", OPT_BIND, MS_REC},
    {"shared", OPT_PROPAGATION, MS_SHARED},
    {"rshared", OPT_PROPAGATION, MS_SHARED | MS_REC},
    {"slave", OPT_PROPAGATION, MS_SLAVE},
    {"rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC},
    {"private", OPT_PROPAGATION, MS_PRIVATE},
    {"rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC},
    {"unbindable", OPT_PROPAGATION, MS_UNBINDABLE},
    {"runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC},
    {"nosymfollow", OPT_SET, MS_NOSYMFOLLOW},
    {"symfollow", OPT_CLEAR, MS_NOSYMFOLLOW},
    /* Recursive read-only and idmapped mounts are not done yet: refusing
     * them is safer than silently mounting writable. */
};

/* Recursive attributes (runtime-spec 1.1, mount_setattr) and idmapped
 * mounts: refused rather than passed as data that mount(2) would ignore. */
static bool is_unsupported(const char *o)
{
	static const char *const names[] = {
	    "rro",	"rrw",	  "rnosuid",	  "rsuid",	    "rnodev",	    "rdev",
	    "rnoexec",	"rexec",  "rnodiratime",  "rdiratime",	    "rrelatime",    "rnorelatime",
	    "rnoatime", "ratime", "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow",
	    "idmap",	"ridmap",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(o, names[i]) == 0)
			return true;
	return false;
}

static int append_data(char **data, const char *opt)
{
	char *n = NULL;

	if (*data == NULL)
		n = strdup(opt);
	else if (asprintf(&n, "%s,%s", *data, opt) < 0)
		n = NULL;
	if (n == NULL)
		return -ENOMEM;
	free(*data);
	*data = n;
	return 0;
}

int husk_mount_parse_options(struct husk_mount *m, char *const *options, husk_error **err)
{
	for (size_t i = 0; options && options[i]; i++) {
		const char *o = options[i];
		size_t k;

		for (k = 0; k < ARRAY_SIZE(mount_opts); k++)
			if (strcmp(mount_opts[k].name, o) == 0)
				break;
		if (k == ARRAY_SIZE(mount_opts)) {
			if (*o == '\0')
				return husk_error_fail(err, HUSK_ERR_INVALID, "empty mount option");
			if (is_unsupported(o))
				return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
						       "mount option `%s` is not supported", o);
			if (append_data(&m->data, o) < 0)
				return husk_error_set(err, ENOMEM, "mount option `%s`", o);
			continue;
		}
		switch (mount_opts[k].kind) {
		case OPT_SET:
			m->flags |= mount_opts[k].flag;
			m->clear_flags &= ~mount_opts[k].flag;
			break;
		case OPT_CLEAR:
			m->flags &= ~mount_opts[k].flag;
			m->clear_flags |= mount_opts[k].flag;
			break;
		case OPT_PROPAGATION:
			m->propagation = mount_opts[k].flag;
			break;
		case OPT_BIND:
			m->bind = true;
			m->flags |= MS_BIND | mount_opts[k].flag;
			break;
		case OPT_IGNORE:
			break;
		}
	}
	if (m->type && (strcmp(m->type, "bind") == 0 || strcmp(m->type, "rbind") == 0)) {
		m->bind = true;
		m->flags |= MS_BIND;
		if (strcmp(m->type, "rbind") == 0)
			m->flags |= MS_REC;
	}
	return 0;
}
