/* SPDX-License-Identifier: MIT */
/*
 * Rootless networking: no bridge can be made in the host's netns, so the
 * container's netns is given to pasta (package passt), which makes a tap
 * device there with the host's addresses and routes (--config-net) and
 * forwards the published ports from the host to it. pasta stays in the
 * foreground; its pid and start time are saved in the endpoint file as
 * soon as it is forked (a husk killed while it waits for it leaves it
 * findable), and it is ended with the container's network
 * (net_container_down) or by a reclaim. It is given the netns by its path
 * and so quits by itself once that file is removed (pasta watches it).
 * Without pasta, slirp4netns does the same (net_slirp.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

#define PASTA_ARGS_MAX 64

/* "-t" "[IP/]HOST:PORT" for each port of proto: to the container's port,
 * or (same_port) to the host port in the netns, DNATed there. */
static int port_args(char **argv, size_t *n, const struct net_pasta_plan *p, const char *proto,
		     const char *flag)
{
	for (size_t i = 0; i < p->n_ports && *n + 2 < PASTA_ARGS_MAX - 12; i++) {
		const struct net_port *port = &p->ports[i];
		if (strcmp(port->proto, proto) != 0)
			continue;
		argv[(*n)++] = strdup(flag);
		if (asprintf(&argv[*n], "%s%s%d:%d", port->host_ip, port->host_ip[0] ? "/" : "",
			     port->host_port, p->same_port ? port->host_port : port->port) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

/* pasta in the foreground (its pid is then the one we know), in a session
 * of its own; ready once it wrote its pid file. */
void net_child_reset(void)
{
	sigset_t none;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* our 0, 1, 2 are the container's pipes by now */
	for (int i = 0; i < 3; i++)
		dup2(null, i);
	/* a monitor's signal mask and ignored signals live on across exec */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
}

int net_helper_record(const struct net_helper *h, pid_t pid, husk_error **err)
{
	unsigned long long start = 0;

	proc_start_time(pid, &start);
	json_object_set_new(h->ep, "Pasta", json_integer(pid));
	json_object_set_new(h->ep, "PastaStart", json_integer((json_int_t)start));
	return net_endpoint_save(h->e, h->id, h->ep, err);
}

static int pasta_run(char **argv, const struct net_pasta_plan *p, pid_t *ret, husk_error **err)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		return husk_error_set(err, errno, "fork");
	if (child == 0) {
		net_child_reset();
		execvp("pasta", argv);
		_exit(127);
	}
	*ret = child;
	if (p->record(p->record_arg, child, err) < 0)
		return -1;
	for (int waited = 0; waited < 5000; waited++) {
		struct stat st;
		if (stat(p->pidfile, &st) == 0 && st.st_size > 0)
			return 0;
		if (waitpid(child, &status, WNOHANG) == child) {
			*ret = 0;
			return husk_error_fail(err, HUSK_ERR_SYSTEM, "pasta failed (%s %d)",
					       WIFEXITED(status) ? "status" : "signal",
					       WIFEXITED(status) ? WEXITSTATUS(status)
								 : WTERMSIG(status));
		}
		usleep(1000);
	}
	return husk_error_fail(err, HUSK_ERR_SYSTEM, "pasta: not ready after 5 s");
}

int net_pasta_spawn(const struct net_pasta_plan *p, pid_t *ret, husk_error **err)
{
	char *argv[PASTA_ARGS_MAX] = {0};
	size_t n = 0;
	int r = -1;

	*ret = 0;
	argv[n++] = strdup("pasta");
	if (p->config_net)
		argv[n++] = strdup("--config-net");
	if (p->ifname) {
		argv[n++] = strdup("--ns-ifname");
		argv[n++] = strdup(p->ifname);
	}
	argv[n++] = strdup("--quiet");
	argv[n++] = strdup("--foreground");
	/* the gateway is not the host's loopback: a container never reaches
	 * the host's 127.0.0.1-only services (podman's default too) */
	argv[n++] = strdup("--no-map-gw");
	/* only what is published; nothing forwarded from the container */
	argv[n++] = strdup("-T");
	argv[n++] = strdup("none");
	argv[n++] = strdup("-U");
	argv[n++] = strdup("none");
	argv[n++] = strdup("-P");
	argv[n++] = strdup(p->pidfile);
	if (port_args(argv, &n, p, "tcp", "-t") < 0 || port_args(argv, &n, p, "udp", "-u") < 0 ||
	    (argv[n++] = strdup("--netns")) == NULL || (argv[n++] = strdup(p->netns)) == NULL)
		goto out;
	if (!strv_contains(argv, "-t")) {
		argv[n++] = strdup("-t");
		argv[n++] = strdup("none");
	}
	if (!strv_contains(argv, "-u")) {
		argv[n++] = strdup("-u");
		argv[n++] = strdup("none");
	}
	unlink(p->pidfile);
	r = pasta_run(argv, p, ret, err);
	unlink(p->pidfile);
out:
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	return r < 0 && err && *err == NULL ? husk_error_set(err, ENOMEM, "pasta") : r;
}

static int helper_record(void *arg, pid_t pid, husk_error **err)
{
	return net_helper_record(arg, pid, err);
}

static int pasta_start(const struct net_helper *h, const struct net_port *ports, size_t n_ports,
		       pid_t *ret, husk_error **err)
{
	cleanup_free char *pidfile = NULL, *netns = net_netns_path(h->e, h->id);
	struct net_pasta_plan p = {.config_net = true,
				   .ports = ports,
				   .n_ports = n_ports,
				   .record = helper_record,
				   .record_arg = (void *)h};

	if (netns == NULL ||
	    asprintf(&pidfile, "%s/net/pasta-%s.pid", h->e->paths.run_root, h->id) < 0)
		return husk_error_set(err, ENOMEM, "pasta");
	p.netns = netns;
	p.pidfile = pidfile;
	return net_pasta_spawn(&p, ret, err);
}

/* A user network's published ports: a pasta of the container's own,
 * attached to the rootless netns with a tap of its own name (left down:
 * the netns's way out is its own pasta's), forwarding each host port to
 * the same port there, where husk's DNAT takes it to the container. A
 * connection from the host's loopback is spliced to the netns's loopback
 * (pasta's socket path); one from elsewhere would come through that tap,
 * which is down: published ports of a rootless user network are the
 * host's loopback's. */
int net_pasta_forward(const struct engine *e, const char *id, json_t *ep,
		      const struct net_port *ports, size_t n_ports, husk_error **err)
{
	const struct net_helper h = {.e = e, .id = id, .ep = ep};
	cleanup_free char *pidfile = NULL, *netns = net_rootless_path(e);
	char ifname[16];
	struct net_pasta_plan p = {.ifname = ifname,
				   .ports = ports,
				   .n_ports = n_ports,
				   .same_port = true,
				   .record = helper_record,
				   .record_arg = (void *)&h};
	pid_t pasta = 0;

	if (n_ports == 0)
		return 0;
	if (netns == NULL || asprintf(&pidfile, "%s/net/pasta-%s.pid", e->paths.run_root, id) < 0)
		return husk_error_set(err, ENOMEM, "pasta");
	snprintf(ifname, sizeof(ifname), "hkp%.11s", id);
	p.netns = netns;
	p.pidfile = pidfile;
	if (net_pasta_spawn(&p, &pasta, err) < 0) {
		if (pasta > 0)
			kill(pasta, SIGKILL);
		return husk_error_wrap(err, "publish the ports");
	}
	return 0;
}

static bool program_found(const char *name)
{
	const char *path = getenv("PATH");
	cleanup_free char *copy = strdup(path && *path ? path : "/usr/bin:/bin");
	char *save = NULL;

	for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		cleanup_free char *p = NULL;
		if (asprintf(&p, "%s/%s", dir, name) >= 0 && access(p, X_OK) == 0)
			return true;
	}
	return false;
}

bool net_rootless_helper_usable(void)
{
	return access("/dev/net/tun", R_OK | W_OK) == 0 &&
	       (program_found("pasta") || program_found("slirp4netns"));
}

int net_pasta_up(const struct engine *e, const struct ctr *c, int nsfd, json_t *ep,
		 husk_error **err)
{
	const struct net_helper h = {.e = e, .id = c->id, .ep = ep};
	struct net_port *ports = NULL;
	size_t n = 0;
	pid_t pasta = 0;
	int r;

	/* both make a tap device: a host whose /dev/net/tun is 0600 (not
	 * udev's 0666) forbids it to users */
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return husk_error_set(err, errno,
				      "rootless networking needs /dev/net/tun (open to users: "
				      "mode 0666)");
	if (net_ports_claim(e, c, ep, NET_DEFAULT, &ports, &n, err) < 0)
		return -1;
	r = program_found("pasta") ? pasta_start(&h, ports, n, &pasta, err)
				   : net_slirp_start(&h, nsfd, ports, n, &pasta, err);
	if (r < 0 && pasta > 0)
		kill(pasta, SIGKILL);
	free(ports);
	return r;
}

void net_pasta_down(const struct engine *e, const char *id, json_t *ep)
{
	json_int_t pid = json_integer_value(json_object_get(ep, "Pasta"));
	json_int_t start = json_integer_value(json_object_get(ep, "PastaStart"));

	if (pid > 0 && process_alive((pid_t)pid, (unsigned long long)start)) {
		kill((pid_t)pid, SIGKILL); /* nothing of it to save */
		/* reaped when it is ours (a monitor's restart): ECHILD at once
		 * otherwise */
		waitpid((pid_t)pid, NULL, 0);
	}
	net_slirp_forget(e, id, ep);
}
