/* SPDX-License-Identifier: MIT */
/*
 * Rootless networking without pasta: slirp4netns, which stays in the
 * foreground (started in a session of its own), says it is ready on a
 * pipe, and takes the published ports through its API socket (JSON
 * add_hostfwd requests) towards its guest address, 10.0.2.100.
 * It quits by itself once its --exit-fd hangs up: the other end is held
 * by the husk that starts the container and, across its exec, by the
 * container's monitor; a kill of either ends it.
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

static pid_t slirp_spawn(int nsfd, const char *api, int ready_w, int exit_r)
{
	char ready[32], quit[32], target[32], apiarg[PATH_MAX + 16];
	pid_t child = fork();

	if (child != 0)
		return child;
	net_child_reset();
	fcntl(ready_w, F_SETFD, 0);
	fcntl(exit_r, F_SETFD, 0);
	fcntl(nsfd, F_SETFD, 0);
	snprintf(ready, sizeof(ready), "--ready-fd=%d", ready_w);
	snprintf(quit, sizeof(quit), "--exit-fd=%d", exit_r);
	snprintf(target, sizeof(target), "/proc/self/fd/%d", nsfd);
	snprintf(apiarg, sizeof(apiarg), "--api-socket=%s", api);
	execlp("slirp4netns", "slirp4netns", "--configure", "--mtu=65520",
	       "--disable-host-loopback", "--netns-type=path", ready, quit, apiarg, target, "tap0",
	       (char *)NULL);
	_exit(127);
}

static char *api_path(const struct engine *e, const char *id)
{
	char *api = NULL;

	return asprintf(&api, "%s/net/slirp-%.12s.sock", e->paths.run_root, id) < 0 ? NULL : api;
}

/* The write end of the exit pipe, kept open across the exec of the monitor
 * (not close-on-exec), and noted in ep with its owner, for
 * net_slirp_forget to close it in a monitor that starts the container
 * again. */
static void exit_fd_keep(json_t *ep, int fd)
{
	unsigned long long start = 0;

	fcntl(fd, F_SETFD, 0);
	proc_start_time(getpid(), &start);
	json_object_set_new(ep, "SlirpExitFd", json_integer(fd));
	json_object_set_new(ep, "SlirpExitOwner", json_integer(getpid()));
	json_object_set_new(ep, "SlirpExitOwnerStart", json_integer((json_int_t)start));
}

void net_slirp_forget(const struct engine *e, const char *id, json_t *ep)
{
	cleanup_free char *api = api_path(e, id);
	json_int_t fd = json_integer_value(json_object_get(ep, "SlirpExitFd"));
	json_int_t owner = json_integer_value(json_object_get(ep, "SlirpExitOwner"));
	json_int_t start = json_integer_value(json_object_get(ep, "SlirpExitOwnerStart"));
	unsigned long long mine = 0;

	if (api)
		unlink(api);
	if (fd <= 2 || owner != getpid() || proc_start_time(getpid(), &mine) < 0 ||
	    (json_int_t)mine != start)
		return;
	close((int)fd);
	json_object_del(ep, "SlirpExitFd");
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

int net_slirp_start(const struct net_helper *h, int nsfd, const struct net_port *ports,
		    size_t n_ports, pid_t *ret, husk_error **err)
{
	cleanup_free char *api = api_path(h->e, h->id);
	cleanup_close int quit_r = -1, quit_w = -1;
	int fds[2], quit[2], status;
	char ready = 0;
	pid_t child;

	if (api == NULL)
		return husk_error_set(err, ENOMEM, "slirp4netns");
	unlink(api);
	if (pipe2(quit, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "pipe");
	quit_r = quit[0];
	quit_w = quit[1];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return husk_error_set(err, errno, "pipe");
	child = slirp_spawn(nsfd, api, fds[1], quit_r);
	close(fds[1]);
	if (child > 0) {
		exit_fd_keep(h->ep, steal_fd(&quit_w));
		if (net_helper_record(h, child, err) < 0) {
			close(fds[0]);
			*ret = child;
			return -1;
		}
	}
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
