/* SPDX-License-Identifier: MIT */
/* The foreground of `run` and `exec`: wait, forward signals, proxy the pty. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "container_internal.h"
#include "util.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* A host terminal on fd 0 in raw mode until restored. */
struct raw_tty {
	bool saved;
	struct termios old;
};

static void tty_make_raw(struct raw_tty *t)
{
	struct termios raw;

	if (!isatty(0) || tcgetattr(0, &t->old) < 0)
		return;
	t->saved = true;
	raw = t->old;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST; /* keep output post-processing for the host terminal */
	tcsetattr(0, TCSANOW, &raw);
}

static void tty_restore(struct raw_tty *t)
{
	if (t->saved)
		tcsetattr(0, TCSANOW, &t->old);
	t->saved = false;
}

static void follow_size(int pty)
{
	struct winsize ws;

	if (pty >= 0 && isatty(0) && ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(pty, TIOCSWINSZ, &ws);
}

/* false when `from` is done (EOF, hangup, or `to` failed) */
static bool copy_once(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	return n > 0 && write_all(to, buf, (size_t)n) == 0;
}

/* What the process wrote before it exited, still in the pty. */
static void drain(int pty)
{
	struct pollfd p = {.fd = pty, .events = POLLIN};

	while (pty >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && copy_once(pty, 1))
		;
}

static void on_signal(struct husk_handle *h, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			follow_size(h->pty);
		else
			syscall(SYS_pidfd_send_signal, h->pidfd, (int)si.ssi_signo, NULL, 0);
	}
}

static int serve(struct husk_handle *h, int sfd, husk_error **err)
{
	enum { EXITED, SIGNALS, OUTPUT, INPUT };
	struct pollfd pfd[] = {
	    [EXITED] = {.fd = h->pidfd, .events = POLLIN},
	    [SIGNALS] = {.fd = sfd, .events = POLLIN},
	    [OUTPUT] = {.fd = h->pty, .events = POLLIN},
	    [INPUT] = {.fd = h->pty >= 0 ? 0 : -1, .events = POLLIN},
	};

	for (;;) {
		if (poll(pfd, ARRAY_SIZE(pfd), -1) < 0) {
			if (errno == EINTR)
				continue;
			return husk_error_set(err, errno, "poll");
		}
		if (pfd[SIGNALS].revents)
			on_signal(h, sfd);
		if (pfd[OUTPUT].revents && !copy_once(h->pty, 1))
			pfd[OUTPUT].fd = -1;
		if (pfd[INPUT].revents && !copy_once(0, h->pty))
			pfd[INPUT].fd = -1; /* stdin closed: keep reading output */
		if (pfd[EXITED].revents) {
			if (pfd[OUTPUT].fd >= 0)
				drain(h->pty);
			return 0;
		}
	}
}

int husk_foreground(struct husk_handle *h, int *ret_status, husk_error **err)
{
	struct raw_tty tty = {0};
	sigset_t set, old;
	int sfd, r;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	if (pthread_sigmask(SIG_BLOCK, &set, &old) != 0)
		return husk_error_fail(err, HUSK_ERR_SYSTEM, "block signals");
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		r = husk_error_set(err, errno, "signalfd");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return r;
	}
	if (h->pty >= 0) {
		tty_make_raw(&tty);
		follow_size(h->pty);
	}
	r = serve(h, sfd, err);
	tty_restore(&tty);
	/* Signals that came meanwhile were for the process: not for us. */
	on_signal(h, sfd);
	close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		return r;
	return husk_handle_wait(h, ret_status, err);
}
