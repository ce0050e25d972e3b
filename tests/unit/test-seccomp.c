/* SPDX-License-Identifier: MIT */
/* Unit tests for seccomp.c and seccomp_profile.c, in TAP. Filters are loaded
 * in forked children; the children report through their exit status. Run as
 * root for the checks that need privileges (they are skipped otherwise). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "seccomp_cache.h"
#include "seccomp_filter.h"
#include "util.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define cleanup_json __attribute__((cleanup(json_decrefp)))

static int n_tests, n_failed;

static void report(bool ok, const char *skip, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(bool ok, const char *skip, const char *fmt, ...)
{
	va_list ap;

	n_tests++;
	if (!ok && skip == NULL)
		n_failed++;
	printf("%sok %d - ", ok || skip ? "" : "not ", n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (skip != NULL)
		printf(" # SKIP %s", skip);
	printf("\n");
	fflush(stdout);
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	if (j == NULL) {
		fprintf(stderr, "bad test JSON: %s: %s\n", jerr.text, text);
		abort();
	}
	return j;
}

static struct husk_seccomp *prepare(const char *text, husk_error **err)
{
	cleanup_json json_t *j = parse(text);
	struct husk_seccomp *s = NULL;

	return husk_seccomp_prepare(j, NULL, &s, err) < 0 ? NULL : s;
}

/* ---- validation ------------------------------------------------------- */

static void expect_error(const char *name, const char *text, const char *expected)
{
	cleanup_error husk_error *err = NULL;
	struct husk_seccomp *s = prepare(text, &err);
	bool ok = s == NULL && err != NULL && strstr(err->msg, expected) != NULL;

	report(ok, NULL, "rejects %s", name);
	if (!ok)
		printf("# expected `%s`, got `%s`\n", expected, err ? err->msg : "success");
	husk_seccomp_free(s);
}

static void expect_valid(const char *name, const char *text)
{
	cleanup_error husk_error *err = NULL;
	struct husk_seccomp *s = prepare(text, &err);

	report(s != NULL, NULL, "accepts %s", name);
	if (s == NULL)
		printf("# %s\n", err ? err->msg : "?");
	husk_seccomp_free(s);
}

/* Three alternatives for each of the six arguments: 729 rules. */
static const char *too_many_alternatives(void)
{
	static char text[4096];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text),
			     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
			     "\"syscalls\": [{\"names\": [\"read\"], "
			     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [");
	for (int i = 0; i < 18; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "%s{\"index\": %d, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"}",
				      i ? ", " : "", i / 3, i % 3);
	snprintf(text + n, sizeof(text) - n, "]}]}");
	return text;
}

static void test_validation(void)
{
	expect_error("a missing defaultAction", "{}", "linux.seccomp.defaultAction: is required");
	expect_error("an unknown defaultAction", "{\"defaultAction\": \"SCMP_ACT_FOO\"}",
		     "linux.seccomp.defaultAction: unknown action `SCMP_ACT_FOO`");
	expect_error("defaultErrnoRet with a kill action",
		     "{\"defaultAction\": \"SCMP_ACT_KILL\", \"defaultErrnoRet\": 1}",
		     "linux.seccomp.defaultErrnoRet: `SCMP_ACT_KILL` takes no errno");
	expect_error("an unknown architecture",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": "
		     "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_VAX\"]}",
		     "linux.seccomp.architectures[1]: unknown architecture `SCMP_ARCH_VAX`");
	expect_error(
	    "an unknown flag",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_FOO\"]}",
	    "linux.seccomp.flags[0]: unknown flag `SECCOMP_FILTER_FLAG_FOO`");
	expect_error("syscalls that is not an array",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
		     "linux.seccomp.syscalls: must be an array");
	expect_error("an unknown action",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		     "{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\"},"
		     "{\"names\": [\"write\"], \"action\": \"SCMP_ACT_LOG\"},"
		     "{\"names\": [\"open\"], \"action\": \"SCMP_ACT_KILL\"},"
		     "{\"names\": [\"close\"], \"action\": \"SCMP_ACT_FOO\"}]}",
		     "linux.seccomp.syscalls[3].action: unknown action `SCMP_ACT_FOO`");
	expect_error(
	    "an unknown operator",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
	    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, "
	    "\"op\": \"SCMP_CMP_FOO\"}]}]}",
	    "linux.seccomp.syscalls[0].args[0].op: unknown operator `SCMP_CMP_FOO`");
	expect_error(
	    "an argument index above 5",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
	    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, "
	    "\"op\": \"SCMP_CMP_EQ\"}, {\"index\": 6, \"value\": 1, \"op\": "
	    "\"SCMP_CMP_EQ\"}]}]}",
	    "linux.seccomp.syscalls[0].args[1].index: must be an integer between 0 and 5");
	expect_error(
	    "an argument without value",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
	    "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"op\": "
	    "\"SCMP_CMP_EQ\"}]}]}",
	    "linux.seccomp.syscalls[0].args[0].value: is required");
	expect_error(
	    "errnoRet with SCMP_ACT_ALLOW",
	    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], "
	    "\"action\": \"SCMP_ACT_ALLOW\", \"errnoRet\": 1}]}",
	    "linux.seccomp.syscalls[0].errnoRet: `SCMP_ACT_ALLOW` takes no errno");
	expect_error(
	    "an errnoRet out of range",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"], "
	    "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 70000}]}",
	    "linux.seccomp.syscalls[0].errnoRet: must be an integer between 0 and 65535");
	expect_error("empty names",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], "
		     "\"action\": \"SCMP_ACT_ERRNO\"}]}",
		     "linux.seccomp.syscalls[0].names: is required");
	expect_error("listenerMetadata without listenerPath",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerMetadata\": \"x\"}",
		     "linux.seccomp.listenerMetadata: must not be set without listenerPath");
	expect_error("SCMP_ACT_NOTIFY without listenerPath",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		     "[\"getppid\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
		     "linux.seccomp.listenerPath: is required when an action is SCMP_ACT_NOTIFY");
	expect_error("too many alternatives", too_many_alternatives(),
		     "linux.seccomp.syscalls[0].args: more than 256 combinations");

	expect_valid(
	    "unknown syscall names (skipped)",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
	    "[\"husk_no_such_syscall\", \"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	expect_valid("a rule repeating the default action (skipped)",
		     "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		     "[\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	expect_valid(
	    "architectures libseccomp cannot add here (skipped)",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\", "
	    "\"SCMP_ARCH_X32\", \"SCMP_ARCH_S390X\", \"SCMP_ARCH_LOONGARCH64\"]}");
	expect_valid(
	    "every action and operator",
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
	    "{\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
	    "{\"names\": [\"setpriority\"], \"action\": \"SCMP_ACT_KILL_THREAD\"},"
	    "{\"names\": [\"getrusage\"], \"action\": \"SCMP_ACT_KILL\"},"
	    "{\"names\": [\"getitimer\"], \"action\": \"SCMP_ACT_TRAP\"},"
	    "{\"names\": [\"setitimer\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 5},"
	    "{\"names\": [\"alarm\"], \"action\": \"SCMP_ACT_LOG\"},"
	    "{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
	    "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_NE\"},"
	    "{\"index\": 1, \"value\": 2, \"op\": \"SCMP_CMP_LT\"},"
	    "{\"index\": 2, \"value\": 3, \"op\": \"SCMP_CMP_LE\"},"
	    "{\"index\": 3, \"value\": 4, \"op\": \"SCMP_CMP_GE\"},"
	    "{\"index\": 4, \"value\": 5, \"op\": \"SCMP_CMP_GT\"},"
	    "{\"index\": 5, \"value\": 6, \"valueTwo\": 2, \"op\": \"SCMP_CMP_MASKED_EQ\"}"
	    "]}]}");
}

/* ---- filters in action ------------------------------------------------ */

/* Forks; the child installs the filter and exits with fn()'s result (0 for
 * success). Returns the exit status, 100 when the filter would not load, or
 * 128 + the signal that killed the child. */
static int run_filtered(struct husk_seccomp *s, int (*fn)(void))
{
	pid_t pid = fork();
	int status, fd = -1;

	if (pid == 0) {
		husk_error *err = NULL;

		/* Without CAP_SYS_ADMIN the kernel wants no_new_privs. */
		if (geteuid() != 0)
			(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (s != NULL && husk_seccomp_load(s, &fd, &err) < 0)
			_exit(100);
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The outcome of a call, as a child's exit status: 0 for success, else the
 * errno it failed with (capped). */
static int outcome(long r)
{
	if (r >= 0)
		return 0;
	return errno > 0 && errno < 100 ? errno : 99;
}

static int call_getpriority(void)
{
	errno = 0;
	return getpriority(PRIO_PROCESS, 0) == -1 && errno != 0 ? outcome(-1) : 0;
}

static int call_personality_query(void)
{
	return outcome(personality(0xffffffff));
}

static int call_personality_linux(void)
{
	return outcome(personality(PER_LINUX));
}

static int call_personality_uname26(void)
{
	return outcome(personality(UNAME26));
}

static int call_personality_linux32(void)
{
	return outcome(personality(PER_LINUX32));
}

static int call_personality_bsd(void)
{
	return outcome(personality(PER_BSD));
}

static int expect_getpriority(int which, id_t who)
{
	errno = 0;
	return getpriority(which, who) == -1 && errno != 0 ? outcome(-1) : 0;
}

static int call_getpriority_process_0(void)
{
	return expect_getpriority(PRIO_PROCESS, 0);
}

static int call_getpriority_process_1(void)
{
	return expect_getpriority(PRIO_PROCESS, 1);
}

static int call_getpriority_process_self(void)
{
	return expect_getpriority(PRIO_PROCESS, (id_t)getpid());
}

static int call_getpriority_pgrp_0(void)
{
	return expect_getpriority(PRIO_PGRP, 0);
}

static void expect_outcome(const char *name, struct husk_seccomp *s, int (*fn)(void), int expected)
{
	int got = run_filtered(s, fn);

	report(got == expected, NULL, "%s", name);
	if (got != expected)
		printf("# child exit status %d, expected %d\n", got, expected);
}

static void test_errno(void)
{
	cleanup_error husk_error *err = NULL;
	struct husk_seccomp *s;

	s = prepare("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		    "[\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}",
		    &err);
	report(s != NULL, NULL, "prepare a filter denying getpriority");
	if (s == NULL)
		return;
	expect_outcome("getpriority works without the filter", NULL, call_getpriority, 0);
	expect_outcome("the filter makes getpriority fail with errnoRet", s, call_getpriority, 42);
	expect_outcome("the filter leaves personality alone", s, call_personality_query, 0);
	husk_seccomp_free(s);

	s = prepare("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		    "[\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
		    &err);
	expect_outcome("SCMP_ACT_ERRNO without errnoRet means EPERM", s, call_getpriority, EPERM);
	husk_seccomp_free(s);

	s = prepare("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		    "[\"getpriority\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}",
		    &err);
	expect_outcome("SCMP_ACT_KILL_PROCESS kills with SIGSYS", s, call_getpriority,
		       128 + SIGSYS);
	husk_seccomp_free(s);
}

static void test_arguments(void)
{
	cleanup_error husk_error *err = NULL;
	struct husk_seccomp *s;

	s = prepare("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		    "[\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, "
		    "\"value\": 4294967295, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		    &err);
	expect_outcome("arg0 == 0xffffffff: personality query denied", s, call_personality_query,
		       EPERM);
	expect_outcome("arg0 != 0xffffffff: personality(PER_LINUX) allowed", s,
		       call_personality_linux, 0);
	husk_seccomp_free(s);

	/* Two comparisons of arg0: either one matches. */
	s = prepare("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
		    "[\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
		    "{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"},"
		    "{\"index\": 0, \"value\": 131072, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		    &err);
	expect_outcome("same argument twice: first alternative denied", s, call_personality_uname26,
		       EPERM);
	expect_outcome("same argument twice: second alternative denied", s,
		       call_personality_linux32, EPERM);
	expect_outcome("same argument twice: other values allowed", s, call_personality_linux, 0);
	husk_seccomp_free(s);

	/* (arg0 == PRIO_PROCESS) && (arg1 == 0 || arg1 == 1) */
	s = prepare(
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
	    "[\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42, \"args\": ["
	    "{\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"},"
	    "{\"index\": 1, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"},"
	    "{\"index\": 1, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	    &err);
	expect_outcome("mixed arguments: (PRIO_PROCESS, 0) denied", s, call_getpriority_process_0,
		       42);
	expect_outcome("mixed arguments: (PRIO_PROCESS, 1) denied", s, call_getpriority_process_1,
		       42);
	expect_outcome("mixed arguments: (PRIO_PROCESS, self) allowed", s,
		       call_getpriority_process_self, 0);
	expect_outcome("mixed arguments: (PRIO_PGRP, 0) allowed, arguments are ANDed", s,
		       call_getpriority_pgrp_0, 0);
	husk_seccomp_free(s);
}

static void test_flags(void)
{
	cleanup_error husk_error *err = NULL;
	struct husk_seccomp *s;

	s = prepare(
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": ["
	    "\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_LOG\", "
	    "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"], "
	    "\"syscalls\": [{\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", "
	    "\"errnoRet\": 42}]}",
	    &err);
	report(s != NULL, NULL, "prepare a filter with every flag");
	if (s != NULL)
		expect_outcome("a filter with every flag loads and works", s, call_getpriority, 42);
	husk_seccomp_free(s);
}

/* ---- notify ----------------------------------------------------------- */

static struct husk_seccomp *notify_filter;

/* In the child: load, hand the fd to the listener, then call the notified
 * syscall, whose result the listener makes up. */
static int notify_child(void)
{
	cleanup_json json_t *state =
	    json_pack("{s:s, s:s, s:s}", "ociVersion", "1.0.2", "id", "test", "status", "creating");
	husk_error *err = NULL;
	int fd = -1;

	if (geteuid() != 0)
		(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (husk_seccomp_load(notify_filter, &fd, &err) < 0)
		return 10;
	if (fd < 0 || !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
		return 11;
	if (husk_seccomp_send_listener(notify_filter, fd, getpid(), state, &err) < 0)
		return 12;
	close(fd);
	return syscall(SYS_getppid) == 4242 ? 0 : 13;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 1) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool check_process_state(const char *text, pid_t pid)
{
	cleanup_json json_t *msg = json_loads(text, 0, NULL);
	json_t *fds = json_object_get(msg, "fds");

	return msg != NULL && json_is_string(json_object_get(msg, "ociVersion")) &&
	       json_array_size(fds) == 1 &&
	       strcmp(json_string_value(json_array_get(fds, 0)) ?: "", "seccompFd") == 0 &&
	       json_integer_value(json_object_get(msg, "pid")) == pid &&
	       strcmp(json_string_value(json_object_get(msg, "metadata")) ?: "", "meta") == 0 &&
	       strcmp(json_string_value(json_object_get(json_object_get(msg, "state"), "id")) ?: "",
		      "test") == 0;
}

/* The listener's side: receive the state and fd, answer one notification. */
static bool serve_notification(int lfd, pid_t pid)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	cleanup_close int conn = -1, nfd = -1;
	char buf[4096] = {0};
	int n;

	if (poll(&p, 1, 10000) != 1)
		return false;
	conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	n = conn < 0 ? -1 : recv_fd(conn, &nfd, buf, sizeof(buf) - 1);
	report(n > 0 && nfd >= 0 && check_process_state(buf, pid), NULL,
	       "the listener gets the fd and the container process state");
	if (nfd < 0)
		return false;
	memset(&req, 0, sizeof(req));
	if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return false;
	resp = (struct seccomp_notif_resp){.id = req.id, .val = 4242};
	return req.data.nr == SYS_getppid && ioctl(nfd, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0;
}

static void test_listener_unreachable(void)
{
	cleanup_error husk_error *err = NULL;
	cleanup_json json_t *state = json_pack("{s:s}", "id", "test");
	struct husk_seccomp *s;

	s = prepare("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": "
		    "\"/nonexistent-husk/agent.sock\", \"syscalls\": [{\"names\": [\"getppid\"], "
		    "\"action\": \"SCMP_ACT_NOTIFY\"}]}",
		    &err);
	if (s == NULL) {
		report(false, "no SCMP_ACT_NOTIFY here", "an unreachable listener is an error");
		return;
	}
	report(husk_seccomp_send_listener(s, -1, getpid(), state, &err) < 0 && err != NULL &&
		   strstr(err->msg, "`/nonexistent-husk/agent.sock`") != NULL,
	       NULL, "an unreachable listener is an error naming it");
	husk_seccomp_free(s);
}

static void test_notify(void)
{
	cleanup_error husk_error *err = NULL;
	char dir[] = "/tmp/husk-seccomp-XXXXXX", path[64], text[512];
	cleanup_close int lfd = -1;
	int status = -1;
	pid_t pid;
	bool served;

	if (mkdtemp(dir) == NULL) {
		report(false, NULL, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	snprintf(text, sizeof(text),
		 "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"%s\", "
		 "\"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\", "
		 "\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"], "
		 "\"listenerMetadata\": \"meta\", \"syscalls\": [{\"names\": [\"getppid\"], "
		 "\"action\": \"SCMP_ACT_NOTIFY\"}]}",
		 path);
	notify_filter = prepare(text, &err);
	if (notify_filter == NULL) {
		report(false, "no SCMP_ACT_NOTIFY here", "SCMP_ACT_NOTIFY round trip (%s)",
		       err ? err->msg : "?");
		rmdir(dir);
		return;
	}
	report(husk_seccomp_uses_notify(notify_filter) &&
		   strcmp(husk_seccomp_listener_path(notify_filter), path) == 0,
	       NULL, "a notify filter knows its listener");
	lfd = listen_unix(path);
	pid = lfd < 0 ? -1 : fork();
	if (pid == 0)
		_exit(notify_child());
	served = pid > 0 && serve_notification(lfd, pid);
	if (pid > 0)
		waitpid(pid, &status, 0);
	report(served && WIFEXITED(status) && WEXITSTATUS(status) == 0, NULL,
	       "SCMP_ACT_NOTIFY: a valid fd, and the listener answers the syscall");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("# child status 0x%x\n", status);
	husk_seccomp_free(notify_filter);
	unlink(path);
	rmdir(dir);
}

/* ---- the default profile ---------------------------------------------- */

enum expect { SUCCEEDS, BLOCKED, NOT_BLOCKED };

struct syscall_check {
	const char *name;
	int (*call)(void);
	enum expect expect;
};

static int call_mount(void)
{
	return outcome(mount(NULL, "/nonexistent-husk-test", NULL, MS_REMOUNT, NULL));
}

static int call_umount2(void)
{
	return outcome(umount2("/nonexistent-husk-test", 0));
}

static int call_unshare_user(void)
{
	return outcome(unshare(CLONE_NEWUSER));
}

static int call_unshare_uts(void)
{
	return outcome(unshare(CLONE_NEWUTS));
}

static int call_setns(void)
{
	return outcome(setns(-1, 0));
}

static int call_keyctl(void)
{
	/* KEYCTL_GET_KEYRING_ID of the session keyring, without creating it */
	return outcome(syscall(SYS_keyctl, 0, -3, 0));
}

static int call_kexec_load(void)
{
	/* Flags the kernel refuses (EINVAL) in case the filter lets it through. */
	return outcome(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 1UL << 10));
}

static int call_init_module(void)
{
	return outcome(syscall(SYS_init_module, NULL, 0UL, ""));
}

static int call_bpf(void)
{
	return outcome(syscall(SYS_bpf, -1, NULL, 0));
}

static int call_clone3(void)
{
	return outcome(syscall(SYS_clone3, NULL, 0));
}

static int call_socket_vsock(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 ? close(fd), 0 : outcome(-1);
}

static int call_getpid(void)
{
	return getpid() > 0 ? 0 : 1;
}

static int call_pipe_read_write(void)
{
	int p[2];
	char c = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return outcome(-1);
	return write(p[1], "x", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'x' ? 0 : 1;
}

static int call_fork(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(7);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return outcome(-1);
	return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 1;
}

static void *thread_main(void *arg)
{
	return arg;
}

static int call_pthread_create(void)
{
	pthread_t t;
	void *ret = NULL;

	if (pthread_create(&t, NULL, thread_main, (void *)1) != 0)
		return 1;
	return pthread_join(t, &ret) == 0 && ret == (void *)1 ? 0 : 1;
}

static int call_uname(void)
{
	struct utsname u;

	return outcome(uname(&u));
}

static int call_socket_unix(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 ? close(fd), 0 : outcome(-1);
}

static const struct syscall_check no_caps_checks[] = {
    {"mount", call_mount, BLOCKED},
    {"umount2", call_umount2, BLOCKED},
    {"unshare(CLONE_NEWUSER)", call_unshare_user, BLOCKED},
    {"unshare(CLONE_NEWUTS)", call_unshare_uts, BLOCKED},
    {"setns", call_setns, BLOCKED},
    {"keyctl", call_keyctl, BLOCKED},
    {"kexec_load", call_kexec_load, BLOCKED},
    {"init_module", call_init_module, BLOCKED},
    {"bpf", call_bpf, BLOCKED},
    {"personality(PER_BSD)", call_personality_bsd, BLOCKED},
    {"socket(AF_VSOCK)", call_socket_vsock, BLOCKED},
    {"getpid", call_getpid, SUCCEEDS},
    {"read and write", call_pipe_read_write, SUCCEEDS},
    {"fork (clone)", call_fork, SUCCEEDS},
    {"pthread_create (clone3 falls back to clone)", call_pthread_create, SUCCEEDS},
    {"uname", call_uname, SUCCEEDS},
    {"personality query", call_personality_query, SUCCEEDS},
    {"socket(AF_UNIX)", call_socket_unix, SUCCEEDS},
};

static const struct syscall_check sys_admin_checks[] = {
    {"unshare(CLONE_NEWUTS)", call_unshare_uts, SUCCEEDS},
    {"mount", call_mount, NOT_BLOCKED},
    {"unshare(CLONE_NEWUSER)", call_unshare_user, NOT_BLOCKED},
    {"clone3", call_clone3, NOT_BLOCKED},
    {"init_module", call_init_module, BLOCKED},
};

static void run_check(struct husk_seccomp *s, const char *profile, const struct syscall_check *c)
{
	int unfiltered = run_filtered(NULL, c->call), got;

	/* A blocked call must fail with EPERM because of the filter, not anyway. */
	if (c->expect == BLOCKED && unfiltered == EPERM) {
		report(true, "fails with EPERM without a filter too", "%s: %s blocked", profile,
		       c->name);
		return;
	}
	if (c->expect == SUCCEEDS && unfiltered != 0) {
		report(true, "fails without a filter too (not root?)", "%s: %s works", profile,
		       c->name);
		return;
	}
	got = run_filtered(s, c->call);
	switch (c->expect) {
	case BLOCKED:
		report(got == EPERM, NULL, "%s: %s blocked with EPERM", profile, c->name);
		break;
	case SUCCEEDS:
		report(got == 0, NULL, "%s: %s works", profile, c->name);
		break;
	case NOT_BLOCKED:
		report(got != EPERM && got != 100 && got < 128, NULL, "%s: %s not blocked", profile,
		       c->name);
		break;
	}
	if (got == 100 || got >= 128)
		printf("# child exit status %d\n", got);
}

static struct husk_seccomp *prepare_default(uint64_t caps, const char *name)
{
	cleanup_json json_t *profile = husk_seccomp_default_profile(caps);
	cleanup_error husk_error *err = NULL;
	struct husk_seccomp *s = NULL;

	report(profile != NULL && husk_seccomp_prepare(profile, NULL, &s, &err) == 0, NULL,
	       "%s: valid", name);
	if (err != NULL)
		printf("# %s\n", err->msg);
	return s;
}

static void test_default_profile_shape(void)
{
	cleanup_json json_t *p = husk_seccomp_default_profile(0);
	json_t *archs = json_object_get(p, "architectures");

	report(p != NULL &&
		   strcmp(json_string_value(json_object_get(p, "defaultAction")) ?: "",
			  "SCMP_ACT_ERRNO") == 0 &&
		   json_integer_value(json_object_get(p, "defaultErrnoRet")) == EPERM &&
		   json_array_size(json_object_get(p, "syscalls")) > 10,
	       NULL, "default profile: denies with EPERM, allows a list");
#if defined(__x86_64__) && !defined(__ILP32__)
	report(json_array_size(archs) == 3, NULL, "default profile: x86_64, x86 and x32");
#else
	report(json_array_size(archs) >= 1, NULL, "default profile: native architecture");
#endif
}

static void test_default_profile(void)
{
	uint64_t all = (1ULL << (CAP_LAST_CAP + 1)) - 1;
	struct husk_seccomp *s;

	test_default_profile_shape();
	s = prepare_default(all, "default profile with every capability");
	husk_seccomp_free(s);

	s = prepare_default(0, "default profile without capabilities");
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(no_caps_checks); i++)
		run_check(s, "no caps", &no_caps_checks[i]);
	if (s != NULL)
		report(run_filtered(s, call_clone3) == ENOSYS, NULL,
		       "no caps: clone3 fails with ENOSYS, so libc falls back to clone");
	husk_seccomp_free(s);

	s = prepare_default(1ULL << CAP_SYS_ADMIN, "default profile with CAP_SYS_ADMIN");
	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(sys_admin_checks); i++)
		run_check(s, "CAP_SYS_ADMIN", &sys_admin_checks[i]);
	husk_seccomp_free(s);

	s = prepare_default(1ULL << CAP_SYS_MODULE, "default profile with CAP_SYS_MODULE");
	if (s != NULL)
		run_check(s, "CAP_SYS_MODULE",
			  &(struct syscall_check){"init_module", call_init_module, NOT_BLOCKED});
	husk_seccomp_free(s);
}

/* ---- the cache of compiled filters (seccomp_cache.c) -------------------- */

#define DENY_GETPRIORITY_42                                                                        \
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "                      \
	"[\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}"

static struct husk_seccomp *prepare_cached(const char *dir, const char *text, bool *from_cache)
{
	cleanup_json json_t *j = parse(text);
	cleanup_error husk_error *err = NULL;
	struct husk_seccomp *s = NULL;

	if (husk_seccomp_prepare(j, dir, &s, &err) < 0) {
		printf("# %s\n", err->msg);
		return NULL;
	}
	*from_cache = husk_seccomp_from_cache(s);
	return s;
}

/* The one entry in DIR: its path, or "" when there is not exactly one. */
static void only_entry(const char *dir, char *path, size_t size)
{
	cleanup_free char *cmd = NULL;
	FILE *f;

	path[0] = '\0';
	if (asprintf(&cmd, "ls %s/*.bpf 2>/dev/null", dir) < 0 || (f = popen(cmd, "r")) == NULL)
		return;
	if (fgets(path, (int)size, f) == NULL || fgetc(f) != EOF)
		path[0] = '\0';
	pclose(f);
	path[strcspn(path, "\n")] = '\0';
}

static void test_cache(void)
{
	char tmpl[] = "/tmp/husk-seccomp-cache.XXXXXX", dir[64], entry[128], cmd[256];
	struct husk_seccomp *s;
	struct stat st;
	bool hit = true;

	if (mkdtemp(tmpl) == NULL) {
		report(false, NULL, "cache: make a temporary directory");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/cache", tmpl);

	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	report(s != NULL && !hit, NULL, "cache: the first prepare compiles");
	expect_outcome("cache: the compiled filter works", s, call_getpriority, 42);
	husk_seccomp_free(s);
	only_entry(dir, entry, sizeof(entry));
	report(entry[0] && stat(entry, &st) == 0 && (st.st_mode & 0777) == 0600 &&
		   stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
	       NULL, "cache: one entry, 0600, in a 0700 directory");

	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	report(s != NULL && hit, NULL, "cache: the same profile again comes from the cache");
	expect_outcome("cache: the cached filter works the same", s, call_getpriority, 42);
	expect_outcome("cache: the cached filter allows the rest", s, call_personality_query, 0);
	husk_seccomp_free(s);

	s = prepare_cached(dir,
			   "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
			   "[\"getpriority\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 43}]}",
			   &hit);
	report(s != NULL && !hit, NULL, "cache: a different profile is compiled, not taken");
	expect_outcome("cache: ... and has its own effect", s, call_getpriority, 43);
	husk_seccomp_free(s);

	/* An entry whose key differs by one byte (as a hash collision would)
	 * is not used. */
	only_entry(dir, entry, sizeof(entry));
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.bpf", dir);
	if (system(cmd) != 0)
		report(false, NULL, "cache: empty the directory");
	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	husk_seccomp_free(s);
	only_entry(dir, entry, sizeof(entry));
	snprintf(cmd, sizeof(cmd), "sed -i 's/errnoRet\\\":42/errnoRet\\\":41/' %s", entry);
	report(entry[0] && system(cmd) == 0, NULL, "cache: alter the key in the entry");
	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	report(s != NULL && !hit, NULL, "cache: an entry for another key is ignored");
	expect_outcome("cache: ... and the profile is compiled", s, call_getpriority, 42);
	husk_seccomp_free(s);

	/* Writable by others: not trusted. */
	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	husk_seccomp_free(s);
	report(hit, NULL, "cache: the rewritten entry is used again");
	only_entry(dir, entry, sizeof(entry));
	chmod(entry, 0666);
	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	report(s != NULL && !hit, NULL, "cache: an entry others can write is ignored");
	husk_seccomp_free(s);
	chmod(entry, 0600);
	chmod(dir, 0777);
	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	report(s != NULL && !hit, NULL, "cache: a directory others can write is ignored");
	husk_seccomp_free(s);

	/* Truncated: ignored. */
	chmod(dir, 0700);
	if (truncate(entry, 20) < 0)
		report(false, NULL, "cache: truncate the entry");
	s = prepare_cached(dir, DENY_GETPRIORITY_42, &hit);
	report(s != NULL && !hit, NULL, "cache: a truncated entry is ignored");
	husk_seccomp_free(s);

	/* Invalid profiles are never cached. */
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.bpf", dir);
	if (system(cmd) != 0)
		report(false, NULL, "cache: empty the directory");
	s = prepare_cached(dir,
			   "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
			   "[\"getpriority\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}",
			   &hit);
	only_entry(dir, entry, sizeof(entry));
	report(s == NULL && entry[0] == '\0', NULL,
	       "cache: a profile that fails validation leaves no entry");
	husk_seccomp_free(s);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
	if (system(cmd) != 0)
		report(false, NULL, "cache: remove the temporary directory");
}

/* libseccomp 2.5.4 loops for ever on this shape (tests/fuzz/README.md):
 * the compile's deadline turns that into an error, and a compile that
 * finishes is not affected by the child process it runs in. */
static void test_compile_deadline(void)
{
	static const char hang[] =
	    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"socket\"], "
	    "\"action\": \"SCMP_ACT_TRAP\", \"args\": [{\"index\": 3, \"value\": 1, \"op\": "
	    "\"SCMP_CMP_GE\"}, "
	    "{\"index\": 3, \"value\": 3, \"op\": \"SCMP_CMP_NE\"}, "
	    "{\"index\": 1, \"value\": 3, \"op\": \"SCMP_CMP_GT\"}]}]}";
	cleanup_json json_t *j = parse(hang);
	cleanup_json json_t *bad =
	    parse("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": "
		  "[\"SCMP_ARCH_NOPE\"]}");
	cleanup_json json_t *fine =
	    parse("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		  "[{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	struct husk_seccomp *s = NULL;
	husk_error *err = NULL;
	struct timespec t0, t1;
	long ms;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = husk_seccomp_prepare_within(j, NULL, 300, &s, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (r == 0) {
		/* a libseccomp without the bug compiles it: nothing to bound */
		report(true, "this libseccomp compiles the shape", "compile deadline");
		husk_seccomp_free(s);
		s = NULL;
	} else {
		report(err && strstr(err->msg, "did not finish compiling the filter in 300 ms"),
		       NULL, "a compile that never ends fails after its deadline: %s",
		       err ? err->msg : "(no error)");
		report(ms < 5000, NULL, "and returns: after %ld ms", ms);
	}
	husk_error_free(&err);
	r = husk_seccomp_prepare_within(bad, NULL, 5000, &s, &err);
	report(r < 0 && err && strstr(err->msg, "SCMP_ARCH_NOPE") &&
		   !strstr(err->msg, "did not finish"),
	       NULL, "an error in the compiling child comes back as it was: %s",
	       err ? err->msg : "(no error)");
	husk_error_free(&err);
	r = husk_seccomp_prepare_within(fine, NULL, 5000, &s, &err);
	report(r == 0 && s != NULL, NULL, "a filter compiled in the child comes back whole");
	if (s != NULL) {
		pid_t pid = fork();
		if (pid == 0) {
			int fd = -1;
			if (husk_seccomp_load(s, &fd, NULL) < 0)
				_exit(2);
			_exit(syscall(SYS_getpid) == -1 && errno == EPERM ? 0 : 1);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		report(WIFEXITED(st) && WEXITSTATUS(st) == 0, NULL,
		       "and works: getpid fails with EPERM under it (status %d)", st);
	}
	husk_seccomp_free(s);
	husk_error_free(&err);
}

int main(void)
{
	/* A child stuck on a notification must not hang the test run. */
	alarm(120);
	test_validation();
	test_errno();
	test_arguments();
	test_flags();
	test_notify();
	test_listener_unreachable();
	test_default_profile();
	test_cache();
	test_compile_deadline();
	printf("1..%d\n", n_tests);
	return n_failed == 0 ? 0 : 1;
}
