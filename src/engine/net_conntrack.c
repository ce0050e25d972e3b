/* SPDX-License-Identifier: MIT */
/*
 * A published UDP port's conntrack entries, forgotten when its container
 * goes: UDP has no end of connection, so a client that keeps sending from
 * one source port keeps its entry, DNATed to the old container's address,
 * for as long as it sends (and 120 s more), and never reaches the next
 * container published on that port. The entries are dumped through
 * ctnetlink and those whose original destination port is the host port
 * and whose reply comes from the container's address are deleted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "util.h"

#define CT_MATCHES_MAX 256

struct ct_match {
	uint8_t proto;
	uint16_t dport;		/* network order */
	struct in_addr backend; /* the container's address */
	size_t n;
	void *tuples[CT_MATCHES_MAX]; /* the CTA_TUPLE_ORIG payloads */
	uint16_t lens[CT_MATCHES_MAX];
};

static void ct_match_clear(struct ct_match *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->tuples[i]);
	m->n = 0;
}

static int attr_keep(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= CTA_MAX && mnl_attr_type_valid(a, CTA_MAX) >= 0)
		tb[type] = a;
	return MNL_CB_OK;
}

/* A tuple's protocol, source address, ports (from its nests). */
static bool tuple_read(const struct nlattr *tuple, uint8_t *proto, struct in_addr *src,
		       uint16_t *dport)
{
	const struct nlattr *t[CTA_MAX + 1] = {0}, *ip[CTA_MAX + 1] = {0}, *pr[CTA_MAX + 1] = {0};

	if (mnl_attr_parse_nested(tuple, attr_keep, t) < 0 || !t[CTA_TUPLE_IP] ||
	    !t[CTA_TUPLE_PROTO] || mnl_attr_parse_nested(t[CTA_TUPLE_IP], attr_keep, ip) < 0 ||
	    mnl_attr_parse_nested(t[CTA_TUPLE_PROTO], attr_keep, pr) < 0 || !ip[CTA_IP_V4_SRC] ||
	    !pr[CTA_PROTO_NUM] || !pr[CTA_PROTO_DST_PORT])
		return false;
	*proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	src->s_addr = mnl_attr_get_u32(ip[CTA_IP_V4_SRC]);
	*dport = mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]);
	return true;
}

static int entry_cb(const struct nlmsghdr *h, void *data)
{
	struct ct_match *m = data;
	const struct nlattr *tb[CTA_MAX + 1] = {0};
	struct in_addr osrc, rsrc;
	uint16_t odport, rdport;
	uint8_t oproto, rproto;

	if (mnl_attr_parse(h, sizeof(struct nfgenmsg), attr_keep, tb) < 0 || !tb[CTA_TUPLE_ORIG] ||
	    !tb[CTA_TUPLE_REPLY] || !tb[CTA_STATUS])
		return MNL_CB_OK;
	if (!(ntohl(mnl_attr_get_u32(tb[CTA_STATUS])) & IPS_DST_NAT) ||
	    !tuple_read(tb[CTA_TUPLE_ORIG], &oproto, &osrc, &odport) ||
	    !tuple_read(tb[CTA_TUPLE_REPLY], &rproto, &rsrc, &rdport))
		return MNL_CB_OK;
	if (oproto != m->proto || odport != m->dport || rsrc.s_addr != m->backend.s_addr ||
	    m->n == CT_MATCHES_MAX)
		return MNL_CB_OK;
	m->lens[m->n] = mnl_attr_get_payload_len(tb[CTA_TUPLE_ORIG]);
	m->tuples[m->n] = malloc(m->lens[m->n]);
	if (m->tuples[m->n] == NULL)
		return MNL_CB_OK;
	memcpy(m->tuples[m->n], mnl_attr_get_payload(tb[CTA_TUPLE_ORIG]), m->lens[m->n]);
	m->n++;
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_msg(char *buf, uint16_t type, uint16_t flags, unsigned seq)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	h->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = AF_INET;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return h;
}

/* Sends h and reads the answers (cb on each) up to the ACK or DONE. */
static int ct_talk(struct mnl_socket *s, struct nlmsghdr *h, char *buf, size_t size, mnl_cb_t cb,
		   void *data)
{
	unsigned seq = h->nlmsg_seq, portid = mnl_socket_get_portid(s);
	ssize_t len;
	int r;

	if (mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(s, buf, size);
		if (len < 0)
			return -errno;
		r = mnl_cb_run(buf, (size_t)len, seq, portid, cb, data);
	} while (r > 0);
	return r < 0 ? -errno : 0;
}

static void mnl_socket_closep(struct mnl_socket **s)
{
	if (*s)
		mnl_socket_close(*s);
}

int net_conntrack_forget(const char *proto, int host_port, const char *backend, husk_error **err)
{
	__attribute__((cleanup(mnl_socket_closep))) struct mnl_socket *s = NULL;
	struct ct_match m = {.dport = htons((uint16_t)host_port)};
	cleanup_free char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	unsigned seq = (unsigned)time(NULL);
	int r = 0;

	m.proto = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	if (buf == NULL || inet_pton(AF_INET, backend, &m.backend) != 1)
		return husk_error_fail(err, HUSK_ERR_INVALID, "conntrack: bad address `%s`",
				       backend);
	s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (s == NULL || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
		return husk_error_set(err, errno, "conntrack netlink socket");
	r = ct_talk(s, ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, ++seq), buf,
		    MNL_SOCKET_BUFFER_SIZE, entry_cb, &m);
	for (size_t i = 0; r == 0 && i < m.n; i++) {
		struct nlmsghdr *h = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, ++seq);
		mnl_attr_put(h, CTA_TUPLE_ORIG | NLA_F_NESTED, m.lens[i], m.tuples[i]);
		r = ct_talk(s, h, buf, MNL_SOCKET_BUFFER_SIZE, NULL, NULL);
		if (r == -ENOENT) /* timed out meanwhile */
			r = 0;
	}
	ct_match_clear(&m);
	if (r < 0)
		return husk_error_set(err, -r, "conntrack: forget port %d/%s", host_port, proto);
	return 0;
}
