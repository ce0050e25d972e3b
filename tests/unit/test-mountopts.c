/* SPDX-License-Identifier: MIT */
/* husk_mount_parse_options: options into mount(2) flags, propagation and data. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mount.h>

#include "spec.h"
#include "util.h"
#include "tap.h"

#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif

#define OPTS(...) ((char *const[]){__VA_ARGS__, NULL})

static void mount_clear(struct husk_mount *m)
{
	free(m->data);
	free(m->type);
	memset(m, 0, sizeof(*m));
}

/* Parses options into a fresh mount of the given type. */
static int parse(struct husk_mount *m, const char *type, char *const *options, husk_error **err)
{
	memset(m, 0, sizeof(*m));
	if (type != NULL && (m->type = strdup(type)) == NULL)
		TAP_BAIL_OUT("out of memory");
	return husk_mount_parse_options(m, options, err);
}

static void expect_one(const char *opt, unsigned long flags, unsigned long clear)
{
	struct husk_mount m;
	cleanup_error husk_error *err = NULL;

	if (!CHECK_INT_EQ(parse(&m, "tmpfs", OPTS((char *)opt), &err), 0, "option %s parses", opt))
		return;
	CHECK_UINT_EQ(m.flags, flags, "option %s: flags", opt);
	CHECK_UINT_EQ(m.clear_flags, clear, "option %s: clear_flags", opt);
	CHECK(m.propagation == 0 && !m.bind && m.data == NULL,
	      "option %s: no propagation, bind or data", opt);
	mount_clear(&m);
}

static void test_each_flag_option(void)
{
	static const struct {
		const char *name;
		unsigned long flag;
		bool clear;
	} all[] = {
	    {"ro", MS_RDONLY, false},
	    {"rw", MS_RDONLY, true},
	    {"nosuid", MS_NOSUID, false},
	    {"suid", MS_NOSUID, true},
	    {"nodev", MS_NODEV, false},
	    {"dev", MS_NODEV, true},
	    {"noexec", MS_NOEXEC, false},
	    {"exec", MS_NOEXEC, true},
	    {"sync", MS_SYNCHRONOUS, false},
	    {"async", MS_SYNCHRONOUS, true},
	    {"dirsync", MS_DIRSYNC, false},
	    {"remount", MS_REMOUNT, false},
	    {"mand", MS_MANDLOCK, false},
	    {"nomand", MS_MANDLOCK, true},
	    {"atime", MS_NOATIME, true},
	    {"noatime", MS_NOATIME, false},
	    {"diratime", MS_NODIRATIME, true},
	    {"nodiratime", MS_NODIRATIME, false},
	    {"relatime", MS_RELATIME, false},
	    {"norelatime", MS_RELATIME, true},
	    {"strictatime", MS_STRICTATIME, false},
	    {"nostrictatime", MS_STRICTATIME, true},
	    {"lazytime", MS_LAZYTIME, false},
	    {"nolazytime", MS_LAZYTIME, true},
	    {"silent", MS_SILENT, false},
	    {"loud", MS_SILENT, true},
	};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		expect_one(all[i].name, all[i].clear ? 0 : all[i].flag,
			   all[i].clear ? all[i].flag : 0);
	expect_one("defaults", 0, 0);
}

static void test_combinations(void)
{
	struct husk_mount m;
	cleanup_error husk_error *err = NULL;

	CHECK_INT_EQ(parse(&m, "tmpfs", OPTS("ro", "rw"), &err), 0, "ro,rw parses");
	CHECK_UINT_EQ(m.flags, 0, "ro then rw: not read-only");
	CHECK_UINT_EQ(m.clear_flags, MS_RDONLY, "ro then rw: read-only cleared");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "tmpfs", OPTS("rw", "ro"), &err), 0, "rw,ro parses");
	CHECK_UINT_EQ(m.flags, MS_RDONLY, "rw then ro: read-only");
	CHECK_UINT_EQ(m.clear_flags, 0, "rw then ro: nothing cleared");
	mount_clear(&m);

	CHECK_INT_EQ(
	    parse(&m, "tmpfs", OPTS("nosuid", "nodev", "noexec", "suid", "defaults"), &err), 0,
	    "nosuid,nodev,noexec,suid parses");
	CHECK_UINT_EQ(m.flags, MS_NODEV | MS_NOEXEC, "later suid cancels nosuid");
	CHECK_UINT_EQ(m.clear_flags, MS_NOSUID, "suid is cleared");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "tmpfs", OPTS("nosuid", "mode=755", "size=65536k", "nodev"), &err),
		     0, "tmpfs options parse");
	CHECK_STR_EQ(m.data, "mode=755,size=65536k", "unknown options joined into data");
	CHECK_UINT_EQ(m.flags, MS_NOSUID | MS_NODEV, "flags beside data");
	mount_clear(&m);

	CHECK_INT_EQ(
	    parse(&m, "overlay", OPTS("lowerdir=/a:/b", "upperdir=/u", "workdir=/w"), &err), 0,
	    "overlay options parse");
	CHECK_STR_EQ(m.data, "lowerdir=/a:/b,upperdir=/u,workdir=/w", "overlay data in order");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "tmpfs", OPTS("mode=1777"), &err), 0, "one data option parses");
	CHECK_STR_EQ(m.data, "mode=1777", "one data option, no comma");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "tmpfs", NULL, &err), 0, "no options parse");
	CHECK(m.flags == 0 && m.clear_flags == 0 && m.data == NULL && !m.bind,
	      "no options: nothing set");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "tmpfs", OPTS("RO"), &err), 0, "RO (upper case) parses");
	CHECK(m.flags == 0 && strcmp(m.data ? m.data : "", "RO") == 0,
	      "option names are case-sensitive: RO goes to data");
	mount_clear(&m);
}

static void test_propagation(void)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} all[] = {
	    {"shared", MS_SHARED},	   {"rshared", MS_SHARED | MS_REC},
	    {"slave", MS_SLAVE},	   {"rslave", MS_SLAVE | MS_REC},
	    {"private", MS_PRIVATE},	   {"rprivate", MS_PRIVATE | MS_REC},
	    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
	};
	struct husk_mount m;
	cleanup_error husk_error *err = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		CHECK_INT_EQ(parse(&m, "tmpfs", OPTS((char *)all[i].name), &err), 0, "%s parses",
			     all[i].name);
		CHECK_UINT_EQ(m.propagation, all[i].flags, "%s: propagation", all[i].name);
		CHECK(m.flags == 0 && m.data == NULL, "%s: no flags, no data", all[i].name);
		mount_clear(&m);
	}
	CHECK_INT_EQ(parse(&m, "tmpfs", OPTS("rshared", "private"), &err), 0,
		     "rshared,private parses");
	CHECK_UINT_EQ(m.propagation, MS_PRIVATE, "the last propagation option wins");
	mount_clear(&m);
}

static void test_bind(void)
{
	struct husk_mount m;
	cleanup_error husk_error *err = NULL;

	CHECK_INT_EQ(parse(&m, NULL, OPTS("bind"), &err), 0, "bind parses");
	CHECK(m.bind, "bind option: bind");
	CHECK_UINT_EQ(m.flags, MS_BIND, "bind option: MS_BIND");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, NULL, OPTS("rbind", "ro"), &err), 0, "rbind,ro parses");
	CHECK(m.bind, "rbind option: bind");
	CHECK_UINT_EQ(m.flags, MS_BIND | MS_REC | MS_RDONLY, "rbind option: MS_BIND|MS_REC");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "bind", NULL, &err), 0, "type bind parses");
	CHECK(m.bind, "type bind: bind");
	CHECK_UINT_EQ(m.flags, MS_BIND, "type bind: MS_BIND");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "rbind", OPTS("nosuid"), &err), 0, "type rbind parses");
	CHECK(m.bind, "type rbind: bind");
	CHECK_UINT_EQ(m.flags, MS_BIND | MS_REC | MS_NOSUID, "type rbind: MS_BIND|MS_REC");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "none", OPTS("rbind", "rprivate"), &err), 0,
		     "type none with rbind parses");
	CHECK(m.bind, "type none, rbind option: bind");
	CHECK_UINT_EQ(m.propagation, MS_PRIVATE | MS_REC, "rbind with rprivate");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "tmpfs", OPTS("nosuid"), &err), 0, "tmpfs parses");
	CHECK(!m.bind && (m.flags & MS_BIND) == 0, "tmpfs is not a bind mount");
	mount_clear(&m);

	CHECK_INT_EQ(parse(&m, "binder", NULL, &err), 0, "type binder parses");
	CHECK(!m.bind, "type binder is not a bind mount");
	mount_clear(&m);
}

static void expect_refused(const char *opt, const char *desc)
{
	struct husk_mount m;
	cleanup_error husk_error *err = NULL;

	CHECK(parse(&m, "bind", OPTS("rbind", (char *)opt), &err) < 0, "%s: `%s` refused", desc,
	      opt);
	CHECK_STR_CONTAINS(err ? err->msg : NULL, opt[0] ? opt : "empty", "%s: error names `%s`",
			   desc, opt);
	mount_clear(&m);
}

static void test_unsupported(void)
{
	expect_refused("rro", "recursive read-only");
	expect_refused("idmap", "idmapped mount");
	expect_refused("ridmap", "recursive idmapped mount");
	expect_refused("", "empty option");
	/*
	 * LIBBUG: the other recursive mount attributes of the OCI runtime spec
	 * (rnosuid, rnodev, rnoexec, ...) are not refused like rro: they go to
	 * `data`, which mount(2) ignores for a bind mount, so the restriction is
	 * silently dropped.
	 */
	expect_refused("rnosuid", "LIBBUG recursive nosuid");
	expect_refused("rnodev", "LIBBUG recursive nodev");
	expect_refused("rnoexec", "LIBBUG recursive noexec");
}

int main(void)
{
	test_each_flag_option();
	test_combinations();
	test_propagation();
	test_bind();
	test_unsupported();
	return tap_done();
}
