/* SPDX-License-Identifier: MIT */
/* The engine's `run` option parsers and the pure parts of its config
 * generation: -v, --mount, --tmpfs, --ulimit, --device, --memory-swap, caps,
 * --security-opt, --add-host, --env-file, users from /etc/passwd and
 * /etc/group, /etc/hosts and /etc/resolv.conf, docker seccomp profiles. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config_internal.h"
#include "config_user.h"
#include "net.h"
#include "run_parsers.h"
#include "spec_default.h"
#include "util.h"
#include "tap.h"

/* main.c's, which this test does not link: run_options.c reports through
 * it. */
void engine_error(const char *fmt, ...)
{
	(void)fmt;
}

typedef int (*parser)(struct run_options *o, const char *v, husk_error **err);

/* Parses v with fn into a fresh o; the error message (NULL when none). */
static char *parse(parser fn, struct run_options *o, const char *v)
{
	husk_error *err = NULL;
	char *msg = NULL;

	if (fn(o, v, &err) < 0)
		msg = strdup(err && err->msg ? err->msg : "(no message)");
	husk_error_free(&err);
	return msg;
}

static void expect_bad(parser fn, const char *v, const char *needle)
{
	struct run_options o = {0};
	cleanup_free char *msg = parse(fn, &o, v);

	CHECK_STR_CONTAINS(msg, needle, "`%s` is refused: ...%s...", v, needle);
	run_options_clear(&o);
}

static void test_volume(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 = parse(run_parse_volume, &o, "/host//a/../b/:/ctr/./x:ro,z");
	cleanup_free char *m2 = parse(run_parse_volume, &o, "data:/var/lib/db");
	cleanup_free char *m3 = parse(run_parse_volume, &o, "/anon/");
	cleanup_free char *m4 = parse(run_parse_volume, &o, "/h:/p:rshared");

	CHECK(m1 == NULL && m2 == NULL && m3 == NULL && m4 == NULL, "-v forms parse");
	if (!CHECK_INT_EQ(o.n_mounts, 4, "four mounts"))
		return;
	CHECK_INT_EQ(o.mounts[0].type, RUN_MOUNT_BIND, "a host path is a bind");
	CHECK_STR_EQ(o.mounts[0].source, "/host/b", "the source is cleaned");
	CHECK_STR_EQ(o.mounts[0].target, "/ctr/x", "the target is cleaned");
	CHECK(o.mounts[0].readonly && o.mounts[0].create_source, "ro; -v makes the host dir");
	CHECK_INT_EQ(o.mounts[1].type, RUN_MOUNT_VOLUME, "a name is a volume");
	CHECK_STR_EQ(o.mounts[1].source, "data", "its name");
	CHECK(o.mounts[2].type == RUN_MOUNT_VOLUME && o.mounts[2].source == NULL,
	      "-v /path is an anonymous volume");
	CHECK_STR_EQ(o.mounts[2].target, "/anon", "at /anon");
	CHECK_STR_EQ(o.mounts[3].propagation, "rshared", "a propagation");
	run_options_clear(&o);

	expect_bad(run_parse_volume, "rel/path:/x", "not a volume name");
	expect_bad(run_parse_volume, "a:/x", "not a volume name"); /* one character */
	expect_bad(run_parse_volume, "/h:relative", "not an absolute path");
	expect_bad(run_parse_volume, "/h:/", "cannot be `/`");
	expect_bad(run_parse_volume, "/h:/x:ro,rw", "both ro and rw");
	expect_bad(run_parse_volume, "/h:/x:bogus", "unknown mode `bogus`");
	expect_bad(run_parse_volume, "vol:/x:shared", "for host paths only");
	expect_bad(run_parse_volume, "/a:/b:ro:x", "too many fields");
	expect_bad(run_parse_volume, "/a:/b:ro:x:y", "must be [SOURCE:]TARGET[:MODES]");
	expect_bad(run_parse_volume, ":/x", "must be");
}

static void test_mount(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 =
	    parse(run_parse_mount, &o,
		  "type=bind,source=/tmp,target=/t,readonly,bind-propagation=rslave");
	cleanup_free char *m2 = parse(run_parse_mount, &o, "type=volume,src=v1,dst=/v,ro=false");
	cleanup_free char *m3 = parse(run_parse_mount, &o, "target=/anon");
	cleanup_free char *m4 =
	    parse(run_parse_mount, &o, "type=tmpfs,destination=/tm,tmpfs-size=64m,tmpfs-mode=1770");

	CHECK(m1 == NULL && m2 == NULL && m3 == NULL && m4 == NULL, "--mount forms parse");
	if (!CHECK_INT_EQ(o.n_mounts, 4, "four mounts"))
		return;
	CHECK(o.mounts[0].type == RUN_MOUNT_BIND && o.mounts[0].readonly &&
		  !o.mounts[0].create_source,
	      "bind, read-only, the source is not made");
	CHECK_STR_EQ(o.mounts[0].propagation, "rslave", "bind-propagation");
	CHECK(o.mounts[1].type == RUN_MOUNT_VOLUME && !o.mounts[1].readonly, "volume, ro=false");
	CHECK(o.mounts[2].type == RUN_MOUNT_VOLUME && o.mounts[2].source == NULL,
	      "the default type is an anonymous volume");
	CHECK(o.mounts[3].type == RUN_MOUNT_TMPFS && o.mounts[3].tmpfs_options &&
		  strcmp(o.mounts[3].tmpfs_options[0], "size=67108864") == 0 &&
		  strcmp(o.mounts[3].tmpfs_options[1], "mode=1770") == 0,
	      "tmpfs-size and tmpfs-mode");
	run_options_clear(&o);

	expect_bad(run_parse_mount, "type=bind,source=/no/such/dir/here,target=/x", "No such file");
	expect_bad(run_parse_mount, "type=bind,target=/x", "absolute source");
	expect_bad(run_parse_mount, "type=nfs,target=/x", "unknown type `nfs`");
	expect_bad(run_parse_mount, "type=volume,source=v", "no target");
	expect_bad(run_parse_mount, "type=volume,target=/x,colour=red", "unknown key `colour`");
	expect_bad(run_parse_mount, "type=tmpfs,target=/x,tmpfs-mode=9", "not an octal mode");
	expect_bad(run_parse_mount, "type=tmpfs,target=/x,source=/y", "no source");
	expect_bad(run_parse_mount, "type=volume,target=/x,readonly=maybe", "true or false");
}

static void test_tmpfs_and_duplicates(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 = parse(run_parse_tmpfs, &o, "/run:size=10m,mode=755,exec,uid=1");
	cleanup_free char *m2 = parse(run_parse_volume, &o, "/h:/run");
	husk_error *err = NULL;

	CHECK(m1 == NULL && m2 == NULL, "--tmpfs and -v parse");
	CHECK(run_check_mounts(&o, &err) < 0 && strstr(err->msg, "duplicate mount point `/run`"),
	      "two mounts on /run are refused");
	husk_error_free(&err);
	run_options_clear(&o);
	expect_bad(run_parse_tmpfs, "/t:size=lots", "unknown option `size=lots`");
	expect_bad(run_parse_tmpfs, "/t:bogus", "unknown option `bogus`");
	expect_bad(run_parse_tmpfs, "t", "not an absolute path");
}

static void test_resources(void)
{
	struct run_options o = {0};
	husk_error *err = NULL;
	cleanup_free char *m1 = parse(run_parse_memory, &o, "64m");
	cleanup_free char *m2 = parse(run_parse_cpus, &o, "0.5");
	cleanup_free char *m3 = parse(run_parse_pids_limit, &o, "0");

	CHECK(m1 == NULL && m2 == NULL && m3 == NULL, "-m, --cpus, --pids-limit parse");
	CHECK_INT_EQ(o.resources.memory, 64 << 20, "64m");
	CHECK_INT_EQ(o.resources.cpu_quota, 50000, "--cpus 0.5: half of the period");
	CHECK_INT_EQ(o.resources.cpu_period, 100000, "the period");
	CHECK_INT_EQ(o.resources.pids_limit, -1, "--pids-limit 0 is unlimited");
	free(parse(run_parse_memory_swap, &o, "32m"));
	CHECK(run_check_resources(&o, &err) < 0 && strstr(err->msg, "at least --memory"),
	      "--memory-swap below --memory is refused");
	husk_error_free(&err);
	free(parse(run_parse_memory_swap, &o, "-1"));
	CHECK_INT_EQ(run_check_resources(&o, &err), 0, "--memory-swap -1 is fine");
	o.resources.memory = 0;
	CHECK(run_check_resources(&o, &err) < 0 && strstr(err->msg, "needs --memory"),
	      "--memory-swap without --memory is refused");
	husk_error_free(&err);
	run_options_clear(&o);

	expect_bad(run_parse_memory, "1k", "the minimum is 6m");
	expect_bad(run_parse_memory, "lots", "not a size");
	expect_bad(run_parse_memory_swap, "-2", "not a size");
	expect_bad(run_parse_cpus, "0", "must be from 0.01");
	expect_bad(run_parse_cpus, "100000", "must be from 0.01");
	expect_bad(run_parse_cpus, "1x", "not a number");
	expect_bad(run_parse_cpu_shares, "1", "from 2 to 262144");
	expect_bad(run_parse_cpuset_cpus, "0-", "not a CPU list");
	expect_bad(run_parse_cpuset_cpus, "3-1", "not a CPU list");
	expect_bad(run_parse_cpuset_cpus, "4000", "does not have online");
	expect_bad(run_parse_pids_limit, "-5", "must be a number");
	CHECK_INT_EQ(run_cpu_list_check("0-2,4,7-8", NULL), 0, "a CPU list");
}

static void test_ulimit(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 = parse(run_parse_ulimit, &o, "nofile=100:200");
	cleanup_free char *m2 = parse(run_parse_ulimit, &o, "core=-1");
	cleanup_free char *m3 = parse(run_parse_ulimit, &o, "nofile=300");

	CHECK(m1 == NULL && m2 == NULL && m3 == NULL, "--ulimit parses");
	if (CHECK_INT_EQ(o.n_ulimits, 2, "a name given twice: the last one")) {
		CHECK(o.ulimits[0].resource == RLIMIT_NOFILE && o.ulimits[0].soft == 300 &&
			  o.ulimits[0].hard == 300,
		      "nofile=300: soft and hard");
		CHECK(o.ulimits[1].resource == RLIMIT_CORE && o.ulimits[1].soft == -1 &&
			  o.ulimits[1].hard == -1,
		      "core=-1: unlimited");
	}
	run_options_clear(&o);
	expect_bad(run_parse_ulimit, "nofile=200:100", "soft limit is above");
	expect_bad(run_parse_ulimit, "nofile=-1:100", "soft limit is above");
	expect_bad(run_parse_ulimit, "files=1", "unknown limit");
	expect_bad(run_parse_ulimit, "nofile", "NAME=SOFT[:HARD]");
	expect_bad(run_parse_ulimit, "nofile=x", "must be numbers");
}

static void test_device(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 = parse(run_parse_device, &o, "/dev/net/tun");
	cleanup_free char *m2 = parse(run_parse_device, &o, "/dev/fuse:mr");
	cleanup_free char *m3 = parse(run_parse_device, &o, "/dev/sda:/dev/xvdc:r");

	CHECK(m1 == NULL && m2 == NULL && m3 == NULL, "--device parses");
	if (CHECK_INT_EQ(o.n_devices, 3, "three devices")) {
		CHECK(strcmp(o.devices[0].container, "/dev/net/tun") == 0 &&
			  strcmp(o.devices[0].access, "rwm") == 0,
		      "HOST alone: same path, rwm");
		CHECK(strcmp(o.devices[1].container, "/dev/fuse") == 0 &&
			  strcmp(o.devices[1].access, "rm") == 0,
		      "HOST:PERMISSIONS, put in order");
		CHECK(strcmp(o.devices[2].host, "/dev/sda") == 0 &&
			  strcmp(o.devices[2].container, "/dev/xvdc") == 0 &&
			  strcmp(o.devices[2].access, "r") == 0,
		      "HOST:CONTAINER:PERMISSIONS");
	}
	run_options_clear(&o);
	expect_bad(run_parse_device, "/dev/x:rwx", "some of r, w and m");
	expect_bad(run_parse_device, "/dev/x:/dev/y:rr", "some of r, w and m");
	expect_bad(run_parse_device, "dev/x", "absolute");
	expect_bad(run_parse_device, "/a:/b:r:x", "HOST[:CONTAINER][:PERMISSIONS]");
}

static uint64_t caps_with(const char *add, const char *drop)
{
	struct run_security s = {0};
	uint64_t caps = 0;

	if (add)
		run_parse_cap(&s.cap_add, "--cap-add", add, NULL);
	if (drop)
		run_parse_cap(&s.cap_drop, "--cap-drop", drop, NULL);
	config_capabilities(&s, &caps, NULL);
	strv_free(s.cap_add);
	strv_free(s.cap_drop);
	return caps;
}

static void test_caps(void)
{
	uint64_t def = husk_caps_default();
	husk_error *err = NULL;
	char **list = NULL;

	CHECK_UINT_EQ(caps_with(NULL, NULL), def, "no flags: the default set");
	CHECK_UINT_EQ(caps_with("net_admin", "CAP_CHOWN"),
		      (def | (1ULL << CAP_NET_ADMIN)) & ~(1ULL << CAP_CHOWN),
		      "add without CAP_, drop with it");
	CHECK_UINT_EQ(caps_with("kill", "all"), 1ULL << CAP_KILL, "drop ALL keeps the added");
	CHECK_UINT_EQ(caps_with("ALL", "sys_admin"), husk_caps_all() & ~(1ULL << CAP_SYS_ADMIN),
		      "add ALL but the dropped");
	CHECK(run_parse_cap(&list, "--cap-add", "NOT_A_CAP", &err) < 0 &&
		  strstr(err->msg, "--cap-add `NOT_A_CAP`: unknown capability"),
	      "an unknown capability is refused");
	husk_error_free(&err);
	strv_free(list);
}

static void test_security_opt(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 = parse(run_parse_security_opt, &o, "no-new-privileges=false");
	cleanup_free char *m2 = parse(run_parse_security_opt, &o, "seccomp=unconfined");
	cleanup_free char *m3 = parse(run_parse_security_opt, &o, "label=disable");
	cleanup_free char *m4 = parse(run_parse_security_opt, &o, "label:disable");

	CHECK(m1 == NULL && m2 == NULL && m3 == NULL && m4 == NULL, "--security-opt forms");
	CHECK(o.security.no_new_privileges_set && !o.security.no_new_privileges,
	      "no-new-privileges=false");
	CHECK(o.security.seccomp_unconfined, "seccomp=unconfined");
	run_options_clear(&o);
	expect_bad(run_parse_security_opt, "no-new-privileges=maybe", "true or false");
	expect_bad(run_parse_security_opt, "label=type:svirt_t", "no SELinux");
	expect_bad(run_parse_security_opt, "seccomp=", "needs unconfined or a profile");
	expect_bad(run_parse_security_opt, "foo=bar", "unknown option");
}

static void test_network_options(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 = parse(run_parse_add_host, &o, "db:10.0.0.2");
	cleanup_free char *m2 = parse(run_parse_add_host, &o, "v6=[::1]");
	cleanup_free char *m3 = parse(run_parse_dns, &o, "192.0.2.53");
	husk_error *err = NULL;

	CHECK(m1 == NULL && m2 == NULL && m3 == NULL, "--add-host, --dns parse");
	CHECK(o.add_hosts && strcmp(o.add_hosts[0], "10.0.0.2\tdb") == 0 &&
		  strcmp(o.add_hosts[1], "::1\tv6") == 0,
	      "hosts lines, brackets dropped");
	run_options_clear(&o);
	expect_bad(run_parse_add_host, "db", "NAME:IP");
	expect_bad(run_parse_add_host, "db:300.1.1.1", "not an IP address");
	expect_bad(run_parse_add_host, "db:host-gateway", "not supported yet");
	expect_bad(run_parse_dns, "dns.example", "not an IP address");
	expect_bad(run_parse_network, "container:", "a container is required");
	CHECK(run_parse_userns(&o, "private", &err) < 0 && strstr(err->msg, "--userns `private`"),
	      "--userns other than host and auto is refused");
	husk_error_free(&err);
	CHECK(run_parse_userns(&o, "auto", &err) == 0 && o.security.userns_size == 65536,
	      "--userns auto: 65536 ids");
	CHECK(run_parse_userns(&o, "auto:size=1000", &err) == 0 && o.security.userns_size == 1000,
	      "--userns auto:size=1000");
	CHECK(run_parse_userns(&o, "host", &err) == 0 && o.security.userns_size == 0,
	      "--userns host: none of its own");
	CHECK(run_parse_userns(&o, "auto:size=0", &err) < 0 && strstr(err->msg, "size=N"),
	      "--userns auto:size=0 is refused");
	husk_error_free(&err);
	CHECK(run_parse_userns(&o, "auto:uidmapping=0:1:2", &err) < 0,
	      "--userns auto with an unknown option is refused");
	husk_error_free(&err);
	CHECK(run_parse_userns(&o, "autox", &err) < 0, "--userns autox is refused");
	husk_error_free(&err);
	CHECK(run_parse_userns(&o, "keep-id", &err) == 0 && o.security.userns_keep_id &&
		  o.security.keep_uid == -1 && o.security.keep_gid == -1 &&
		  o.security.userns_size == 0,
	      "--userns keep-id: the user's own ids");
	CHECK(run_parse_userns(&o, "keep-id:uid=2000,gid=3000", &err) == 0 &&
		  o.security.keep_uid == 2000 && o.security.keep_gid == 3000,
	      "--userns keep-id:uid=2000,gid=3000");
	CHECK(run_parse_userns(&o, "keep-id:gid=5", &err) == 0 && o.security.keep_uid == -1 &&
		  o.security.keep_gid == 5,
	      "--userns keep-id:gid=5 alone");
	CHECK(run_parse_userns(&o, "host", &err) == 0 && !o.security.userns_keep_id,
	      "--userns host after keep-id: none");
	CHECK(run_parse_userns(&o, "keep-id:size=3", &err) < 0 && strstr(err->msg, "uid=N,gid=N"),
	      "--userns keep-id:size=3 is refused");
	husk_error_free(&err);
	CHECK(run_parse_userns(&o, "keep-id:uid=-1", &err) < 0, "a negative uid is refused");
	husk_error_free(&err);
	CHECK(run_parse_userns(&o, "keep-idx", &err) < 0, "--userns keep-idx is refused");
	husk_error_free(&err);
}

static void test_publish(void)
{
	struct run_options o = {0};
	cleanup_free char *m1 = parse(run_parse_publish, &o, "8080:80");
	cleanup_free char *m2 = parse(run_parse_publish, &o, "127.0.0.1:5353:53/udp");
	cleanup_free char *m3 = parse(run_parse_publish, &o, "9000");
	cleanup_free char *m4 = parse(run_parse_publish, &o, "0.0.0.0::81/tcp");
	cleanup_free char *m5 = parse(run_parse_network, &o, "mynet");
	struct in_addr net;
	husk_error *err = NULL;
	int prefix;

	CHECK(!m1 && !m2 && !m3 && !m4 && !m5, "-p forms and --network NAME parse");
	CHECK(o.n_ports == 4 && o.ports[0].host_port == 8080 && o.ports[0].port == 80 &&
		  strcmp(o.ports[0].proto, "tcp") == 0 && o.ports[0].host_ip[0] == '\0',
	      "-p 8080:80");
	CHECK(strcmp(o.ports[1].host_ip, "127.0.0.1") == 0 && o.ports[1].host_port == 5353 &&
		  o.ports[1].port == 53 && strcmp(o.ports[1].proto, "udp") == 0,
	      "-p 127.0.0.1:5353:53/udp");
	CHECK(o.ports[2].host_port == 0 && o.ports[2].port == 9000, "-p 9000: a random host port");
	CHECK(o.ports[3].host_port == 0 && o.ports[3].port == 81 && o.ports[3].host_ip[0] == '\0',
	      "-p 0.0.0.0::81: every address, a random port");
	CHECK(o.network == RUN_NETWORK_BRIDGE && strcmp(o.network_name, "mynet") == 0,
	      "--network NAME");
	run_options_clear(&o);
	expect_bad(run_parse_publish, "80/sctp", "tcp or udp");
	expect_bad(run_parse_publish, "x:80", "from 1 to 65535");
	expect_bad(run_parse_publish, "70000:80", "from 1 to 65535");
	expect_bad(run_parse_publish, "8000-8010:80", "from 1 to 65535");
	expect_bad(run_parse_publish, "1.2.3.4.5:80:80", "not an IPv4 address");
	expect_bad(run_parse_publish, "a:b:80:80", "[HOST_IP:]");
	expect_bad(run_parse_dns_search, "a b", "not a domain");
	CHECK(net_parse_cidr("10.90.1.0/24", &net, &prefix, NULL) == 0 && prefix == 24,
	      "subnet parses");
	CHECK(net_parse_cidr("10.90.1.1/24", &net, &prefix, &err) < 0 &&
		  strstr(err->msg, "bits set past the prefix"),
	      "a subnet with host bits is refused");
	husk_error_free(&err);
	CHECK(net_parse_cidr("10.90.1.0/33", &net, &prefix, &err) < 0, "prefix 33 is refused");
	husk_error_free(&err);
	CHECK(net_parse_cidr("10.90.1.0", &net, &prefix, &err) < 0, "no prefix is refused");
	husk_error_free(&err);
}

/* network create -o: the MTU keys, their range, unknown keys refused;
 * a given MTU in the definition's Options and back, none when none. */
static void test_network_mtu_option(void)
{
	static const char *const bad[] = {"mtu=67",
					  "mtu=65536",
					  "mtu=x",
					  "mtu=",
					  "mtu",
					  "mtu=9000x",
					  "com.docker.network.driver.mtu=-1"};
	struct net_spec spec = {0};
	struct net_def d = {.name = "n", .id = "i", .bridge = "b", .prefix = 24};
	husk_error *err = NULL;
	json_t *j;

	CHECK(net_spec_option(&spec, "mtu=9000", NULL) == 0 && spec.mtu == 9000, "-o mtu=9000");
	CHECK(net_spec_option(&spec, "com.docker.network.driver.mtu=68", NULL) == 0 &&
		  spec.mtu == 68,
	      "-o com.docker.network.driver.mtu=68");
	CHECK(net_spec_option(&spec, "mtu=65535", NULL) == 0 && spec.mtu == 65535, "-o mtu=65535");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(net_spec_option(&spec, bad[i], &err) < 0 && err->kind == HUSK_ERR_INVALID &&
			  strstr(err->msg, "68 to 65535") && spec.mtu == 65535,
		      "-o %s is refused, the spec untouched", bad[i]);
		husk_error_free(&err);
	}
	CHECK(net_spec_option(&spec, "mtux=1", &err) < 0 && strstr(err->msg, "unknown option"),
	      "-o mtux=1: unknown");
	husk_error_free(&err);
	j = net_def_json(&d);
	CHECK(json_object_get(json_object_get(j, "Options"), NET_OPT_DOCKER_MTU) == NULL,
	      "no MTU given: none in Options");
	json_decref(j);
	d.mtu = 9000;
	j = net_def_json(&d);
	CHECK_STR_EQ(
	    json_string_value(json_object_get(json_object_get(j, "Options"), NET_OPT_DOCKER_MTU)),
	    "9000", "a given MTU in Options, a string");
	json_decref(j);
}

static void test_env_file(void)
{
	char path[] = "/tmp/husk-test-env.XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "# comment\n\n  A=1\nB=two words  \nUNSET_IN_TEST_ENV\r\nHOME\n";
	struct run_options o = {0};
	cleanup_free char *msg = NULL;

	if (fd < 0 || write(fd, text, sizeof(text) - 1) < 0)
		TAP_BAIL_OUT("temp file");
	close(fd);
	msg = parse(run_parse_env_file, &o, path);
	CHECK(msg == NULL, "--env-file parses");
	CHECK(o.env_file && strcmp(o.env_file[0], "A=1") == 0 &&
		  strcmp(o.env_file[1], "B=two words  ") == 0 &&
		  strcmp(o.env_file[2], "HOME") == 0 && o.env_file[3] == NULL,
	      "comments, blanks and unset names dropped; values kept as they are");
	run_options_clear(&o);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, "BAD NAME=1\n", 11) < 0)
		TAP_BAIL_OUT("temp file");
	close(fd);
	expect_bad(run_parse_env_file, path, "line 1: the name `BAD NAME` has blanks");
	unlink(path);
	expect_bad(run_parse_env_file, "/no/such/env/file", "No such file");
	expect_bad(run_parse_label, "=v", "no key");
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "app:x:1000:1001::/home/app:/bin/sh\n"
			     "broken line\n"
			     "nobody:x:65534:65534::/:/bin/false\n";
static const char group[] = "root:x:0:\n"
			    "wheel:x:10:root,app\n"
			    "app:x:1001:\n"
			    "staff:x:50:other,app\n";

static void expect_user(const char *spec, uint32_t uid, uint32_t gid, const char *groups)
{
	struct user_ids u = {0};
	husk_error *err = NULL;
	char got[64] = "";

	if (!CHECK_INT_EQ(user_resolve(spec, passwd, group, &u, &err), 0, "user `%s` resolves",
			  spec ? spec : "(none)")) {
		husk_error_free(&err);
		return;
	}
	for (size_t i = 0; i < u.n_groups; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", i ? "," : "",
			 u.groups[i]);
	CHECK(u.uid == uid && u.gid == gid, "user `%s`: %u:%u (got %u:%u)", spec ? spec : "", uid,
	      gid, u.uid, u.gid);
	CHECK_STR_EQ(got, groups, "user `%s`: supplementary groups", spec ? spec : "");
	user_ids_clear(&u);
}

static void expect_bad_user(const char *spec, const char *needle)
{
	struct user_ids u = {0};
	husk_error *err = NULL;

	CHECK(user_resolve(spec, passwd, group, &u, &err) < 0 && strstr(err->msg, needle),
	      "user `%s` is refused: ...%s...", spec, needle);
	husk_error_free(&err);
}

static void test_users(void)
{
	struct user_ids u = {0};

	expect_user(NULL, 0, 0, "10");
	expect_user("app", 1000, 1001, "10,50");
	expect_user("1000", 1000, 1001, "10,50");
	expect_user("app:staff", 1000, 50, "");
	expect_user("app:7", 1000, 7, "");
	expect_user("4242", 4242, 0, "");
	expect_user("4242:4243", 4242, 4243, "");
	expect_bad_user("nosuch", "no user `nosuch`");
	expect_bad_user("app:nosuch", "no group `nosuch`");
	expect_bad_user("app:", "an empty group");
	CHECK_INT_EQ(user_resolve("0", NULL, NULL, &u, NULL), 0, "no /etc/passwd: ids only");
	user_ids_clear(&u);
}

static void test_etc_files(void)
{
	struct run_options o = {0};
	cleanup_free char *hosts = NULL, *resolv = NULL, *host_mode = NULL, *dns = NULL;
	const char *host_resolv = "search example.org\nnameserver 127.0.0.53\nnameserver "
				  "192.0.2.1\nnameserver ::1\noptions ndots:2\n";

	free(parse(run_parse_add_host, &o, "db:192.0.2.7"));
	hosts = config_hosts_text(&o, "box", NULL);
	CHECK_STR_EQ(hosts,
		     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		     "127.0.0.1\tbox\n192.0.2.7\tdb\n",
		     "hosts: localhost, the hostname, --add-host");
	resolv = config_resolv_text(&o, host_resolv);
	CHECK_STR_EQ(resolv, "search example.org\nnameserver 192.0.2.1\noptions ndots:2\n",
		     "resolv.conf: the host's without its loopback nameservers");
	o.network = RUN_NETWORK_HOST;
	host_mode = config_resolv_text(&o, host_resolv);
	CHECK_STR_EQ(host_mode, host_resolv, "resolv.conf with the host's network: as it is");
	o.network = RUN_NETWORK_NONE;
	free(parse(run_parse_dns, &o, "192.0.2.99"));
	dns = config_resolv_text(&o, host_resolv);
	CHECK_STR_EQ(dns, "search example.org\noptions ndots:2\nnameserver 192.0.2.99\n",
		     "--dns replaces the nameservers");
	free(parse(run_parse_dns_search, &o, "a.example"));
	free(parse(run_parse_dns_search, &o, "b.example"));
	free(dns);
	dns = config_resolv_text(&o, host_resolv);
	CHECK_STR_EQ(dns, "options ndots:2\nnameserver 192.0.2.99\nsearch a.example b.example\n",
		     "--dns-search replaces the search domains");
	run_options_clear(&o);
}

static void test_seccomp_profile(void)
{
	const char *docker =
	    "{\"defaultAction\": \"SCMP_ACT_ERRNO\","
	    " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\","
	    "   \"subArchitectures\": [\"SCMP_ARCH_X86\"]},"
	    "  {\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": []}],"
	    " \"syscalls\": ["
	    "  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"x\"},"
	    "  {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\","
	    "   \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
	    "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\","
	    "   \"excludes\": {\"caps\": [\"CAP_KILL\"]}},"
	    "  {\"name\": \"write\", \"action\": \"SCMP_ACT_ALLOW\"}]}";
	json_t *in = json_loads(docker, 0, NULL), *out = NULL;
	cleanup_free char *text = NULL;

	if (!CHECK(in != NULL, "the profile is JSON"))
		return;
	CHECK_INT_EQ(config_seccomp_from_profile(in, 1ULL << CAP_KILL, &out, NULL), 0,
		     "a docker profile converts");
	text = out ? json_dumps(out, JSON_COMPACT) : NULL;
#ifdef __x86_64__
	CHECK_STR_CONTAINS(text, "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"]",
			   "archMap: this host's architecture and its sub-architectures");
#endif
	CHECK(text && !strstr(text, "archMap") && !strstr(text, "includes") &&
		  !strstr(text, "comment"),
	      "docker's own fields are gone");
	CHECK(text && !strstr(text, "mount") && !strstr(text, "ptrace"),
	      "rules for caps the container lacks, or excluded by one it has, are left out");
	CHECK_STR_CONTAINS(text, "{\"action\":\"SCMP_ACT_ALLOW\",\"names\":[\"write\"]}",
			   "the one-name form becomes names");
	json_decref(in);
	json_decref(out);
}

static void test_path_clean(void)
{
	const char *cases[][2] = {
	    {"/", "/"},	     {"//a//b/", "/a/b"}, {"/a/./b/../c", "/a/c"},
	    {"/../..", "/"}, {"/a/..", "/"},	  {"/a/b/c/../../d", "/a/d"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *c = run_path_clean(cases[i][0]);
		CHECK_STR_EQ(c, cases[i][1], "clean `%s`", cases[i][0]);
	}
	CHECK(run_path_clean("rel") == NULL, "a relative path is refused");
	CHECK(run_volume_name_valid("ab") && run_volume_name_valid("my_vol.1-x") &&
		  !run_volume_name_valid("a") && !run_volume_name_valid("-ab") &&
		  !run_volume_name_valid("a/b") && !run_volume_name_valid(".ab"),
	      "volume names as docker's");
}

int main(void)
{
	test_volume();
	test_mount();
	test_tmpfs_and_duplicates();
	test_resources();
	test_ulimit();
	test_device();
	test_caps();
	test_security_opt();
	test_network_options();
	test_publish();
	test_network_mtu_option();
	test_env_file();
	test_users();
	test_etc_files();
	test_seccomp_profile();
	test_path_clean();
	return tap_done();
}
