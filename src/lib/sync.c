/* SPDX-License-Identifier: MIT */
/* The runtime <-> container message channel, and the waits around it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "container_internal.h"
#include "util.h"

int sync_send(int fd, int type, pid_t pid, const char *text)
{
	struct sync_msg m = {.type = type, .pid = pid};

	if (text)
		snprintf(m.text, sizeof(m.text), "%s", text);
	return send_fd(fd, -1, &m, sizeof(m));
}

int sync_send_error(int fd, const husk_error *e)
{
	struct sync_msg m = {.type = SYNC_ERROR,
			     .code = e ? e->code : 0,
			     .kind = e ? (int)e->kind : HUSK_ERR_SYSTEM};

	snprintf(m.text, sizeof(m.text), "%s", e && e->msg ? e->msg : "unknown error");
	return send_fd(fd, -1, &m, sizeof(m));
}

int sync_recv(int fd, struct sync_msg *m, int *ret_fd)
{
	cleanup_close int got = -1;
	int n = recv_fd(fd, &got, m, sizeof(*m));

	if (ret_fd)
		*ret_fd = -1;
	if (n < 0)
		return -1;
	/* a short message is refused with whatever fd it carried */
	if ((size_t)n < offsetof(struct sync_msg, text)) {
		errno = EPROTO;
		return -1;
	}
	if (ret_fd)
		*ret_fd = steal_fd(&got);
	m->text[sizeof(m->text) - 1] = '\0';
	return 0;
}

int sync_expect(int fd, int type, struct sync_msg *m, husk_error **err)
{
	if (sync_recv(fd, m, NULL) < 0)
		return errno == ECONNRESET ? husk_error_fail(err, HUSK_ERR_SYSTEM,
							     "the other side of the launch exited")
					   : husk_error_set(err, errno, "sync");
	if (m->type == SYNC_ERROR)
		return sync_msg_error(m, err);
	if (m->type != type)
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "sync: expected message %d, got %d",
				       type, m->type);
	return 0;
}

int sync_msg_error(const struct sync_msg *m, husk_error **err)
{
	return husk_error_restore(err, (enum husk_error_kind)m->kind, m->code, m->text);
}

int write_pid_file(const char *path, pid_t pid, husk_error **err)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	if (path && write_file_atomic_at(AT_FDCWD, path, buf, (size_t)n, 0644, err) < 0)
		return husk_error_wrap(err, "--pid-file");
	return 0;
}
