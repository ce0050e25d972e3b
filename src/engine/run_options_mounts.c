/* SPDX-License-Identifier: MIT */
/* `run`'s mounts: -v, --mount and --tmpfs, as docker reads them. */
#define _GNU_SOURCE
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run_parsers.h"
#include "units.h"
#include "util.h"

static const char *const propagations[] = {"shared", "rshared", "slave",
					   "rslave", "private", "rprivate"};

/* Flags a tmpfs may be given besides size=, mode=, uid=, gid=, nr_inodes=
 * and nr_blocks=. */
static const char *const tmpfs_flags[] = {
    "ro",	"rw",	      "exec",	     "noexec",	      "suid",	 "nosuid",   "dev",
    "nodev",	"sync",	      "async",	     "atime",	      "noatime", "diratime", "nodiratime",
    "relatime", "norelatime", "strictatime", "nostrictatime", "dirsync", "mand",     "nomand",
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

bool run_volume_name_valid(const char *name)
{
	static const char more[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_.-";
	size_t len = strlen(name);

	return len >= 2 && len <= 255 && isalnum((unsigned char)name[0]) &&
	       strspn(name, more) == len;
}

char *run_path_clean(const char *path)
{
	size_t len = strlen(path), n = 0;
	char *out;
	const char *p = path;

	if (path[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	out = malloc(len + 2);
	if (out == NULL)
		return NULL;
	while (*p) {
		size_t seg;
		while (*p == '/')
			p++;
		seg = strcspn(p, "/");
		if (seg == 0 || (seg == 1 && p[0] == '.')) {
			p += seg;
			continue;
		}
		if (seg == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[--n] != '/')
				;
			p += seg;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, p, seg);
		n += seg;
		p += seg;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

void run_mount_clear(struct run_mount *m)
{
	free(m->source);
	free(m->target);
	free(m->propagation);
	strv_free(m->tmpfs_options);
	memset(m, 0, sizeof(*m));
}

/* Takes m's contents (cleared on failure too). */
static int mount_add(struct run_options *o, struct run_mount *m, husk_error **err)
{
	struct run_mount *n = realloc(o->mounts, (o->n_mounts + 1) * sizeof(*n));

	if (n == NULL) {
		run_mount_clear(m);
		return husk_error_set(err, ENOMEM, "mounts");
	}
	n[o->n_mounts++] = *m;
	o->mounts = n;
	memset(m, 0, sizeof(*m));
	return 0;
}

static int set_target(struct run_mount *m, const char *flag, const char *v, const char *target,
		      husk_error **err)
{
	if (target == NULL || target[0] == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s `%s`: no target path", flag, v);
	if (target[0] != '/')
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s `%s`: the target `%s` is not an absolute path", flag, v,
				       target);
	m->target = run_path_clean(target);
	if (m->target == NULL)
		return husk_error_set(err, ENOMEM, "%s", flag);
	if (strcmp(m->target, "/") == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s `%s`: the target cannot be `/`",
				       flag, v);
	return 0;
}

/* The source of -v or --mount: an absolute path is a bind, a name a
 * volume. */
static int set_source(struct run_mount *m, const char *flag, const char *v, const char *source,
		      husk_error **err)
{
	if (source[0] == '/') {
		m->type = RUN_MOUNT_BIND;
		m->source = run_path_clean(source);
	} else if (!run_volume_name_valid(source)) {
		return husk_error_fail(
		    err, HUSK_ERR_INVALID,
		    "%s `%s`: `%s` is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+) "
		    "nor an absolute host path",
		    flag, v, source);
	} else {
		m->type = RUN_MOUNT_VOLUME;
		m->source = strdup(source);
	}
	return m->source ? 0 : husk_error_set(err, ENOMEM, "%s", flag);
}

static int set_propagation(struct run_mount *m, const char *flag, const char *v, const char *p,
			   husk_error **err)
{
	if (!in_list(propagations, ARRAY_SIZE(propagations), p))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s `%s`: unknown propagation `%s` (shared, slave, private "
				       "or their r-forms)",
				       flag, v, p);
	if (m->propagation)
		return husk_error_fail(err, HUSK_ERR_INVALID, "%s `%s`: two propagations", flag, v);
	m->propagation = strdup(p);
	return m->propagation ? 0 : husk_error_set(err, ENOMEM, "%s", flag);
}

/* -v's third field: ro, rw, z, Z, a propagation, nocopy, and docker's
 * ignored consistency modes. */
static int volume_modes(struct run_mount *m, const char *v, char *modes, husk_error **err)
{
	bool ro = false, rw = false;

	for (char *save = NULL, *mode = strtok_r(modes, ",", &save); mode;
	     mode = strtok_r(NULL, ",", &save)) {
		if (strcmp(mode, "ro") == 0)
			ro = true;
		else if (strcmp(mode, "rw") == 0)
			rw = true;
		else if (strcmp(mode, "z") == 0 || strcmp(mode, "Z") == 0 ||
			 strcmp(mode, "consistent") == 0 || strcmp(mode, "cached") == 0 ||
			 strcmp(mode, "delegated") == 0 || strcmp(mode, "nocopy") == 0)
			continue; /* no SELinux; no copy-up yet; no macOS */
		else if (in_list(propagations, ARRAY_SIZE(propagations), mode)) {
			if (m->type != RUN_MOUNT_BIND)
				return husk_error_fail(err, HUSK_ERR_INVALID,
						       "-v `%s`: a propagation is for host paths "
						       "only",
						       v);
			if (set_propagation(m, "-v", v, mode, err) < 0)
				return -1;
		} else
			return husk_error_fail(err, HUSK_ERR_INVALID, "-v `%s`: unknown mode `%s`",
					       v, mode);
	}
	if (ro && rw)
		return husk_error_fail(err, HUSK_ERR_INVALID, "-v `%s`: both ro and rw", v);
	m->readonly = ro;
	return 0;
}

int run_parse_volume(struct run_options *o, const char *v, husk_error **err)
{
	cleanup_free char *copy = strdup(v);
	char *fields[4] = {NULL, NULL, NULL, NULL}, *p = copy;
	struct run_mount m = {.type = RUN_MOUNT_VOLUME};
	size_t n = 0;
	int r = 0;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "-v");
	while (p && n < 4) {
		fields[n++] = p;
		p = strchr(p, ':');
		if (p)
			*p++ = '\0';
	}
	if (p != NULL || n == 0 || fields[0][0] == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "-v `%s`: must be [SOURCE:]TARGET[:MODES]", v);
	if (n == 1) /* -v /path: an anonymous volume */
		r = set_target(&m, "-v", v, fields[0], err);
	else
		r = set_source(&m, "-v", v, fields[0], err);
	if (r == 0 && n >= 2)
		r = set_target(&m, "-v", v, fields[1], err);
	if (r == 0 && n == 3)
		r = volume_modes(&m, v, fields[2], err);
	if (r == 0 && n == 4)
		r = husk_error_fail(err, HUSK_ERR_INVALID, "-v `%s`: too many fields", v);
	m.create_source = m.type == RUN_MOUNT_BIND;
	if (r == 0)
		return mount_add(o, &m, err);
	run_mount_clear(&m);
	return -1;
}

/* --mount KEY=VALUE,... */
struct mount_fields {
	const char *type, *source, *target, *propagation, *tmpfs_size, *tmpfs_mode;
	bool readonly;
};

static int mount_bool(const char *v, const char *key, const char *value, bool *ret,
		      husk_error **err)
{
	if (value == NULL || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
		*ret = true;
	else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
		*ret = false;
	else
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--mount `%s`: %s is true or false, not `%s`", v, key,
				       value);
	return 0;
}

static int mount_field(struct mount_fields *f, const char *v, char *field, husk_error **err)
{
	char *value = strchr(field, '=');
	bool ignored;

	if (value)
		*value++ = '\0';
	if (strcmp(field, "readonly") == 0 || strcmp(field, "ro") == 0)
		return mount_bool(v, field, value, &f->readonly, err);
	if (strcmp(field, "volume-nocopy") == 0)
		return mount_bool(v, field, value, &ignored, err);
	if (value == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--mount `%s`: `%s` must be KEY=VALUE", v, field);
	if (strcmp(field, "type") == 0)
		f->type = value;
	else if (strcmp(field, "source") == 0 || strcmp(field, "src") == 0)
		f->source = value;
	else if (strcmp(field, "target") == 0 || strcmp(field, "destination") == 0 ||
		 strcmp(field, "dst") == 0)
		f->target = value;
	else if (strcmp(field, "bind-propagation") == 0)
		f->propagation = value;
	else if (strcmp(field, "tmpfs-size") == 0)
		f->tmpfs_size = value;
	else if (strcmp(field, "tmpfs-mode") == 0)
		f->tmpfs_mode = value;
	else if (strcmp(field, "consistency") == 0 ||
		 (strcmp(field, "volume-driver") == 0 && strcmp(value, "local") == 0))
		return 0;
	else
		return husk_error_fail(err, HUSK_ERR_INVALID, "--mount `%s`: unknown key `%s`", v,
				       field);
	return 0;
}

static int tmpfs_size_mode(struct run_mount *m, const struct mount_fields *f, const char *v,
			   husk_error **err)
{
	char *opt = NULL;
	int64_t size, mode;

	if (f->tmpfs_size) {
		if (parse_size_bytes(f->tmpfs_size, &size) < 0)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--mount `%s`: tmpfs-size `%s` is not a size", v,
					       f->tmpfs_size);
		if (asprintf(&opt, "size=%" PRId64, size) < 0 ||
		    strv_append(&m->tmpfs_options, opt) < 0)
			return husk_error_set(err, ENOMEM, "--mount");
	}
	if (f->tmpfs_mode) {
		char *end;
		errno = 0;
		mode = strtoll(f->tmpfs_mode, &end, 8);
		if (errno || *end || end == f->tmpfs_mode || mode < 0 || mode > 07777)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--mount `%s`: tmpfs-mode `%s` is not an octal mode",
					       v, f->tmpfs_mode);
		if (asprintf(&opt, "mode=%o", (unsigned)mode) < 0 ||
		    strv_append(&m->tmpfs_options, opt) < 0)
			return husk_error_set(err, ENOMEM, "--mount");
	}
	return 0;
}

static int bind_source_exists(const char *v, const char *source, husk_error **err)
{
	struct stat st;

	if (stat(source, &st) < 0)
		return husk_error_set(err, errno, "--mount `%s`: bind source `%s`", v, source);
	return 0;
}

static int mount_from_fields(struct run_mount *m, const struct mount_fields *f, const char *v,
			     husk_error **err)
{
	const char *type = f->type ? f->type : "volume";

	if (set_target(m, "--mount", v, f->target, err) < 0)
		return -1;
	m->readonly = f->readonly;
	if (strcmp(type, "tmpfs") == 0) {
		m->type = RUN_MOUNT_TMPFS;
		if (f->source || f->propagation)
			return husk_error_fail(
			    err, HUSK_ERR_INVALID,
			    "--mount `%s`: a tmpfs has no source nor propagation", v);
		return tmpfs_size_mode(m, f, v, err);
	}
	if (f->tmpfs_size || f->tmpfs_mode)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--mount `%s`: tmpfs options on a %s mount", v, type);
	if (strcmp(type, "bind") == 0) {
		if (f->source == NULL || f->source[0] != '/')
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--mount `%s`: a bind needs an absolute source", v);
		if (set_source(m, "--mount", v, f->source, err) < 0 ||
		    bind_source_exists(v, m->source, err) < 0)
			return -1;
		return f->propagation ? set_propagation(m, "--mount", v, f->propagation, err) : 0;
	}
	if (strcmp(type, "volume") != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--mount `%s`: unknown type `%s` (bind, volume or tmpfs)", v,
				       type);
	if (f->propagation)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--mount `%s`: bind-propagation is for binds", v);
	m->type = RUN_MOUNT_VOLUME;
	if (f->source == NULL || f->source[0] == '\0')
		return 0; /* anonymous */
	if (f->source[0] == '/' || !run_volume_name_valid(f->source))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--mount `%s`: `%s` is not a volume name", v, f->source);
	m->source = strdup(f->source);
	return m->source ? 0 : husk_error_set(err, ENOMEM, "--mount");
}

int run_parse_mount(struct run_options *o, const char *v, husk_error **err)
{
	cleanup_free char *copy = strdup(v);
	struct mount_fields f = {0};
	struct run_mount m = {0};
	char *save = NULL;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "--mount");
	for (char *field = strtok_r(copy, ",", &save); field; field = strtok_r(NULL, ",", &save))
		if (mount_field(&f, v, field, err) < 0)
			return -1;
	if (mount_from_fields(&m, &f, v, err) < 0) {
		run_mount_clear(&m);
		return -1;
	}
	return mount_add(o, &m, err);
}

/* size=64m, mode=1777, uid=N, gid=N, nr_inodes=N, nr_blocks=N. */
static bool tmpfs_data_valid(const char *o)
{
	const char *eq = strchr(o, '=');
	const char *value = eq ? eq + 1 : NULL;
	size_t key_len = eq ? (size_t)(eq - o) : strlen(o);
	int64_t n;

	if (value == NULL || *value == '\0')
		return false;
	if (strncmp(o, "mode", key_len) == 0 && key_len == 4)
		return strspn(value, "01234567") == strlen(value) && strlen(value) <= 4;
	if ((strncmp(o, "uid", key_len) == 0 && key_len == 3) ||
	    (strncmp(o, "gid", key_len) == 0 && key_len == 3))
		return parse_int64(value, 0, UINT32_MAX - 1, &n) == 0;
	if ((strncmp(o, "size", key_len) == 0 && key_len == 4) ||
	    (strncmp(o, "nr_inodes", key_len) == 0 && key_len == 9) ||
	    (strncmp(o, "nr_blocks", key_len) == 0 && key_len == 9)) {
		size_t digits = strspn(value, "0123456789");
		return digits > 0 && (value[digits] == '\0' || (strchr("kKmMgG%", value[digits]) &&
								value[digits + 1] == '\0'));
	}
	return false;
}

int run_parse_tmpfs(struct run_options *o, const char *v, husk_error **err)
{
	cleanup_free char *copy = strdup(v);
	struct run_mount m = {.type = RUN_MOUNT_TMPFS};
	char *opts, *save = NULL;

	if (copy == NULL)
		return husk_error_set(err, ENOMEM, "--tmpfs");
	opts = strchr(copy, ':');
	if (opts)
		*opts++ = '\0';
	if (set_target(&m, "--tmpfs", v, copy, err) < 0)
		goto fail;
	for (char *opt = opts ? strtok_r(opts, ",", &save) : NULL; opt;
	     opt = strtok_r(NULL, ",", &save)) {
		char *dup;
		if (!in_list(tmpfs_flags, ARRAY_SIZE(tmpfs_flags), opt) && !tmpfs_data_valid(opt)) {
			husk_error_fail(err, HUSK_ERR_INVALID, "--tmpfs `%s`: unknown option `%s`",
					v, opt);
			goto fail;
		}
		dup = strdup(opt);
		if (dup == NULL || strv_append(&m.tmpfs_options, dup) < 0) {
			husk_error_set(err, ENOMEM, "--tmpfs");
			goto fail;
		}
	}
	return mount_add(o, &m, err);
fail:
	run_mount_clear(&m);
	return -1;
}

int run_check_mounts(const struct run_options *o, husk_error **err)
{
	for (size_t i = 0; i < o->n_mounts; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(o->mounts[i].target, o->mounts[j].target) == 0)
				return husk_error_fail(err, HUSK_ERR_INVALID,
						       "duplicate mount point `%s`",
						       o->mounts[i].target);
	return 0;
}
