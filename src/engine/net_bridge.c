/* SPDX-License-Identifier: MIT */
/* A network's bridge: made on first use (again after a reboot). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/ip.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "net_netlink.h"
#include "util.h"

/* Routing between the bridges and the host's links, as Docker does. */
static int ip_forward_on(husk_error **err)
{
	cleanup_close int fd = open("/proc/sys/net/ipv4/ip_forward", O_RDWR | O_CLOEXEC);
	char c = 0;

	if (fd < 0)
		return husk_error_set(err, errno, "open /proc/sys/net/ipv4/ip_forward");
	if (read(fd, &c, 1) == 1 && c == '1')
		return 0;
	if (pwrite(fd, "1\n", 2, 0) != 2)
		return husk_error_set(err, errno, "set net.ipv4.ip_forward");
	return 0;
}

/* Marks a bridge as d's: its alias, d's id. */
#define ALIAS_PREFIX "husk network "

static void alias_of(const struct net_def *d, char alias[NL_ALIAS_MAX])
{
	snprintf(alias, NL_ALIAS_MAX, ALIAS_PREFIX "%s", d->id);
}

int net_bridge_owned(struct nl *n, const struct net_def *d, husk_error **err)
{
	char alias[NL_ALIAS_MAX] = "", mine[NL_ALIAS_MAX];
	int index = nl_link_alias(n, d->bridge, alias, err);

	if (index <= 0)
		return index;
	alias_of(d, mine);
	if (strcmp(alias, mine) != 0)
		return husk_error_fail(err, HUSK_ERR_EXISTS,
				       "network `%s`: the link `%s` exists and is not this "
				       "network's bridge (its alias: `%s`)",
				       d->name, d->bridge, alias);
	return index;
}

bool net_bridge_mine(const struct net_def *d)
{
	cleanup_nl struct nl *n = NULL;

	return nl_open(&n, NULL) == 0 && net_bridge_owned(n, d, NULL) > 0;
}

/* A new bridge, marked as d's; deleted again if it cannot be marked. */
static int bridge_make(struct nl *n, const struct net_def *d, husk_error **err)
{
	char alias[NL_ALIAS_MAX];
	int index;

	if (nl_bridge_add(n, d->bridge, err) < 0)
		return -1;
	index = nl_link_index(n, d->bridge, err);
	if (index == 0)
		index = husk_error_fail(err, HUSK_ERR_SYSTEM, "no bridge `%s`", d->bridge);
	alias_of(d, alias);
	/* the MTU set after its creation stays whatever ports come and go;
	 * its veths take the bridge's */
	if (index > 0 &&
	    nl_link_set(n, index, alias, d->mtu ? d->mtu : NET_LINK_MTU_AUTO, err) < 0) {
		nl_link_del(n, d->bridge, NULL);
		return -1;
	}
	return index;
}

int net_bridge_ensure(const struct engine *e, const struct net_def *d, husk_error **err)
{
	/* 127.0.0.1 DNATed to a container is routed out the bridge */
	static const int devconf[] = {IPV4_DEVCONF_ROUTE_LOCALNET, 0};
	cleanup_nl struct nl *n = NULL;
	bool made = false;
	int index;

	if (nl_open(&n, err) < 0)
		return -1;
	/* a link of that name that is not d's (another root's, the user's)
	 * is never adopted */
	index = net_bridge_owned(n, d, err);
	if (index == 0) {
		index = bridge_make(n, d, err);
		made = index > 0;
	}
	if (index < 0)
		return husk_error_wrap(err, "network `%s`", d->name);
	/* the address and state of one made before too: they cost little,
	 * and mend a bridge half made by a killed husk; its chains again
	 * when they are gone */
	if (nl_addr_add(n, index, d->gateway, d->prefix, err) < 0 ||
	    nl_link_up(n, index, 0, devconf, err) < 0 ||
	    ((made || !net_nft_present(d)) &&
	     (ip_forward_on(err) < 0 || net_nft_apply(e, d, false, err) < 0))) {
		if (made)
			nl_link_del(n, d->bridge, NULL);
		return husk_error_wrap(err, "network `%s`", d->name);
	}
	return 0;
}

int net_bridge_remove(const struct net_def *d, husk_error **err)
{
	cleanup_nl struct nl *n = NULL;
	int index;

	if (nl_open(&n, err) < 0)
		return -1;
	index = net_bridge_owned(n, d, err);
	if (index <= 0)
		return index;
	return nl_link_del(n, d->bridge, err);
}
