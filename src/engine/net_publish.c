/* SPDX-License-Identifier: MIT */
/* -p's syntax: [HOST_IP:][HOST_PORT:]PORT[/tcp|udp]. A file of its own,
 * so that the fuzz target (tests/fuzz/fuzz-publish.c) links it alone. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "util.h"

static int port_number(const char *s, int *ret)
{
	int64_t v;

	if (parse_int64(s, 1, 65535, &v) < 0)
		return -1;
	*ret = (int)v;
	return 0;
}

/* Splits s in place on ':' into at most 3 parts; false for a 4th. */
static bool split_colons(char *s, char *parts[3], int *ret_n)
{
	int n = 0;

	for (char *p = s, *c; p && n < 3; p = c) {
		c = strchr(p, ':');
		if (c)
			*c++ = '\0';
		parts[n++] = p;
		if (c && n == 3)
			return false;
	}
	*ret_n = n;
	return true;
}

int net_parse_publish(const char *v, struct net_port *ret, husk_error **err)
{
	cleanup_free char *s = strdup(v);
	struct net_port p = {.proto = "tcp"};
	char *proto, *parts[3] = {0};
	struct in_addr a;
	int n;

	if (s == NULL)
		return husk_error_set(err, ENOMEM, "-p");
	proto = strchr(s, '/');
	if (proto)
		*proto++ = '\0';
	if (proto && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "-p `%s`: the protocol must be tcp or udp", v);
	if (proto)
		strcpy(p.proto, proto);
	if (!split_colons(s, parts, &n))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "-p `%s`: must be [HOST_IP:][HOST_PORT:]PORT[/PROTO]", v);
	if (port_number(parts[n - 1], &p.port) < 0 ||
	    (n >= 2 && parts[n - 2][0] && port_number(parts[n - 2], &p.host_port) < 0))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "-p `%s`: a port must be a number from 1 to 65535 (no "
				       "ranges)",
				       v);
	if (n == 3 && strcmp(parts[0], "0.0.0.0") != 0 && parts[0][0]) {
		if (inet_pton(AF_INET, parts[0], &a) != 1)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "-p `%s`: `%s` is not an IPv4 address", v, parts[0]);
		snprintf(p.host_ip, sizeof(p.host_ip), "%s", parts[0]);
	}
	*ret = p;
	return 0;
}
