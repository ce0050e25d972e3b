/* SPDX-License-Identifier: MIT */
/* Published ports: the ports a container publishes, and whether a host
 * port is free (-p's syntax: net_publish.c). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

/* Whether the endpoint of another container publishes the same port. */
static bool endpoint_publishes(json_t *ep, const struct net_port *p)
{
	json_t *ports = json_object_get(ep, "Ports"), *q;
	size_t i;

	json_array_foreach (ports, i, q) {
		const char *ip = json_string_value(json_object_get(q, "HostIp")) ?: "";
		if (strcmp(json_string_value(json_object_get(q, "Proto")) ?: "", p->proto) == 0 &&
		    json_integer_value(json_object_get(q, "HostPort")) == p->host_port &&
		    (!ip[0] || !p->host_ip[0] || strcmp(ip, p->host_ip) == 0))
			return true;
	}
	return false;
}

static int published_by_other(const struct engine *e, const char *self_id, const struct net_port *p,
			      char **ret_id, husk_error **err)
{
	cleanup_strv char **ids = NULL;

	*ret_id = NULL;
	if (net_endpoint_ids(e, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids[i]; i++) {
		cleanup_json json_t *ep = NULL;
		if (self_id && strcmp(ids[i], self_id) == 0)
			continue;
		ep = net_endpoint_load(e, ids[i]);
		if (ep && endpoint_publishes(ep, p)) {
			*ret_id = strdup(ids[i]);
			return 1;
		}
	}
	return 0;
}

/* Binds the port a moment: EADDRINUSE when a process of the host has it. */
static int host_bind(const char *proto, const char *host_ip, int port, int *ret_port)
{
	bool tcp = strcmp(proto, "tcp") == 0;
	cleanup_close int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof(sa);
	int one = 1;

	if (fd < 0)
		return -errno;
	if (host_ip[0] && inet_pton(AF_INET, host_ip, &sa.sin_addr) != 1)
		return -EINVAL;
	/* TCP: a connection in TIME_WAIT is no listener */
	if (tcp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (ret_port && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		*ret_port = ntohs(sa.sin_port);
	return 0;
}

int net_port_check_free(const struct engine *e, const char *self_id, const struct net_port *p,
			husk_error **err)
{
	cleanup_free char *other = NULL;
	const char *ip = p->host_ip[0] ? p->host_ip : "0.0.0.0";
	int r = published_by_other(e, self_id, p, &other, err);

	if (r < 0)
		return -1;
	if (r > 0)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "port %s:%d/%s is already published by container %.12s", ip,
				       p->host_port, p->proto, other);
	r = host_bind(p->proto, p->host_ip, p->host_port, NULL);
	if (r == -EADDRINUSE)
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "port %s:%d/%s is already in use on the host", ip,
				       p->host_port, p->proto);
	if (r == -EADDRNOTAVAIL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "-p: %s is no address of this host",
				       ip);
	if (r < 0)
		return husk_error_set(err, -r, "bind %s:%d/%s", ip, p->host_port, p->proto);
	return 0;
}

int net_port_pick(const struct engine *e, const char *proto, const char *host_ip, int *ret,
		  husk_error **err)
{
	for (int attempt = 0; attempt < 32; attempt++) {
		struct net_port p = {0};
		cleanup_free char *other = NULL;
		int r = host_bind(proto, host_ip, 0, &p.host_port);
		if (r < 0)
			return husk_error_set(err, -r, "pick a free %s port", proto);
		snprintf(p.proto, sizeof(p.proto), "%s", proto);
		snprintf(p.host_ip, sizeof(p.host_ip), "%s", host_ip);
		r = published_by_other(e, NULL, &p, &other, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			*ret = p.host_port;
			return 0;
		}
	}
	return husk_error_fail(err, HUSK_ERR_BUSY, "no free %s port found", proto);
}

int net_ports_claim(const struct engine *e, const struct ctr *c, json_t *ep, const char *net,
		    struct net_port **ret, size_t *ret_n, husk_error **err)
{
	json_t *att = json_object_get(json_object_get(ep, "Networks"), net);
	struct net_port *ports = NULL;
	size_t n = 0;

	if (net_ctr_ports(c, &ports, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct net_port *p = &ports[i];
		json_t *j;
		if (p->host_port == 0 ? net_port_pick(e, p->proto, p->host_ip, &p->host_port, err)
				      : net_port_check_free(e, c->id, p, err))
			goto fail;
		j = json_pack("{s:s, s:s, s:i, s:i, s:s}", "Proto", p->proto, "HostIp", p->host_ip,
			      "HostPort", p->host_port, "Port", p->port, "Network", net);
		if (j && json_object_get(att, "IPAddress"))
			json_object_set(j, "IPAddress", json_object_get(att, "IPAddress"));
		json_array_append_new(json_object_get(ep, "Ports"), j);
		/* recorded before the rules exist: a kill leaves them findable */
		if (net_endpoint_save(e, c->id, ep, err) < 0)
			goto fail;
	}
	*ret = ports;
	*ret_n = n;
	return 0;
fail:
	free(ports);
	return -1;
}

/* "80/tcp" */
static int port_key(const char *key, struct net_port *p)
{
	char proto[8] = "tcp";
	int port;

	if (sscanf(key, "%d/%7s", &port, proto) < 1 || port < 1 || port > 65535 ||
	    (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
		return -1;
	p->port = port;
	snprintf(p->proto, sizeof(p->proto), "%s", proto);
	return 0;
}

static int add_port(struct net_port **v, size_t *n, const struct net_port *p)
{
	struct net_port *nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return -1;
	nv[(*n)++] = *p;
	*v = nv;
	return 0;
}

int net_ctr_ports(const struct ctr *c, struct net_port **ret, size_t *ret_n, husk_error **err)
{
	json_t *hc = json_object_get(c->doc, "HostConfig");
	json_t *bindings = json_object_get(hc, "PortBindings"), *list, *b, *v;
	json_t *exposed = json_object_get(json_object_get(c->doc, "Config"), "ExposedPorts");
	struct net_port *ports = NULL;
	const char *key;
	size_t n = 0, i;

	json_object_foreach (bindings, key, list) {
		json_array_foreach (list, i, b) {
			struct net_port p = {0};
			const char *hp = json_string_value(json_object_get(b, "HostPort")) ?: "";
			if (port_key(key, &p) < 0)
				continue;
			snprintf(p.host_ip, sizeof(p.host_ip), "%s",
				 json_string_value(json_object_get(b, "HostIp")) ?: "");
			p.host_port = atoi(hp);
			if (add_port(&ports, &n, &p) < 0)
				goto nomem;
		}
	}
	if (json_is_true(json_object_get(hc, "PublishAllPorts")))
		json_object_foreach (exposed, key, v) {
			struct net_port p = {0};
			if (json_object_get(bindings, key) || port_key(key, &p) < 0)
				continue;
			if (add_port(&ports, &n, &p) < 0)
				goto nomem;
		}
	*ret = ports;
	*ret_n = n;
	return 0;
nomem:
	free(ports);
	return husk_error_set(err, ENOMEM, "ports");
}
