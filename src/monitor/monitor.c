/* SPDX-License-Identifier: MIT */
/*
 * husk-monitor: the one small process that stays with a running container,
 * as conmon does for podman. husk execs it in the process that created and
 * started the container, so the container's init is its child. It:
 *  - holds the container's stdio (pipes, or the pty master) and writes every
 *    chunk of output to ctr.log as a JSON line, rotating at log-max bytes;
 *  - serves attach clients on attach.sock (SOCK_SEQPACKET, one packet per
 *    message, its first byte the kind: see attach.h);
 *  - runs `husk __healthcheck ID` every health-interval;
 *  - when the init exits, hands the exit over to the client that launched
 *    the run when it asked for it (owner=FD) and is still attached: that
 *    husk records it in its own process, saving an exec of husk here;
 *    otherwise execs `husk __monitor-exit ID STATUS CLIENT-FD...`, which
 *    records the exit and applies the restart policy.
 * It links nothing but libc, built static, so that it stays at conmon's
 * size; everything that needs the core library is done by husk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../engine/attach.h"
#include "json_line.h"

#define MAX_CLIENTS	16
#define HEALTH_GRACE_NS 1000000000LL

struct stream {
	int fd;
	char kind; /* ATTACH_STDOUT or ATTACH_STDERR */
	const char *name;
	struct utf8_carry carry;
};

struct monitor {
	const char *id, *dir, *husk;
	int dirfd, pidfd, in_fd, pty_fd, listen_fd, sig_fd, timer_fd, log_fd;
	int64_t started_ns; /* when the monitor took over */
	bool pages_dropped;
	struct stream out, err;
	int clients[MAX_CLIENTS];
	int n_clients;
	int owner_fd; /* the client the exit is handed over to, or -1 */
	int64_t log_max, log_size;
	int64_t health_interval;
	pid_t health_pid;
	int64_t health_deadline; /* CLOCK_MONOTONIC ns */
};

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int parse_fd(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *end == '\0' && v >= 0 && v < 65536 ? (int)v : -1;
}

static void die(const char *msg)
{
	dprintf(2, "husk-monitor: %s\n", msg);
	_exit(125);
}

static void parse_args(struct monitor *m, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *v = strchr(argv[i], '=');
		if (v == NULL)
			die("arguments are key=value");
		*v++ = '\0';
		if (strcmp(argv[i], "id") == 0)
			m->id = v;
		else if (strcmp(argv[i], "dir") == 0)
			m->dir = v;
		else if (strcmp(argv[i], "husk") == 0)
			m->husk = v;
		else if (strcmp(argv[i], "pidfd") == 0)
			m->pidfd = parse_fd(v);
		else if (strcmp(argv[i], "out") == 0)
			m->out.fd = parse_fd(v);
		else if (strcmp(argv[i], "err") == 0)
			m->err.fd = parse_fd(v);
		else if (strcmp(argv[i], "in") == 0)
			m->in_fd = parse_fd(v);
		else if (strcmp(argv[i], "pty") == 0)
			m->pty_fd = parse_fd(v);
		else if (strcmp(argv[i], "client") == 0 && m->n_clients < MAX_CLIENTS)
			m->clients[m->n_clients++] = parse_fd(v);
		else if (strcmp(argv[i], "owner") == 0 && m->n_clients < MAX_CLIENTS)
			m->clients[m->n_clients++] = m->owner_fd = parse_fd(v);
		else if (strcmp(argv[i], "log-max") == 0)
			m->log_max = strtoll(v, NULL, 10);
		else if (strcmp(argv[i], "health-interval") == 0)
			m->health_interval = strtoll(v, NULL, 10);
		else
			die("unknown argument");
	}
	if (m->id == NULL || m->dir == NULL || m->husk == NULL || m->pidfd < 0)
		die("id, dir, husk and pidfd are required");
}

static void set_cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags >= 0)
		fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

/* --- the log ------------------------------------------------------------ */

static void log_open(struct monitor *m)
{
	struct stat st;

	m->log_fd = openat(m->dirfd, "ctr.log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	m->log_size = m->log_fd >= 0 && fstat(m->log_fd, &st) == 0 ? st.st_size : 0;
}

static void log_rotate(struct monitor *m)
{
	if (m->log_fd >= 0)
		close(m->log_fd);
	renameat(m->dirfd, "ctr.log", m->dirfd, "ctr.log.1");
	log_open(m);
}

static void log_write(struct monitor *m, struct stream *s, const char *buf, size_t len)
{
	struct json_line line = {0};
	ssize_t n;

	if (m->log_fd < 0)
		return;
	if (json_line_build(&line, &s->carry, buf, len, s->name, now_ns(CLOCK_REALTIME)) < 0)
		return;
	if (m->log_max > 0 && m->log_size > 0 && m->log_size + (int64_t)line.len > m->log_max)
		log_rotate(m);
	n = line.len ? write(m->log_fd, line.data, line.len) : 0;
	if (n > 0)
		m->log_size += n;
	free(line.data);
}

/* --- attach clients ----------------------------------------------------- */

static void client_drop(struct monitor *m, int i)
{
	if (m->clients[i] == m->owner_fd)
		m->owner_fd = -1;
	close(m->clients[i]);
	m->clients[i] = m->clients[--m->n_clients];
}

static void broadcast(struct monitor *m, char kind, const char *buf, size_t len)
{
	char packet[ATTACH_MAX_PACKET];

	while (len > 0) {
		size_t chunk = len < sizeof(packet) - 1 ? len : sizeof(packet) - 1;
		packet[0] = kind;
		memcpy(packet + 1, buf, chunk);
		for (int i = m->n_clients; i-- > 0;)
			if (send(m->clients[i], packet, chunk + 1, MSG_NOSIGNAL) < 0)
				client_drop(m, i);
		buf += chunk;
		len -= chunk;
	}
}

static void write_stdin(struct monitor *m, const char *buf, size_t len)
{
	int fd = m->pty_fd >= 0 ? m->pty_fd : m->in_fd;

	while (fd >= 0 && len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void resize(struct monitor *m, const char *arg)
{
	struct winsize ws = {0};
	unsigned rows, cols;

	if (m->pty_fd >= 0 && sscanf(arg, "%u %u", &rows, &cols) == 2) {
		ws.ws_row = (unsigned short)rows;
		ws.ws_col = (unsigned short)cols;
		ioctl(m->pty_fd, TIOCSWINSZ, &ws);
	}
}

static void client_message(struct monitor *m, int i)
{
	char packet[ATTACH_MAX_PACKET + 1];
	ssize_t n = recv(m->clients[i], packet, sizeof(packet) - 1, MSG_DONTWAIT);
	int sig;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(m, i);
		return;
	}
	packet[n] = '\0';
	switch (packet[0]) {
	case ATTACH_STDIN:
		write_stdin(m, packet + 1, (size_t)n - 1);
		break;
	case ATTACH_CLOSE_STDIN:
		if (m->in_fd >= 0) {
			close(m->in_fd);
			m->in_fd = -1;
		}
		break;
	case ATTACH_RESIZE:
		resize(m, packet + 1);
		break;
	case ATTACH_SIGNAL:
		sig = atoi(packet + 1);
		if (sig > 0 && sig < 65)
			syscall(SYS_pidfd_send_signal, m->pidfd, sig, NULL, 0);
		break;
	}
}

static void accept_client(struct monitor *m)
{
	int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (m->n_clients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	m->clients[m->n_clients++] = fd;
}

static int listen_attach(struct monitor *m)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	unlinkat(m->dirfd, "attach.sock", 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/attach.sock", m->dirfd);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* --- output ------------------------------------------------------------- */

/* Reads what is there; returns false at EOF (or an error other than EAGAIN). */
static bool pump(struct monitor *m, struct stream *s)
{
	char buf[16384];
	ssize_t n = read(s->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		return false;
	}
	log_write(m, s, buf, (size_t)n);
	broadcast(m, s->kind, buf, (size_t)n);
	return true;
}

/* After the init's exit, what the container wrote and we have not read
 * yet: until EOF, or a short while if something else holds the pipe. */
static void drain(struct monitor *m)
{
	int64_t deadline = now_ns(CLOCK_MONOTONIC) + 200000000LL;
	struct stream *streams[] = {&m->out, &m->err};

	for (size_t i = 0; i < 2; i++) {
		struct stream *s = streams[i];
		while (s->fd >= 0) {
			struct pollfd p = {.fd = s->fd, .events = POLLIN};
			int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
			if (left <= 0 || poll(&p, 1, (int)(left / 1000000)) <= 0)
				break;
			if (!pump(m, s))
				break;
		}
		log_write(m, s, NULL, 0); /* whatever half character is held */
	}
}

/* --- healthchecks ------------------------------------------------------- */

static void health_start(struct monitor *m)
{
	uint64_t ticks;
	pid_t pid;

	if (read(m->timer_fd, &ticks, sizeof(ticks)) < 0 || m->health_pid > 0)
		return;
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(m->husk, m->husk, "__healthcheck", m->id, (char *)NULL);
		_exit(127);
	}
	if (pid > 0) {
		m->health_pid = pid;
		m->health_deadline =
		    now_ns(CLOCK_MONOTONIC) + m->health_interval * 2 + HEALTH_GRACE_NS;
	}
}

static void health_reap(struct monitor *m, bool force)
{
	struct signalfd_siginfo si;

	while (read(m->sig_fd, &si, sizeof(si)) > 0)
		;
	if (m->health_pid <= 0)
		return;
	if (force)
		kill(m->health_pid, SIGKILL);
	if (waitpid(m->health_pid, NULL, force ? 0 : WNOHANG) == m->health_pid)
		m->health_pid = 0;
}

static int arm_timer(struct monitor *m)
{
	struct itimerspec its = {0};

	if (m->health_interval <= 0)
		return -1;
	its.it_value.tv_sec = m->health_interval / 1000000000LL;
	its.it_value.tv_nsec = m->health_interval % 1000000000LL;
	its.it_interval = its.it_value;
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->timer_fd >= 0)
		timerfd_settime(m->timer_fd, 0, &its, NULL);
	return m->timer_fd;
}

/* --- the loop ----------------------------------------------------------- */

enum { PFD_PIDFD, PFD_OUT, PFD_ERR, PFD_LISTEN, PFD_SIG, PFD_TIMER, PFD_CLIENTS };

/* The startup pages are dropped once the container has run a while: a
 * short-lived one would only pay for reading smaps. */
#define DROP_PAGES_AFTER_NS 1000000000LL

static void drop_startup_pages(void);

static int ms_until(int64_t deadline)
{
	int64_t left = deadline - now_ns(CLOCK_MONOTONIC);

	return left <= 0 ? 0 : (int)(left / 1000000) + 1;
}

static int poll_timeout(const struct monitor *m)
{
	int t = m->pages_dropped ? -1 : ms_until(m->started_ns + DROP_PAGES_AFTER_NS);

	if (m->health_pid > 0) {
		int h = ms_until(m->health_deadline);
		t = t < 0 || h < t ? h : t;
	}
	return t;
}

static void drop_startup_pages_when_due(struct monitor *m)
{
	if (!m->pages_dropped && now_ns(CLOCK_MONOTONIC) >= m->started_ns + DROP_PAGES_AFTER_NS) {
		drop_startup_pages();
		m->pages_dropped = true;
	}
}

static void run(struct monitor *m)
{
	for (;;) {
		struct pollfd p[PFD_CLIENTS + MAX_CLIENTS];
		int n_clients = m->n_clients;

		p[PFD_PIDFD] = (struct pollfd){.fd = m->pidfd, .events = POLLIN};
		p[PFD_OUT] = (struct pollfd){.fd = m->out.fd, .events = POLLIN};
		p[PFD_ERR] = (struct pollfd){.fd = m->err.fd, .events = POLLIN};
		p[PFD_LISTEN] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
		p[PFD_SIG] = (struct pollfd){.fd = m->sig_fd, .events = POLLIN};
		p[PFD_TIMER] = (struct pollfd){.fd = m->timer_fd, .events = POLLIN};
		for (int i = 0; i < n_clients; i++)
			p[PFD_CLIENTS + i] = (struct pollfd){.fd = m->clients[i], .events = POLLIN};
		if (poll(p, PFD_CLIENTS + n_clients, poll_timeout(m)) < 0 && errno != EINTR)
			die("poll");
		if (m->health_pid > 0 && now_ns(CLOCK_MONOTONIC) > m->health_deadline)
			health_reap(m, true);
		drop_startup_pages_when_due(m);
		if (p[PFD_OUT].revents)
			pump(m, &m->out);
		if (p[PFD_ERR].revents)
			pump(m, &m->err);
		if (p[PFD_SIG].revents)
			health_reap(m, false);
		if (p[PFD_TIMER].revents)
			health_start(m);
		if (p[PFD_LISTEN].revents)
			accept_client(m);
		for (int i = n_clients; i-- > 0;)
			if (p[PFD_CLIENTS + i].revents && i < m->n_clients)
				client_message(m, i);
		if (p[PFD_PIDFD].revents)
			return;
	}
}

static int exit_status(const struct monitor *m)
{
	siginfo_t si = {0};

	if (waitid((idtype_t)P_PIDFD, (id_t)m->pidfd, &si, WEXITED) < 0)
		return 255;
	return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

/* The exit, to the run's owner: it records it, then answers ATTACH_DONE;
 * the other clients are told the status then. Returns false (the owner
 * dropped) when it went away first, even half-way through: the exit is
 * then recorded here (husk __monitor-exit finishes what the owner left). */
static bool hand_off(struct monitor *m, int status)
{
	char msg[16], reply[ATTACH_MAX_PACKET];
	int len = snprintf(msg, sizeof(msg), "%c%d", ATTACH_HANDOFF, status);
	int owner = -1;

	for (int i = 0; i < m->n_clients; i++)
		if (m->clients[i] == m->owner_fd)
			owner = i;
	if (owner < 0)
		return false;
	if (send(m->owner_fd, msg, (size_t)len, MSG_NOSIGNAL) < 0) {
		client_drop(m, owner);
		return false;
	}
	for (;;) {
		/* what it sent before it knew (input, signals) is dropped */
		ssize_t n = recv(m->owner_fd, reply, sizeof(reply), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			client_drop(m, owner);
			return false;
		}
		if (reply[0] == ATTACH_DONE)
			break;
	}
	client_drop(m, owner);
	len = snprintf(msg, sizeof(msg), "%c%d", ATTACH_EXIT, status);
	for (int i = 0; i < m->n_clients; i++)
		send(m->clients[i], msg, (size_t)len, MSG_NOSIGNAL);
	return true;
}

/* The exit, recorded by husk in this same process. */
static void exec_exit(struct monitor *m, int status)
{
	char status_s[16], *argv[5 + MAX_CLIENTS];
	char fds[MAX_CLIENTS][16];
	int n = 0;

	snprintf(status_s, sizeof(status_s), "%d", status);
	argv[n++] = (char *)m->husk;
	argv[n++] = "__monitor-exit";
	argv[n++] = (char *)m->id;
	argv[n++] = status_s;
	for (int i = 0; i < m->n_clients; i++) {
		set_cloexec(m->clients[i], false);
		snprintf(fds[i], sizeof(fds[i]), "%d", m->clients[i]);
		argv[n++] = fds[i];
	}
	argv[n] = NULL;
	execv(m->husk, argv);
	die("cannot exec husk to record the exit");
}

static void setup(struct monitor *m)
{
	sigset_t chld;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	m->sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	m->dirfd = open(m->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->dirfd < 0)
		die("cannot open the container's directory");
	set_cloexec(m->pidfd, true);
	if (m->pty_fd >= 0) {
		m->out.fd = m->pty_fd;
		m->pty_fd = fcntl(m->pty_fd, F_DUPFD_CLOEXEC, 3);
	}
	int fds[] = {m->out.fd, m->err.fd, m->in_fd, m->pty_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			set_cloexec(fds[i], true);
	for (int i = 0; i < m->n_clients; i++)
		set_cloexec(m->clients[i], true);
	if (m->out.fd >= 0)
		fcntl(m->out.fd, F_SETFL, fcntl(m->out.fd, F_GETFL) | O_NONBLOCK);
	if (m->err.fd >= 0)
		fcntl(m->err.fd, F_SETFL, fcntl(m->err.fd, F_GETFL) | O_NONBLOCK);
	log_open(m);
	m->listen_fd = listen_attach(m);
	arm_timer(m);
}

/*
 * Most of what a static binary has resident after its start is its text
 * and read-only data, brought in 64 KiB at a time around the pages that
 * glibc's start-up touched (ifunc resolvers all over libc among them): the
 * loop then uses a small part of it. So, once set up, the clean file pages
 * of our own mappings (those with no page of their own: text, rodata) are
 * dropped, and come back one by one as the loop touches them (MADV_RANDOM:
 * no read-around). Mappings with copied-on-write pages (relocated data)
 * are left alone.
 */
struct span {
	unsigned long start, end;
};

/* Our own clean file mappings (text, rodata: no anonymous page), read
 * from /proc/self/smaps into ret (at most max). */
static size_t clean_own_mappings(struct span *ret, size_t max)
{
	char line[256], exe[256] = "";
	unsigned long start = 0, end = 0, anon;
	bool ours = false;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/smaps", "re");
	size_t count = 0;

	if (f == NULL || n <= 0) {
		if (f)
			fclose(f);
		return 0;
	}
	exe[n] = '\0';
	while (count < max && fgets(line, sizeof(line), f)) {
		char perms[8], path[256] = "";
		unsigned long a, b;
		/* a mapping's header: "START-END PERMS OFFSET DEV INODE PATH" */
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &a, &b, perms, path) >= 3 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			start = a;
			end = b;
			ours = strcmp(path, exe) == 0 && perms[1] == '-';
			continue;
		}
		if (ours && sscanf(line, "Anonymous: %lu kB", &anon) == 1 && anon == 0)
			ret[count++] = (struct span){start, end};
	}
	fclose(f);
	return count;
}

/* Dropped all at once once the reading is over: what stdio and sscanf
 * touch to find them does not come back through the finding itself. */
static void drop_startup_pages(void)
{
	struct span spans[16];
	size_t n = clean_own_mappings(spans, sizeof(spans) / sizeof(spans[0]));

	for (size_t i = 0; i < n; i++) {
		madvise((void *)spans[i].start, spans[i].end - spans[i].start, MADV_RANDOM);
		madvise((void *)spans[i].start, spans[i].end - spans[i].start, MADV_DONTNEED);
	}
}

/* `husk-monitor pause`: a rootless user's user and mount namespaces are
 * held by this process (see src/engine/rootless.h), doing nothing else. */
static void hold_namespaces(void)
{
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	drop_startup_pages();
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	static struct monitor m = {
	    .in_fd = -1,
	    .pty_fd = -1,
	    .pidfd = -1,
	    .timer_fd = -1,
	    .owner_fd = -1,
	    .out = {.fd = -1, .kind = ATTACH_STDOUT, .name = "stdout"},
	    .err = {.fd = -1, .kind = ATTACH_STDERR, .name = "stderr"},
	};
	int status;

	if (argc == 2 && strcmp(argv[1], "pause") == 0)
		hold_namespaces();
	parse_args(&m, argc, argv);
	setup(&m);
	m.started_ns = now_ns(CLOCK_MONOTONIC);
	run(&m);
	drain(&m);
	status = exit_status(&m);
	if (m.health_pid > 0)
		health_reap(&m, true);
	if (m.listen_fd >= 0)
		unlinkat(m.dirfd, "attach.sock", 0);
	if (hand_off(&m, status))
		return 0;
	exec_exit(&m, status);
	return 125;
}
