/* SPDX-License-Identifier: MIT */
/*
 * console-recv: a --console-socket receiver for the terminal tests, the C
 * twin of console_recv.py for machines without python3 (the cgroup v2 guest
 * lane). Same command line, output and exit status:
 *
 *   console-recv SOCKET [--input TEXT] [--input-delay SECONDS] [--timeout SECONDS]
 *
 * Listens on SOCKET (created under SOCKET.tmp and renamed into place once it
 * listens, so a runtime that sees the path can always connect), accepts one
 * connection, receives the pty master over SCM_RIGHTS and copies everything
 * the container writes to the terminal to stdout until the terminal hangs up
 * (a read fails with EIO once every slave fd is closed). TEXT, with \n, \r,
 * \t, \\, \xHH and \OOO escapes, is written to the master INPUT-DELAY seconds
 * (0 by default) after receiving it. TIMEOUT (20 s by default) bounds the
 * whole run.
 *
 * Diagnostics go to stderr: "fd-received name=NAME master=True|False", with
 * the name the runtime sent along with the fd and whether the fd is a pty
 * master. Exit status: 0 after a hang-up, 1 on a system error, 2 on a usage
 * error, 3 when no fd arrived, 4 on timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SYSTEM_ERROR 1
#define EXIT_USAGE	  2
#define EXIT_NO_FD	  3
#define EXIT_TIMEOUT	  4

/* As many fds as a runtime might send in one message; all but the first are closed. */
#define MAX_FDS 16

struct options {
	const char *socket_path;
	const char *input; /* NULL: write nothing */
	double input_delay;
	double timeout;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: console-recv SOCKET [--input TEXT] [--input-delay SECONDS] "
		     "[--timeout SECONDS]\n");
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* poll()'s timeout for WAIT seconds: rounded up, so that a wait never ends early. */
static int poll_timeout_ms(double wait)
{
	double ms = wait * 1000;
	int whole;

	if (ms <= 0)
		return 0;
	if (ms >= INT_MAX)
		return INT_MAX;
	whole = (int)ms;
	return whole < ms ? whole + 1 : whole;
}

/* Parses a number of seconds (finite, not negative) into *SECONDS. */
static bool parse_seconds(const char *text, double *seconds)
{
	char *end;

	errno = 0;
	*seconds = strtod(text, &end);
	return errno == 0 && end != text && *end == '\0' && isfinite(*seconds) && *seconds >= 0;
}

/*
 * The value of option NAME at ARGV[*I], as "--NAME VALUE" or "--NAME=VALUE";
 * advances *I past a separate value. NULL when ARGV[*I] is not that option.
 */
static const char *option_value(const char *name, int argc, char **argv, int *i, bool *missing)
{
	const char *arg = argv[*i];
	size_t len = strlen(name);

	if (strncmp(arg, name, len) != 0)
		return NULL;
	if (arg[len] == '=')
		return arg + len + 1;
	if (arg[len] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	return argv[++*i];
}

/* Fills OPT from the command line; false (with a message) on a usage error. */
static bool parse_options(int argc, char **argv, struct options *opt)
{
	*opt = (struct options){.timeout = 20.0};
	for (int i = 1; i < argc; i++) {
		bool missing = false;
		const char *value;

		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if ((value = option_value("--input", argc, argv, &i, &missing))) {
			opt->input = value;
		} else if ((value = option_value("--input-delay", argc, argv, &i, &missing))) {
			if (!parse_seconds(value, &opt->input_delay)) {
				fprintf(stderr, "console-recv: bad --input-delay: %s\n", value);
				return false;
			}
		} else if ((value = option_value("--timeout", argc, argv, &i, &missing))) {
			if (!parse_seconds(value, &opt->timeout)) {
				fprintf(stderr, "console-recv: bad --timeout: %s\n", value);
				return false;
			}
		} else if (missing) {
			fprintf(stderr, "console-recv: %s needs a value\n", argv[i]);
			return false;
		} else if (argv[i][0] == '-' || opt->socket_path) {
			fprintf(stderr, "console-recv: unexpected argument: %s\n", argv[i]);
			return false;
		} else {
			opt->socket_path = argv[i];
		}
	}
	if (!opt->socket_path) {
		fprintf(stderr, "console-recv: no SOCKET given\n");
		return false;
	}
	return true;
}

static int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes the escape sequence after the backslash at *P into *OUT and moves
 * *P past it. False for an unknown or incomplete sequence, which the caller
 * keeps as it is (backslash included), as Python does.
 */
static bool decode_escape(const char **p, unsigned char *out)
{
	static const char simple[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
	const char *s = *p + 1;
	int hi, lo, value, n;

	for (const char *e = simple; *e; e += 2) {
		if (*s == e[0]) {
			*out = (unsigned char)e[1];
			*p = s + 1;
			return true;
		}
	}
	if (*s == 'x') {
		hi = hex_digit_value(s[1]);
		lo = hi < 0 ? -1 : hex_digit_value(s[2]);
		if (lo < 0)
			return false;
		*out = (unsigned char)(hi * 16 + lo);
		*p = s + 3;
		return true;
	}
	for (value = 0, n = 0; n < 3 && s[n] >= '0' && s[n] <= '7'; n++)
		value = value * 8 + (s[n] - '0');
	if (n == 0)
		return false;
	*out = (unsigned char)value;
	*p = s + n;
	return true;
}

/* TEXT with its escapes decoded, in a new buffer of *LEN bytes. */
static unsigned char *decode_input(const char *text, size_t *len)
{
	unsigned char *buf = malloc(strlen(text) + 1);
	const char *p = text;
	size_t n = 0;

	if (!buf)
		return NULL;
	while (*p) {
		if (*p == '\\' && decode_escape(&p, &buf[n])) {
			n++;
			continue;
		}
		buf[n++] = (unsigned char)*p++;
	}
	*len = n;
	return buf;
}

/* Removes PATH if it exists; false (with errno) on any other failure. */
static bool remove_stale(const char *path)
{
	return unlink(path) == 0 || errno == ENOENT;
}

/*
 * A listening unix socket at PATH: bound and listening under PATH.tmp first,
 * then renamed, so that PATH never names a socket nobody listens on.
 */
static int listen_at(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char tmp[sizeof(addr.sun_path)];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "console-recv: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(addr.sun_path, tmp, strlen(tmp) + 1);
	if (!remove_stale(path) || !remove_stale(tmp)) {
		perror("console-recv: unlink");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("console-recv: socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0 ||
	    rename(tmp, path) < 0) {
		perror("console-recv: bind/listen/rename");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Waits until FD has something to read (or hung up) or DEADLINE passes.
 * 1: ready, 0: deadline reached, -1: error.
 */
static int wait_readable(int fd, double deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int n;

	do {
		n = poll(&pfd, 1, poll_timeout_ms(deadline - now_seconds()));
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : n > 0;
}

/*
 * Receives one message on CONN: its payload, NUL-terminated, into NAME (SIZE
 * bytes) and the fds of its SCM_RIGHTS messages into FDS. Returns the number
 * of fds, -1 on error.
 */
static int receive_fds(int conn, char *name, size_t size, int fds[MAX_FDS])
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = name, .iov_len = size - 1};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = control.buf,
	    .msg_controllen = sizeof(control.buf),
	};
	ssize_t len;
	int count = 0;

	do {
		len = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	} while (len < 0 && errno == EINTR);
	if (len < 0)
		return -1;
	name[len] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t k = 0; k < n && count < MAX_FDS; k++)
			memcpy(&fds[count++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
	}
	return count;
}

/* Only a pty master answers TIOCGPTN (its pty number). */
static bool is_pty_master(int fd)
{
	unsigned int ptn;

	return ioctl(fd, TIOCGPTN, &ptn) == 0;
}

/* Writes all LEN bytes of BUF to FD; false on error. */
static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Accepts one connection on the listening socket SERVER before DEADLINE and
 * receives the terminal's fd from it into *MASTER. Returns 0 or an exit status.
 */
static int accept_master(int server, double deadline, int *master)
{
	char name[4096];
	int fds[MAX_FDS];
	int conn, count, ready;

	ready = wait_readable(server, deadline);
	if (ready < 0) {
		perror("console-recv: poll");
		return EXIT_SYSTEM_ERROR;
	}
	if (ready == 0) {
		fprintf(stderr, "timeout waiting for a connection\n");
		return EXIT_TIMEOUT;
	}
	conn = accept4(server, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0) {
		perror("console-recv: accept");
		return EXIT_SYSTEM_ERROR;
	}
	count = receive_fds(conn, name, sizeof(name), fds);
	close(conn);
	if (count < 0) {
		perror("console-recv: recvmsg");
		return EXIT_SYSTEM_ERROR;
	}
	if (count == 0) {
		fprintf(stderr, "no fd received\n");
		return EXIT_NO_FD;
	}
	for (int k = 1; k < count; k++)
		close(fds[k]);
	*master = fds[0];
	fprintf(stderr, "fd-received name=%s master=%s\n", name,
		is_pty_master(*master) ? "True" : "False");
	fflush(stderr);
	return 0;
}

/*
 * Copies what MASTER reads to stdout until the terminal hangs up, writing
 * INPUT (LEN bytes, none when NULL) to it at INPUT_AT. Returns the exit status.
 */
static int relay_terminal(int master, const unsigned char *input, size_t len, double input_at,
			  double deadline)
{
	char buf[65536];

	for (;;) {
		double now = now_seconds();
		double until = deadline;
		ssize_t n;
		int ready;

		if (now >= deadline) {
			fprintf(stderr, "timeout waiting for the terminal to hang up\n");
			return EXIT_TIMEOUT;
		}
		if (input && now >= input_at) {
			if (!write_all(master, input, len)) {
				perror("console-recv: write to the terminal");
				return EXIT_SYSTEM_ERROR;
			}
			input = NULL;
		}
		if (input && input_at < until)
			until = input_at;
		ready = wait_readable(master, until);
		if (ready < 0) {
			perror("console-recv: poll");
			return EXIT_SYSTEM_ERROR;
		}
		if (ready == 0)
			continue;
		n = read(master, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) /* EIO: every slave fd is closed */
			return 0;
		if (!write_all(STDOUT_FILENO, buf, (size_t)n)) {
			perror("console-recv: write to stdout");
			return EXIT_SYSTEM_ERROR;
		}
	}
}

int main(int argc, char **argv)
{
	struct options opt;
	unsigned char *input = NULL;
	size_t input_len = 0;
	double deadline;
	int server, master = -1, status;

	if (!parse_options(argc, argv, &opt)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (opt.input && !(input = decode_input(opt.input, &input_len))) {
		perror("console-recv: malloc");
		return EXIT_SYSTEM_ERROR;
	}
	deadline = now_seconds() + opt.timeout;
	server = listen_at(opt.socket_path);
	if (server < 0)
		return EXIT_SYSTEM_ERROR;
	status = accept_master(server, deadline, &master);
	close(server);
	if (status == 0)
		status = relay_terminal(master, input, input_len, now_seconds() + opt.input_delay,
					deadline);
	free(input);
	return status;
}
