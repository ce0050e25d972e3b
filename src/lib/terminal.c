/* SPDX-License-Identifier: MIT */
/* Terminals: pty in the container, console socket, foreground proxy. */
#define _GNU_SOURCE
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "rootfs.h"
#include "util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

static int open_master(int rootfd, husk_error **err)
{
	cleanup_close int path = -1;
	char p[32];
	int fd;

	if (rootfd >= 0 && husk_path_open_in_root(rootfd, "/dev/pts/ptmx", &path, NULL) == 0) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", path);
		fd = open(p, O_RDWR | O_NOCTTY | O_CLOEXEC);
	} else {
		fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	}
	if (fd < 0)
		return husk_error_set(err, errno, "open ptmx");
	return fd;
}

static int open_slave(int master, husk_error **err)
{
	char name[64];
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (slave >= 0)
		return slave;
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return husk_error_set(err, errno, "ptsname");
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return husk_error_set(err, errno, "open `%s`", name);
	return slave;
}

int husk_terminal_open(int rootfd, unsigned short rows, unsigned short cols, int *ret_master,
		       int *ret_slave, husk_error **err)
{
	cleanup_close int master = open_master(rootfd, err);
	cleanup_close int slave = -1;
	int unlock = 0;

	if (master < 0)
		return -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return husk_error_set(err, errno, "unlock pty");
	slave = open_slave(master, err);
	if (slave < 0)
		return -1;
	/* Before the master is handed over: the program must not start on a
	 * terminal without the size it was given (runc fails here too). */
	if ((rows || cols) &&
	    ioctl(slave, TIOCSWINSZ, &(struct winsize){.ws_row = rows, .ws_col = cols}) < 0)
		return husk_error_set(err, errno, "process.consoleSize: set the terminal size");
	*ret_master = steal_fd(&master);
	*ret_slave = steal_fd(&slave);
	return 0;
}

int husk_terminal_become_controlling(int slave, husk_error **err)
{
	if (setsid() < 0 && errno != EPERM)
		return husk_error_set(err, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_error_set(err, errno, "set controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return husk_error_set(err, errno, "dup terminal");
	return 0;
}

int husk_terminal_connect(const char *socket_path, int *ret_fd, husk_error **err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return husk_error_set(err, errno, "console socket");
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return husk_error_fail(err, HUSK_ERR_INVALID, "--console-socket: path too long");
	strcpy(addr.sun_path, socket_path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return husk_error_set(err, errno, "--console-socket: connect `%s`", socket_path);
	*ret_fd = steal_fd(&fd);
	return 0;
}

int husk_terminal_send_to_socket(const char *socket_path, int master, husk_error **err)
{
	cleanup_close int fd = -1;
	static const char name[] = "/dev/ptmx";

	if (husk_terminal_connect(socket_path, &fd, err) < 0)
		return -1;
	if (send_fd(fd, master, name, sizeof(name) - 1) < 0)
		return husk_error_set(err, errno, "--console-socket: send terminal");
	return 0;
}
