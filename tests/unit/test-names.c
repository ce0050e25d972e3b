/* SPDX-License-Identifier: MIT */
/* Name tables: signals, capabilities, rlimits, namespaces. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include "signals.h"
#include "spec.h"
#include "util.h"
#include "tap.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void expect_signal(const char *s, int expected)
{
	int sig = -1;
	int r = husk_signal_parse(s, &sig);

	if (CHECK_INT_EQ(r, 0, "signal \"%s\" parses", s))
		CHECK_INT_EQ(sig, expected, "signal \"%s\" is %d", s, expected);
}

static void expect_bad_signal(const char *s)
{
	int sig = -12345;
	int r = husk_signal_parse(s, &sig);

	CHECK_INT_EQ(r, -EINVAL, "signal \"%s\" is refused with -EINVAL", s);
	CHECK_INT_EQ(sig, -12345, "signal \"%s\": result untouched", s);
}

static void test_signals(void)
{
	int sig = -1;

	expect_signal("TERM", SIGTERM);
	expect_signal("SIGTERM", SIGTERM);
	expect_signal("sigterm", SIGTERM);
	expect_signal("sigkill", SIGKILL);
	expect_signal("Hup", SIGHUP);
	expect_signal("9", SIGKILL);
	expect_signal("1", SIGHUP);
	expect_signal("64", SIGRTMAX);
	expect_signal("CHLD", SIGCHLD);
	expect_signal("CLD", SIGCHLD);
	expect_signal("IOT", SIGABRT);
	expect_signal("SIGWINCH", SIGWINCH);
	expect_signal("RTMIN", SIGRTMIN);
	expect_signal("RTMIN+1", SIGRTMIN + 1);
	expect_signal("SIGRTMIN+3", SIGRTMIN + 3);
	expect_signal("rtmin+0", SIGRTMIN);
	expect_signal("RTMAX", SIGRTMAX);
	expect_signal("RTMAX-1", SIGRTMAX - 1);
	expect_signal("SIGRTMAX-2", SIGRTMAX - 2);
	expect_signal("RTMIN+30", SIGRTMIN + 30);

	expect_bad_signal("0");
	expect_bad_signal("65");
	expect_bad_signal("-9");
	expect_bad_signal("FOO");
	expect_bad_signal("SIGFOO");
	expect_bad_signal("");
	expect_bad_signal("SIG");
	expect_bad_signal("SIGRTMAX+1");
	expect_bad_signal("RTMIN-1");
	expect_bad_signal("RTMIN+");
	expect_bad_signal("RTMIN+x");
	expect_bad_signal("RTMIN+31");
	expect_bad_signal("RTMAX-31");
	expect_bad_signal("TERMX");
	expect_bad_signal("9x");
	CHECK_INT_EQ(husk_signal_parse(NULL, &sig), -EINVAL, "signal NULL is refused");

	CHECK_STR_EQ(husk_signal_name(SIGTERM), "TERM", "signal name of SIGTERM");
	CHECK_STR_EQ(husk_signal_name(SIGKILL), "KILL", "signal name of SIGKILL");
	CHECK_STR_EQ(husk_signal_name(SIGABRT), "ABRT", "signal name of SIGABRT (not IOT)");
	CHECK_STR_EQ(husk_signal_name(SIGCHLD), "CHLD", "signal name of SIGCHLD (not CLD)");
	CHECK_STR_EQ(husk_signal_name(SIGSYS), "SYS", "signal name of SIGSYS");
	CHECK_STR_EQ(husk_signal_name(0), NULL, "signal name of 0 is NULL");
	CHECK_STR_EQ(husk_signal_name(SIGRTMIN + 2), NULL, "signal name of a realtime signal");

	/* Every named signal parses back to itself. */
	for (int s = 1; s < SIGRTMIN; s++) {
		const char *name = husk_signal_name(s);
		int back = -1;

		if (name == NULL)
			continue;
		CHECK(husk_signal_parse(name, &back) == 0 && back == s,
		      "signal %d: name %s parses back", s, name);
	}
}

static void test_capabilities(void)
{
	CHECK_INT_EQ(husk_cap_from_name("CAP_CHOWN"), 0, "CAP_CHOWN is 0");
	CHECK_INT_EQ(husk_cap_from_name("CAP_SYS_ADMIN"), 21, "CAP_SYS_ADMIN is 21");
	CHECK_INT_EQ(husk_cap_from_name("cap_sys_admin"), 21, "cap_sys_admin (lower case) is 21");
	CHECK_INT_EQ(husk_cap_from_name("Cap_Net_Raw"), 13, "Cap_Net_Raw (mixed case) is 13");
	CHECK_INT_EQ(husk_cap_from_name("CAP_MKNOD"), 27, "CAP_MKNOD is 27");
	CHECK_INT_EQ(husk_cap_from_name("CAP_SETFCAP"), 31, "CAP_SETFCAP is 31");
	CHECK_INT_EQ(husk_cap_from_name("CAP_AUDIT_READ"), 37, "CAP_AUDIT_READ is 37");
	CHECK_INT_EQ(husk_cap_from_name("CAP_PERFMON"), 38, "CAP_PERFMON is 38");
	CHECK_INT_EQ(husk_cap_from_name("CAP_BPF"), 39, "CAP_BPF is 39");
	CHECK_INT_EQ(husk_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40,
		     "CAP_CHECKPOINT_RESTORE is 40");
	CHECK_INT_EQ(husk_cap_from_name("SYS_ADMIN"), -1, "name without CAP_ is unknown");
	CHECK_INT_EQ(husk_cap_from_name("CAP_FLY"), -1, "CAP_FLY is unknown");
	CHECK_INT_EQ(husk_cap_from_name(""), -1, "empty name is unknown");
	CHECK_INT_EQ(husk_cap_from_name("CAP_SYS_ADMIN "), -1, "trailing space is unknown");

	CHECK_INT_EQ(husk_cap_last(), 40, "last capability is CAP_CHECKPOINT_RESTORE (40)");
	CHECK_STR_EQ(husk_cap_name(0), "CAP_CHOWN", "cap 0 name");
	CHECK_STR_EQ(husk_cap_name(21), "CAP_SYS_ADMIN", "cap 21 name");
	CHECK_STR_EQ(husk_cap_name(husk_cap_last()), "CAP_CHECKPOINT_RESTORE", "last cap name");
	CHECK_STR_EQ(husk_cap_name(husk_cap_last() + 1), NULL, "cap past the last is NULL");
	CHECK_STR_EQ(husk_cap_name(-1), NULL, "cap -1 is NULL");
	CHECK_STR_EQ(husk_cap_name(64), NULL, "cap 64 is NULL");

	for (int c = 0; c <= husk_cap_last(); c++) {
		const char *name = husk_cap_name(c);
		CHECK(name != NULL && husk_cap_from_name(name) == c, "cap %d: %s round trip", c,
		      name ? name : "(null)");
	}
}

static void test_rlimits(void)
{
	static const struct {
		const char *name;
		int resource;
	} all[] = {
	    {"RLIMIT_CPU", RLIMIT_CPU},		  {"RLIMIT_FSIZE", RLIMIT_FSIZE},
	    {"RLIMIT_DATA", RLIMIT_DATA},	  {"RLIMIT_STACK", RLIMIT_STACK},
	    {"RLIMIT_CORE", RLIMIT_CORE},	  {"RLIMIT_RSS", RLIMIT_RSS},
	    {"RLIMIT_NPROC", RLIMIT_NPROC},	  {"RLIMIT_NOFILE", RLIMIT_NOFILE},
	    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},	  {"RLIMIT_AS", RLIMIT_AS},
	    {"RLIMIT_LOCKS", RLIMIT_LOCKS},	  {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
	    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},	  {"RLIMIT_RTTIME", RLIMIT_RTTIME},
	};

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		CHECK_INT_EQ(husk_rlimit_from_name(all[i].name), all[i].resource, "rlimit %s",
			     all[i].name);
		CHECK_STR_EQ(husk_rlimit_name(all[i].resource), all[i].name, "rlimit name of %d",
			     all[i].resource);
	}
	CHECK_INT_EQ(RLIM_NLIMITS, (int)ARRAY_SIZE(all), "every kernel rlimit has a name");
	CHECK_INT_EQ(husk_rlimit_from_name("RLIMIT_FOO"), -1, "RLIMIT_FOO is unknown");
	CHECK_INT_EQ(husk_rlimit_from_name("NOFILE"), -1, "NOFILE without prefix is unknown");
	CHECK_INT_EQ(husk_rlimit_from_name(""), -1, "empty rlimit name is unknown");
	CHECK_STR_EQ(husk_rlimit_name(RLIM_NLIMITS), "RLIMIT_?", "rlimit name of an unknown one");
}

static void test_namespaces(void)
{
	static const struct {
		const char *name;
		enum husk_ns_type type;
		int flag;
	} all[] = {
	    {"mount", HUSK_NS_MOUNT, CLONE_NEWNS},	 {"uts", HUSK_NS_UTS, CLONE_NEWUTS},
	    {"ipc", HUSK_NS_IPC, CLONE_NEWIPC},		 {"pid", HUSK_NS_PID, CLONE_NEWPID},
	    {"network", HUSK_NS_NET, CLONE_NEWNET},	 {"user", HUSK_NS_USER, CLONE_NEWUSER},
	    {"cgroup", HUSK_NS_CGROUP, CLONE_NEWCGROUP}, {"time", HUSK_NS_TIME, CLONE_NEWTIME},
	};
	int seen = 0;

	CHECK_INT_EQ(ARRAY_SIZE(all), HUSK_NS_COUNT, "every namespace type is tested");
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		CHECK_INT_EQ(husk_ns_from_name(all[i].name), all[i].type, "namespace %s",
			     all[i].name);
		CHECK_STR_EQ(husk_ns_name(all[i].type), all[i].name, "namespace name of %d",
			     all[i].type);
		CHECK_INT_EQ(husk_ns_clone_flag(all[i].type), all[i].flag, "clone flag of %s",
			     all[i].name);
		seen |= husk_ns_clone_flag(all[i].type);
	}
	CHECK_INT_EQ(__builtin_popcount(seen), HUSK_NS_COUNT, "clone flags are distinct");
	CHECK_INT_EQ(husk_ns_from_name("net"), -1, "\"net\" is not a namespace name");
	CHECK_INT_EQ(husk_ns_from_name("Mount"), -1, "namespace names are case-sensitive");
	CHECK_INT_EQ(husk_ns_from_name(""), -1, "empty namespace name");
	CHECK_STR_EQ(husk_ns_name(HUSK_NS_COUNT), NULL, "namespace name out of range");
	CHECK_STR_EQ(husk_ns_name((enum husk_ns_type) - 1), NULL, "namespace name of -1");
	CHECK_INT_EQ(husk_ns_clone_flag(HUSK_NS_COUNT), 0, "clone flag out of range");
}

int main(void)
{
	test_signals();
	test_capabilities();
	test_rlimits();
	test_namespaces();
	return tap_done();
}
