/* SPDX-License-Identifier: MIT */
/*
 * Launches from a process that has threads. A child cloned from such a
 * process may find a lock (malloc's, stdio's) held by a thread that does not
 * exist in it, and the launch runs far more than async-signal-safe code. So
 * such a caller spawns a fresh, single-threaded copy of its program
 * (posix_spawn of /proc/self/exe, which calls husk_helper_main() first): the
 * helper launches, cloning every process for its parent (CLONE_PARENT), and
 * answers with the pid, the pty and the start socket. The container's init
 * is then the caller's own child, exactly as without the helper.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container_internal.h"
#include "util.h"

#define HELPER_FLAG "--husk-launch-helper"

enum helper_type {
	HELPER_WARN = 1,
	HELPER_PTY,
	HELPER_SYNC,
	HELPER_DONE,
	HELPER_ERROR,
	HELPER_ADOPT, /* a process cloned for the caller (pid), sent at once */
};

struct helper_msg {
	int type;
	int kind, code;
	pid_t pid;
	int poststart_hooks;
	int n_adopted;
	pid_t adopted[4];
	char text[2048];
};

static int answer_sock = -1;

void adopted_add(struct adopted *a, pid_t pid)
{
	/* At once: if we die before the answer, our parent still knows
	 * what to kill and reap. */
	if (pid > 0 && answer_sock >= 0)
		send_fd(answer_sock, -1, &(struct helper_msg){.type = HELPER_ADOPT, .pid = pid},
			sizeof(struct helper_msg));
	if (pid > 0 && a->n < (int)ARRAY_SIZE(a->pids))
		a->pids[a->n++] = pid;
}

void launch_helper_close_answer(void)
{
	if (answer_sock >= 0)
		close(answer_sock);
	answer_sock = -1;
}

bool launch_needs_helper(void)
{
	struct stat st;

	/* A directory per thread, beside "." and "..". */
	return stat("/proc/self/task", &st) == 0 && st.st_nlink > 3;
}

/* --- the caller's side --- */

static json_t *runtime_json(const struct husk_runtime *rt)
{
	return json_pack("{s:s, s:s?, s:b, s:b}", "root", rt->root, "seccompCache",
			 rt->seccomp_cache, "rootless", rt->rootless, "systemdCgroup",
			 rt->systemd_cgroup);
}

/* The request, in a memfd the helper reads. */
static int request_fd(json_t *req, husk_error **err)
{
	cleanup_close int fd = memfd_create("husk-launch", MFD_CLOEXEC);
	cleanup_free char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;

	if (fd < 0)
		return husk_error_set(err, errno, "launch helper: memfd_create");
	if (text == NULL)
		return husk_error_set(err, ENOMEM, "launch helper");
	if (write_all(fd, text, strlen(text)) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return husk_error_set(err, errno, "launch helper: write the request");
	return steal_fd(&fd);
}

static int spawn_helper(int sock, int req, pid_t *ret_pid, husk_error **err)
{
	extern char **environ;
	char sock_arg[16], req_arg[16];
	char *argv[] = {"husk-launch-helper", HELPER_FLAG, sock_arg, req_arg, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	snprintf(sock_arg, sizeof(sock_arg), "%d", sock);
	snprintf(req_arg, sizeof(req_arg), "%d", req);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	/* dup2 onto itself clears close-on-exec, for the helper alone. */
	posix_spawn_file_actions_adddup2(&fa, sock, sock);
	posix_spawn_file_actions_adddup2(&fa, req, req);
	posix_spawnattr_init(&attr);
	/* A clean signal state: a caller's blocked or ignored signals must
	 * not reach the container. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* Its own process group: a ^C at the caller's terminal must not kill
	 * it halfway through a launch (the container processes take their
	 * own session anyway). */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					    POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(ret_pid, "/proc/self/exe", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return r ? husk_error_set(err, r, "launch helper: spawn /proc/self/exe") : 0;
}

/* What the helper cloned for us: on failure killed first; all reaped but
 * the launched process on success. */
static void reap_adopted(const struct adopted *a, pid_t keep, bool kill_them)
{
	for (int i = 0; i < a->n; i++) {
		if (a->pids[i] == keep)
			continue;
		if (kill_them)
			kill(a->pids[i], SIGKILL);
		while (waitpid(a->pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	}
}

/* Runs the helper on req and collects its answer. */
static int helper_call(const struct husk_runtime *rt, json_t *req, struct launched *ret,
		       husk_error **err)
{
	cleanup_close int req_fd = -1, mine = -1, theirs = -1;
	struct helper_msg m = {0};
	struct adopted adopted = {0};
	pid_t helper;
	int sv[2], r = -1;

	*ret = (struct launched){.pid = -1, .pty = -1, .sync = -1};
	if ((req_fd = request_fd(req, err)) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_error_set(err, errno, "launch helper: socketpair");
	mine = sv[0];
	theirs = sv[1];
	if (spawn_helper(theirs, req_fd, &helper, err) < 0)
		return -1;
	close(theirs);
	theirs = -1;
	for (;;) {
		int fd = -1;
		if (recv_fd(mine, &fd, &m, sizeof(m)) < (int)sizeof(m)) {
			if (fd >= 0)
				close(fd);
			m.type = 0;
			husk_error_fail(err, HUSK_ERR_SYSTEM,
					"launch helper: exited without an answer (does the "
					"program call husk_helper_main() first in main()?)");
			break;
		}
		m.text[sizeof(m.text) - 1] = '\0';
		if (m.type == HELPER_ADOPT && m.pid > 0 &&
		    adopted.n < (int)ARRAY_SIZE(adopted.pids))
			adopted.pids[adopted.n++] = m.pid;
		else if (m.type == HELPER_WARN)
			runtime_warn(rt, m.text);
		else if (m.type == HELPER_PTY)
			ret->pty = fd;
		else if (m.type == HELPER_SYNC)
			ret->sync = fd;
		else if (fd >= 0)
			close(fd);
		if (m.type == HELPER_DONE) {
			ret->pid = m.pid;
			ret->poststart_hooks = m.poststart_hooks;
			r = 0;
			break;
		}
		if (m.type == HELPER_ERROR) {
			husk_error_restore(err, (enum husk_error_kind)m.kind, m.code, m.text);
			break;
		}
	}
	while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
		;
	reap_adopted(&adopted, r == 0 ? ret->pid : 0, r < 0);
	if (r < 0) {
		if (ret->pty >= 0)
			close(ret->pty);
		if (ret->sync >= 0)
			close(ret->sync);
	}
	return r;
}

static int hand_over(const struct husk_runtime *rt, const char *id, struct launched *got,
		     struct husk_handle **ret_handle, husk_error **err)
{
	if (ret_handle == NULL)
		return 0;
	if (handle_new(rt, id, got->pid, got->pty, got->sync, ret_handle, err) < 0) {
		kill(got->pid, SIGKILL);
		waitpid(got->pid, NULL, 0);
		return -1;
	}
	(*ret_handle)->poststart_hooks = got->poststart_hooks;
	return 0;
}

int helper_create(const struct husk_runtime *rt, struct husk_spec *spec,
		  const struct husk_create_opts *o, struct husk_handle **ret_handle,
		  husk_error **err)
{
	cleanup_json json_t *req =
	    json_pack("{s:s, s:o, s:O, s:s, s:b, s:{s:s, s:s?, s:s?, s:b, s:b, s:i}}", "op",
		      "create", "runtime", runtime_json(rt), "config", spec->json, "bundle",
		      spec->bundle, "keep", ret_handle != NULL, "opts", "id", o->id, "pidFile",
		      o->pid_file, "consoleSocket", o->console_socket, "noPivot", o->no_pivot,
		      "noNewKeyring", o->no_new_keyring, "preserveFds", o->preserve_fds);
	struct launched got;

	if (helper_call(rt, req, &got, err) < 0)
		return -1;
	if (hand_over(rt, o->id, &got, ret_handle, err) < 0) {
		husk_container_delete(rt, o->id, true, NULL);
		return -1;
	}
	return 0;
}

int helper_exec(const struct husk_runtime *rt, const char *id, json_t *process,
		const struct husk_exec_opts *o, struct husk_handle **ret_handle, husk_error **err)
{
	cleanup_json json_t *req = json_pack(
	    "{s:s, s:o, s:s, s:O, s:b, s:{s:s?, s:s?, s:i, s:b}}", "op", "exec", "runtime",
	    runtime_json(rt), "id", id, "process", process, "keep", ret_handle != NULL, "opts",
	    "consoleSocket", o->console_socket, "pidFile", o->pid_file, "preserveFds",
	    o->preserve_fds, "ignorePaused", o->ignore_paused);
	struct launched got;

	if (helper_call(rt, req, &got, err) < 0)
		return -1;
	return hand_over(rt, id, &got, ret_handle, err);
}

/* --- the helper's side --- */

static void helper_warn(void *userdata, const char *msg)
{
	struct helper_msg m = {.type = HELPER_WARN};

	(void)userdata;
	snprintf(m.text, sizeof(m.text), "%s", msg);
	send_fd(answer_sock, -1, &m, sizeof(m));
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int serve_request(json_t *req, const struct husk_exe_guard *guard, struct adopted *a,
			 struct launched *got, husk_error **err)
{
	json_t *r = json_object_get(req, "runtime"), *o = json_object_get(req, "opts");
	struct husk_runtime rt = {.root = str(r, "root"),
				  .seccomp_cache = str(r, "seccompCache"),
				  .rootless = json_is_true(json_object_get(r, "rootless")),
				  .systemd_cgroup =
				      json_is_true(json_object_get(r, "systemdCgroup")),
				  .warn = helper_warn,
				  .exe_guard = guard};
	bool keep = json_is_true(json_object_get(req, "keep"));
	const char *op = str(req, "op");

	if (rt.root == NULL || op == NULL || !json_is_object(o))
		return husk_error_fail(err, HUSK_ERR_INVALID, "launch helper: bad request");
	if (strcmp(op, "create") == 0) {
		struct husk_create_opts co = {
		    .id = str(o, "id"),
		    .pid_file = str(o, "pidFile"),
		    .console_socket = str(o, "consoleSocket"),
		    .no_pivot = json_is_true(json_object_get(o, "noPivot")),
		    .no_new_keyring = json_is_true(json_object_get(o, "noNewKeyring")),
		    .preserve_fds = (int)json_integer_value(json_object_get(o, "preserveFds"))};
		cleanup_spec struct husk_spec *spec = NULL;
		cleanup_free char *text = json_dumps(json_object_get(req, "config"), JSON_COMPACT);
		if (text == NULL || co.id == NULL)
			return husk_error_fail(err, HUSK_ERR_INVALID, "launch helper: bad request");
		if (husk_spec_parse(text, strlen(text), str(req, "bundle"), &spec, err) < 0)
			return -1;
		return container_create_core(&rt, spec, &co, keep, a, got, err);
	}
	if (strcmp(op, "exec") == 0) {
		struct husk_exec_opts xo = {
		    .console_socket = str(o, "consoleSocket"),
		    .pid_file = str(o, "pidFile"),
		    .preserve_fds = (int)json_integer_value(json_object_get(o, "preserveFds")),
		    .ignore_paused = json_is_true(json_object_get(o, "ignorePaused"))};
		if (str(req, "id") == NULL)
			return husk_error_fail(err, HUSK_ERR_INVALID, "launch helper: bad request");
		return container_exec_core(&rt, str(req, "id"), json_object_get(req, "process"),
					   &xo, keep, a, got, err);
	}
	return husk_error_fail(err, HUSK_ERR_INVALID, "launch helper: unknown op `%s`", op);
}

static json_t *read_request(int fd, husk_error **err)
{
	cleanup_free char *text = NULL;
	char path[64];
	json_error_t jerr;
	size_t len;
	json_t *req;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (read_file_at(AT_FDCWD, path, &text, &len, err) < 0)
		return NULL;
	req = json_loadb(text, len, 0, &jerr);
	if (req == NULL)
		husk_error_fail(err, HUSK_ERR_INVALID, "launch helper: request: %s", jerr.text);
	return req;
}

static void send_answer(int r, const struct launched *got, const struct adopted *a,
			const husk_error *e)
{
	struct helper_msg m = {.type = r == 0 ? HELPER_DONE : HELPER_ERROR,
			       .pid = got->pid,
			       .poststart_hooks = got->poststart_hooks,
			       .n_adopted = a->n};

	memcpy(m.adopted, a->pids, sizeof(m.adopted));
	if (r == 0 && got->pty >= 0)
		send_fd(answer_sock, got->pty, &(struct helper_msg){.type = HELPER_PTY}, sizeof(m));
	if (r == 0 && got->sync >= 0)
		send_fd(answer_sock, got->sync, &(struct helper_msg){.type = HELPER_SYNC},
			sizeof(m));
	if (r < 0) {
		m.kind = e ? (int)e->kind : HUSK_ERR_SYSTEM;
		m.code = e ? e->code : 0;
		snprintf(m.text, sizeof(m.text), "%s", e && e->msg ? e->msg : "launch failed");
	}
	send_fd(answer_sock, -1, &m, sizeof(m));
}

int husk_helper_main(int argc, char **argv)
{
	struct launched got = {.pid = -1, .pty = -1, .sync = -1};
	struct adopted a = {0};
	husk_error *e = NULL;
	cleanup_json json_t *req = NULL;
	cleanup_exe_guard struct husk_exe_guard *guard = NULL;
	int req_fd, r = -1;

	if (argc != 4 || strcmp(argv[1], HELPER_FLAG) != 0)
		return 0;
	answer_sock = atoi(argv[2]);
	req_fd = atoi(argv[3]);
	/* Before the fds are close-on-exec: the fallback re-executes us. */
	if (husk_exe_guard_setup(argv, true, &guard, &e) == 0) {
		fcntl(answer_sock, F_SETFD, FD_CLOEXEC);
		fcntl(req_fd, F_SETFD, FD_CLOEXEC);
		req = read_request(req_fd, &e);
	}
	close(req_fd);
	if (req)
		r = serve_request(req, guard, &a, &got, &e);
	send_answer(r, &got, &a, e);
	_exit(r < 0);
}
