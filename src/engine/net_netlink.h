/* SPDX-License-Identifier: MIT */
#pragma once

/* rtnetlink through libmnl: the links, addresses and routes the bridge
 * driver makes. A socket opened in a network namespace (nl_open_in)
 * acts there for as long as it lives. Nothing here prints. */

#include <netinet/in.h>
#include <stdbool.h>

#include <husk/error.h>

struct nl;

#define NL_ALIAS_MAX 256 /* IFALIASZ */

int nl_open(struct nl **ret, husk_error **err);
/* A socket in the netns nsfd names (setns there and back). */
int nl_open_in(int nsfd, struct nl **ret, husk_error **err);
void nl_close(struct nl *n);
static inline void nl_closep(struct nl **n)
{
	if (*n)
		nl_close(*n);
}
#define cleanup_nl __attribute__((cleanup(nl_closep)))

/* The link's index, 0 when there is none by that name. */
int nl_link_index(struct nl *n, const char *name, husk_error **err);
/* The link's index (0: no such link) and its alias ("" when none). */
int nl_link_alias(struct nl *n, const char *name, char alias[NL_ALIAS_MAX], husk_error **err);
/* Its alias (NULL: kept) and MTU (0: kept), the MTU through the device's
 * own change: a bridge's then stays, whatever its ports (the one given at
 * its creation the kernel takes as no one's, and sets to its smallest
 * port's, 1500 with none, as ports come and go). */
int nl_link_set(struct nl *n, int index, const char *alias, unsigned mtu, husk_error **err);
/* Its MTU: nl_link_set. */
int nl_bridge_add(struct nl *n, const char *name, husk_error **err);
/* A veth pair: host in this netns, peer in the netns peer_nsfd names,
 * both with mtu. */
int nl_veth_add(struct nl *n, const char *host, const char *peer, int peer_nsfd, unsigned mtu,
		husk_error **err);
/* Removed; no such link is no failure. */
int nl_link_del(struct nl *n, const char *name, husk_error **err);
/* Up, on master (0: none), with the IPv4 devconf flags given set to 1
 * (IPV4_DEVCONF_*, 0-terminated). */
int nl_link_up(struct nl *n, int index, int master, const int *devconf_on, husk_error **err);
/* The bridge port sends back what came in on it (br_netfilter: a
 * container reaching its own published port through the host). */
int nl_port_hairpin(struct nl *n, int index, husk_error **err);
/* The names of the links whose master is link master (a bridge's ports). */
int nl_bridge_ports(struct nl *n, int master, char ***ret, husk_error **err);
int nl_link_mtu(struct nl *n, int index, unsigned *ret, husk_error **err);
/* An IPv4 address; one there already is no failure. */
int nl_addr_add(struct nl *n, int index, struct in_addr addr, int prefix, husk_error **err);
/* Via gw; with a path MTU of mtu (0: the link's). */
int nl_route_default(struct nl *n, struct in_addr gw, unsigned mtu, husk_error **err);
/* Whether a route of the main table (on a link other than skip_index)
 * overlaps net/prefix. */
int nl_routes_overlap(struct nl *n, struct in_addr net, int prefix, int skip_index, bool *ret,
		      husk_error **err);
