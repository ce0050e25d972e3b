/* SPDX-License-Identifier: MIT */
/*
 * Rootless networking without pasta: slirp4netns, which stays in the
 * foreground (started in a session of its own), says it is ready on a
 * pipe, and takes the published ports through its API socket (JSON
 * add_hostfwd requests) towards its guest address, 10.0.2.100.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

static pid_t slirp_spawn(int nsfd, const char *api, int ready_w)
{
	char ready[32], target[32], apiarg[PATH_MAX + 16];
	pid_t child = fork();

	if (child != 0)
		return child;
	net_child_reset();
	fcntl(ready_w, F_SETFD, 0);
	fcntl(nsfd, F_SETFD, 0);
	snprintf(ready, sizeof(ready), "--ready-fd=%d", ready_w);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", nsfd);
	snprintf(apiarg, sizeof(apiarg), "--api-socket=%s", api);
	execlp("slirp4netns", "slirp4netns", "--configure", "--mtu=65520",
	       "--disable-host-loopback", "--netns-type=path", ready, apiarg, target, "tap0",
	       (char *)NULL);
	_exit(127);
}

/* One add_hostfwd request on the API socket. */
static int slirp_forward(const char *api, const struct net_port *p, husk_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char req[256], answer[512] = {0};
	int len;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", api);
	len = snprintf(req, sizeof(req),
		       "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"%s\","
		       "\"host_addr\":\"%s\",\"host_port\":%d,\"guest_port\":%d}}",
		       p->proto, p->host_ip[0] ? p->host_ip : "0.0.0.0", p->host_port, p->port);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write_all(fd, req, (size_t)len) < 0 || shutdown(fd, SHUT_WR) < 0 ||
	    read_all(fd, answer, sizeof(answer) - 1) < 0)
		return husk_error_set(err, errno, "slirp4netns: publish port %d", p->host_port);
	if (strstr(answer, "\"error\""))
		return husk_error_fail(err, HUSK_ERR_BUSY, "slirp4netns: publish port %d/%s: %s",
				       p->host_port, p->proto, answer);
	return 0;
}

int net_slirp_start(const struct engine *e, const struct ctr *c, int nsfd,
		    const struct net_port *ports, size_t n_ports, pid_t *ret, husk_error **err)
{
	cleanup_free char *api = NULL;
	int fds[2], status;
	char ready = 0;
	pid_t child;

	if (asprintf(&api, "%s/net/slirp-%.12s.sock", e->paths.run_root, c->id) < 0)
		return husk_error_set(err, ENOMEM, "slirp4netns");
	unlink(api);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "pipe");
	child = slirp_spawn(nsfd, api, fds[1]);
	close(fds[1]);
	if (child < 0 || read(fds[0], &ready, 1) != 1 || ready != '1') {
		close(fds[0]);
		if (child > 0 && waitpid(child, &status, WNOHANG) == 0)
			kill(child, SIGKILL);
		if (child > 0)
			waitpid(child, &status, 0);
		return husk_error_fail(err, HUSK_ERR_SYSTEM,
				       "rootless networking needs pasta (package passt) or "
				       "slirp4netns, which failed");
	}
	close(fds[0]);
	*ret = child;
	for (size_t i = 0; i < n_ports; i++)
		if (slirp_forward(api, &ports[i], err) < 0)
			return -1; /* the caller ends it */
	return 0;
}
