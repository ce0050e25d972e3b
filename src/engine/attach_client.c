/* SPDX-License-Identifier: MIT */
/* Attached to a container through its monitor. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "attach_client.h"
#include "util.h"

#define CTRL_P 0x10
#define CTRL_Q 0x11

struct session {
	int sock, sigfd;
	bool tty, stdin_open, held_ctrl_p;
};

static int send_packet(int sock, char kind, const void *data, size_t len)
{
	char packet[ATTACH_MAX_PACKET];

	if (len > sizeof(packet) - 1)
		len = sizeof(packet) - 1;
	packet[0] = kind;
	if (len > 0)
		memcpy(packet + 1, data, len);
	return send(sock, packet, len + 1, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static void send_size(struct session *s)
{
	struct winsize ws;
	char buf[32];
	int n;

	if (!s->tty || ioctl(0, TIOCGWINSZ, &ws) < 0)
		return;
	n = snprintf(buf, sizeof(buf), "%u %u", ws.ws_row, ws.ws_col);
	send_packet(s->sock, ATTACH_RESIZE, buf, (size_t)n);
}

/* Returns 1 on ctrl-p ctrl-q (a tty's detach keys), -1 at EOF. */
static int forward_stdin(struct session *s)
{
	char buf[ATTACH_MAX_PACKET - 2];
	ssize_t n = read(0, buf + 1, sizeof(buf) - 1);
	char *start = buf + 1;

	if (n <= 0) {
		send_packet(s->sock, ATTACH_CLOSE_STDIN, NULL, 0);
		return -1;
	}
	if (s->tty) {
		if (s->held_ctrl_p) {
			if (start[0] == CTRL_Q)
				return 1;
			*--start = CTRL_P;
			n++;
			s->held_ctrl_p = false;
		}
		if (memmem(start, (size_t)n, "\x10\x11", 2))
			return 1;
		if (start[n - 1] == CTRL_P) {
			s->held_ctrl_p = true;
			n--;
		}
	}
	return n > 0 ? send_packet(s->sock, ATTACH_STDIN, start, (size_t)n) : 0;
}

static void forward_signal(struct session *s)
{
	struct signalfd_siginfo si;
	char buf[16];
	int n;

	if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		send_size(s);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%u", si.ssi_signo);
	send_packet(s->sock, ATTACH_SIGNAL, buf, (size_t)n);
}

/* ATTACH_EXITED: the exit status came (ATTACH_HANDED: for us to record);
 * ATTACH_LOST: the connection ended; -1 keeps going. */
static int receive(struct session *s, int *ret_status)
{
	char packet[ATTACH_MAX_PACKET + 1];
	ssize_t n = recv(s->sock, packet, sizeof(packet) - 1, 0);

	if (n < 0 && errno == EINTR)
		return -1;
	if (n <= 0)
		return 0;
	packet[n] = '\0';
	switch (packet[0]) {
	case ATTACH_STDOUT:
		write_all(1, packet + 1, (size_t)n - 1);
		break;
	case ATTACH_STDERR:
		write_all(2, packet + 1, (size_t)n - 1);
		break;
	case ATTACH_EXIT:
		*ret_status = atoi(packet + 1);
		return ATTACH_EXITED;
	case ATTACH_HANDOFF:
		*ret_status = atoi(packet + 1);
		return ATTACH_HANDED;
	}
	return -1;
}

static int loop(struct session *s, int *ret_status)
{
	bool in = s->stdin_open;

	for (;;) {
		struct pollfd p[3] = {
		    {.fd = s->sock, .events = POLLIN},
		    {.fd = s->sigfd, .events = POLLIN},
		    {.fd = in ? 0 : -1, .events = POLLIN},
		};
		int r;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[0].revents && (r = receive(s, ret_status)) >= 0)
			return r;
		if (p[1].revents)
			forward_signal(s);
		if (p[2].revents) {
			r = forward_stdin(s);
			if (r == 1)
				return ATTACH_DETACHED;
			if (r < 0)
				in = false;
		}
	}
}

int attach_run(int sock, bool tty, bool stdin_open, int *ret_status, husk_error **err)
{
	struct session s = {.sock = sock, .tty = tty && isatty(0), .stdin_open = stdin_open};
	struct termios saved, raw;
	sigset_t set, old;
	int r;

	sigemptyset(&set);
	for (int sig = 1; sig < 32; sig++)
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT ||
		    sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGWINCH)
			sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, &old);
	s.sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (s.sigfd < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return husk_error_set(err, errno, "signalfd");
	}
	if (s.tty && tcgetattr(0, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	} else {
		s.tty = false;
	}
	send_size(&s);
	r = loop(&s, ret_status);
	if (s.tty)
		tcsetattr(0, TCSANOW, &saved);
	close(s.sigfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return husk_error_set(err, errno, "attach");
	return r;
}

int attach_connect(const char *dir, int *ret_fd, husk_error **err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	cleanup_close int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (dirfd < 0 || fd < 0)
		return husk_error_set(err, errno, "attach");
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/attach.sock", dirfd);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return husk_error_set(err, errno, "connect to the container's monitor");
	*ret_fd = steal_fd(&fd);
	return 0;
}
