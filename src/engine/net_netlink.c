/* SPDX-License-Identifier: MIT */
/* rtnetlink requests through libmnl, each acknowledged. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net_netlink.h"
#include "util.h"

struct nl {
	struct mnl_socket *s;
	unsigned seq, portid;
	char buf[32768];
};

int nl_open(struct nl **ret, husk_error **err)
{
	struct nl *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return husk_error_set(err, ENOMEM, "netlink");
	n->s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (n->s == NULL || mnl_socket_bind(n->s, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		nl_close(n);
		return husk_error_set(err, e, "netlink socket");
	}
	n->portid = mnl_socket_get_portid(n->s);
	n->seq = (unsigned)time(NULL);
	*ret = n;
	return 0;
}

void nl_close(struct nl *n)
{
	if (n->s)
		mnl_socket_close(n->s);
	free(n);
}

int nl_open_in(int nsfd, struct nl **ret, husk_error **err)
{
	/* the thread's own: rootless, it is a thread in the rootless netns
	 * (net_rootless.c), and /proc/self is the main thread's */
	cleanup_close int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int r;

	if (self < 0)
		return husk_error_set(err, errno, "open /proc/thread-self/ns/net");
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return husk_error_set(err, errno, "enter the container's network namespace");
	r = nl_open(ret, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* never go on in the wrong namespace */
		abort();
	}
	return r;
}

static struct nlmsghdr *nl_msg(struct nl *n, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(n->buf);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++n->seq;
	return h;
}

/* Sends h and runs cb on each answer until the ACK (a dump: DONE); -errno.
 * Every request but a dump asks for an ACK: a GET's single answer is not
 * followed by anything else to stop at. */
static int nl_talk_cb(struct nl *n, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	unsigned seq = h->nlmsg_seq;
	ssize_t len;
	int r;

	/* NLM_F_DUMP's bits mean NLM_F_EXCL and NLM_F_REPLACE on a NEW: a
	 * dump is a GET (RTM_GET* are 2 modulo 4) */
	if ((h->nlmsg_type & 3) != 2 || (h->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		h->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(n->s, h, h->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(n->s, n->buf, sizeof(n->buf));
		if (len < 0)
			return -errno;
		r = mnl_cb_run(n->buf, (size_t)len, seq, n->portid, cb, data);
	} while (r > 0);
	return r < 0 ? -errno : 0;
}

static int nl_talk(struct nl *n, struct nlmsghdr *h)
{
	return nl_talk_cb(n, h, NULL, NULL);
}

static struct ifinfomsg *ifi_put(struct nlmsghdr *h, int index)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return ifi;
}

struct link_answer {
	int index;
	unsigned mtu;
	char alias[NL_ALIAS_MAX];
};

static int link_cb(const struct nlmsghdr *h, void *data)
{
	struct link_answer *a = data;
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	struct nlattr *attr;

	a->index = ifi->ifi_index;
	mnl_attr_for_each(attr, h, sizeof(*ifi))
	{
		if (mnl_attr_get_type(attr) == IFLA_MTU)
			a->mtu = mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == IFLA_IFALIAS)
			snprintf(a->alias, sizeof(a->alias), "%.*s",
				 (int)strnlen(mnl_attr_get_payload(attr),
					      mnl_attr_get_payload_len(attr)),
				 (const char *)mnl_attr_get_payload(attr));
	}
	return MNL_CB_OK;
}

static int link_get(struct nl *n, const char *name, int index, struct link_answer *a)
{
	struct nlmsghdr *h = nl_msg(n, RTM_GETLINK, 0);

	ifi_put(h, index);
	if (name)
		mnl_attr_put_strz(h, IFLA_IFNAME, name);
	return nl_talk_cb(n, h, link_cb, a);
}

int nl_link_alias(struct nl *n, const char *name, char alias[NL_ALIAS_MAX], husk_error **err)
{
	struct link_answer a = {0};
	int r = link_get(n, name, 0, &a);

	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return husk_error_set(err, -r, "look up the link `%s`", name);
	memcpy(alias, a.alias, NL_ALIAS_MAX);
	return a.index;
}

int nl_link_index(struct nl *n, const char *name, husk_error **err)
{
	char alias[NL_ALIAS_MAX];

	return nl_link_alias(n, name, alias, err);
}

int nl_link_set(struct nl *n, int index, const char *alias, unsigned mtu, husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, 0);
	int r;

	ifi_put(h, index);
	if (alias)
		mnl_attr_put_strz(h, IFLA_IFALIAS, alias);
	if (mtu)
		mnl_attr_put_u32(h, IFLA_MTU, mtu);
	r = nl_talk(n, h);
	if (r < 0)
		return husk_error_set(err, -r, "set the alias or MTU of link %d", index);
	return 0;
}

int nl_link_mtu(struct nl *n, int index, unsigned *ret, husk_error **err)
{
	struct link_answer a = {0};
	int r = link_get(n, NULL, index, &a);

	if (r < 0)
		return husk_error_set(err, -r, "look up link %d", index);
	*ret = a.mtu;
	return 0;
}

int nl_bridge_add(struct nl *n, const char *name, husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info;
	int r;

	ifi_put(h, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, info);
	r = nl_talk(n, h);
	if (r < 0 && r != -EEXIST)
		return husk_error_set(err, -r, "create the bridge `%s`", name);
	return 0;
}

int nl_veth_add(struct nl *n, const char *host, const char *peer, int peer_nsfd, unsigned mtu,
		husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data, *pinfo;
	struct ifinfomsg *pifi;
	int r;

	ifi_put(h, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, host);
	mnl_attr_put_u32(h, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	pinfo = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/* the peer's ifinfomsg, then its attributes, inside VETH_INFO_PEER */
	pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
	memset(pifi, 0, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, peer);
	mnl_attr_put_u32(h, IFLA_MTU, mtu);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
	mnl_attr_nest_end(h, pinfo);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	r = nl_talk(n, h);
	if (r < 0)
		return husk_error_set(err, -r, "create the veth pair `%s`", host);
	return 0;
}

int nl_link_del(struct nl *n, const char *name, husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_DELLINK, 0);
	int r;

	ifi_put(h, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	r = nl_talk(n, h);
	if (r < 0 && r != -ENODEV)
		return husk_error_set(err, -r, "remove the link `%s`", name);
	return 0;
}

int nl_link_up(struct nl *n, int index, int master, const int *devconf_on, husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = ifi_put(h, index);
	int r;

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (master)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	if (devconf_on && devconf_on[0]) {
		struct nlattr *spec = mnl_attr_nest_start(h, IFLA_AF_SPEC);
		struct nlattr *inet = mnl_attr_nest_start(h, AF_INET);
		struct nlattr *conf = mnl_attr_nest_start(h, IFLA_INET_CONF);
		for (const int *d = devconf_on; *d; d++)
			mnl_attr_put_u32(h, (uint16_t)*d, 1);
		mnl_attr_nest_end(h, conf);
		mnl_attr_nest_end(h, inet);
		mnl_attr_nest_end(h, spec);
	}
	r = nl_talk(n, h);
	if (r < 0)
		return husk_error_set(err, -r, "set link %d up", index);
	return 0;
}

int nl_port_hairpin(struct nl *n, int index, husk_error **err)
{
	/* a SETLINK of family AF_BRIDGE reaches the bridge's port options */
	struct nlmsghdr *h = nl_msg(n, RTM_SETLINK, 0);
	struct ifinfomsg *ifi = ifi_put(h, index);
	struct nlattr *info;
	int r;

	ifi->ifi_family = AF_BRIDGE;
	info = mnl_attr_nest_start(h, IFLA_PROTINFO);
	mnl_attr_put_u8(h, IFLA_BRPORT_MODE, 1);
	mnl_attr_nest_end(h, info);
	r = nl_talk(n, h);
	if (r < 0)
		return husk_error_set(err, -r, "set hairpin mode on link %d", index);
	return 0;
}

int nl_addr_add(struct nl *n, int index, struct in_addr addr, int prefix, husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	struct in_addr bcast = addr;
	int r;

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(h, IFA_LOCAL, sizeof(addr), &addr);
	mnl_attr_put(h, IFA_ADDRESS, sizeof(addr), &addr);
	if (prefix < 31) {
		bcast.s_addr |= htonl(prefix == 0 ? ~0U : (1U << (32 - prefix)) - 1);
		mnl_attr_put(h, IFA_BROADCAST, sizeof(bcast), &bcast);
	}
	r = nl_talk(n, h);
	if (r < 0 && r != -EEXIST)
		return husk_error_set(err, -r, "add an address to link %d", index);
	return 0;
}

int nl_route_default(struct nl *n, struct in_addr gw, unsigned mtu, husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	struct nlattr *metrics;
	int r;

	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(h, RTA_GATEWAY, sizeof(gw), &gw);
	if (mtu) {
		metrics = mnl_attr_nest_start(h, RTA_METRICS);
		mnl_attr_put_u32(h, RTAX_MTU, mtu);
		mnl_attr_nest_end(h, metrics);
	}
	r = nl_talk(n, h);
	if (r < 0 && r != -EEXIST)
		return husk_error_set(err, -r, "add the default route");
	return 0;
}

struct ports_query {
	int master;
	char **names;
	int r;
};

static int port_cb(const struct nlmsghdr *h, void *data)
{
	struct ports_query *q = data;
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	const char *name = NULL;
	struct nlattr *attr;
	int master = 0;

	mnl_attr_for_each(attr, h, sizeof(*ifi))
	{
		if (mnl_attr_get_type(attr) == IFLA_MASTER)
			master = (int)mnl_attr_get_u32(attr);
		else if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
			 mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(attr);
	}
	if (master == q->master && name && q->r == 0 && strv_append(&q->names, strdup(name)) < 0)
		q->r = -ENOMEM;
	return MNL_CB_OK;
}

int nl_bridge_ports(struct nl *n, int master, char ***ret, husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_GETLINK, NLM_F_DUMP);
	struct ports_query q = {.master = master};
	int r;

	ifi_put(h, 0);
	/* the kernel dumps that master's ports only (port_cb checks too) */
	mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	r = nl_talk_cb(n, h, port_cb, &q);
	if (r == 0 && q.r == 0 && q.names == NULL) {
		q.names = calloc(1, sizeof(char *));
		q.r = q.names ? 0 : -ENOMEM;
	}
	if (r < 0 || q.r < 0) {
		strv_free(q.names);
		return husk_error_set(err, r < 0 ? -r : -q.r, "list the ports of link %d", master);
	}
	*ret = q.names;
	return 0;
}

struct overlap_query {
	uint32_t net, mask;
	int skip_index;
	bool found;
};

static uint32_t prefix_mask(int prefix)
{
	return prefix == 0 ? 0 : ~0U << (32 - prefix);
}

static int route_cb(const struct nlmsghdr *h, void *data)
{
	struct overlap_query *q = data;
	struct rtmsg *rt = mnl_nlmsg_get_payload(h);
	struct nlattr *attr;
	uint32_t dst = 0, mask;
	int oif = 0;

	if (rt->rtm_family != AF_INET || rt->rtm_table != RT_TABLE_MAIN ||
	    rt->rtm_type != RTN_UNICAST || rt->rtm_dst_len == 0)
		return MNL_CB_OK; /* the default route overlaps everything: docker skips it too */
	mnl_attr_for_each(attr, h, sizeof(*rt))
	{
		if (mnl_attr_get_type(attr) == RTA_DST)
			dst = ntohl(mnl_attr_get_u32(attr));
		else if (mnl_attr_get_type(attr) == RTA_OIF)
			oif = (int)mnl_attr_get_u32(attr);
	}
	if (q->skip_index && oif == q->skip_index)
		return MNL_CB_OK;
	mask = prefix_mask(rt->rtm_dst_len) & q->mask; /* the shorter prefix's */
	if ((dst & mask) == (q->net & mask))
		q->found = true;
	return MNL_CB_OK;
}

int nl_routes_overlap(struct nl *n, struct in_addr net, int prefix, int skip_index, bool *ret,
		      husk_error **err)
{
	struct nlmsghdr *h = nl_msg(n, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	struct overlap_query q = {
	    .net = ntohl(net.s_addr), .mask = prefix_mask(prefix), .skip_index = skip_index};
	int r;

	rt->rtm_family = AF_INET;
	r = nl_talk_cb(n, h, route_cb, &q);
	if (r < 0)
		return husk_error_set(err, -r, "list the host's routes");
	*ret = q.found;
	return 0;
}
