/* SPDX-License-Identifier: MIT */
/* Which of husk's chains the kernel has, asked over nfnetlink in one
 * dump: libnftables would fetch and parse the whole ruleset for each
 * `list chain` (a few ms at every container start). */
#define _GNU_SOURCE
#include <errno.h>
#include <libmnl/libmnl.h>
#include <netinet/in.h> /* before the linux headers: their in.h defers to it */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net.h"
#include "util.h"

struct chain_query {
	const char *table;
	const char *const *names;
	size_t n;
	bool *seen;
};

static void chain_seen(struct chain_query *q, const char *table, const char *name)
{
	if (table == NULL || name == NULL || strcmp(table, q->table) != 0)
		return;
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->names[i], name) == 0)
			q->seen[i] = true;
}

static int chain_cb(const struct nlmsghdr *h, void *data)
{
	const char *table = NULL, *name = NULL;
	struct nlattr *attr;

	mnl_attr_for_each(attr, h, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) == NFTA_CHAIN_TABLE &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			table = mnl_attr_get_str(attr);
		else if (mnl_attr_get_type(attr) == NFTA_CHAIN_NAME &&
			 mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(attr);
	}
	chain_seen(data, table, name);
	return MNL_CB_OK;
}

static int chains_dump(struct mnl_socket *s, struct chain_query *q)
{
	char buf[16384];
	struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;
	unsigned seq = (unsigned)time(NULL), portid = mnl_socket_get_portid(s);
	ssize_t len;
	int r;

	h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	h->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = NFPROTO_IPV4;
	g->version = NFNETLINK_V0;
	/* the kernel dumps that table's chains only */
	mnl_attr_put_strz(h, NFTA_CHAIN_TABLE, q->table);
	if (mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(s, buf, sizeof(buf));
		if (len < 0)
			return -errno;
		r = mnl_cb_run(buf, (size_t)len, seq, portid, chain_cb, q);
	} while (r > 0);
	return r < 0 ? -errno : 0;
}

int net_nft_chains_present(const char *table, const char *const *names, size_t n, bool *ret,
			   husk_error **err)
{
	cleanup_free bool *seen = calloc(n ? n : 1, sizeof(*seen));
	struct chain_query q = {.table = table, .names = names, .n = n, .seen = seen};
	struct mnl_socket *s;
	int r;

	if (seen == NULL)
		return husk_error_set(err, ENOMEM, "nftables");
	s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (s == NULL || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = errno;
		if (s)
			mnl_socket_close(s);
		return husk_error_set(err, r, "nfnetlink socket");
	}
	r = chains_dump(s, &q);
	mnl_socket_close(s);
	/* no table: no chain */
	if (r < 0 && r != -ENOENT)
		return husk_error_set(err, -r, "list the chains of table ip %s", table);
	*ret = true;
	for (size_t i = 0; i < n; i++)
		*ret = *ret && seen[i];
	return 0;
}
