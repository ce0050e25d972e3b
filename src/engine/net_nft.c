/* SPDX-License-Identifier: MIT */
/*
 * husk's nftables rules, in table `ip husk` alone, four chains per network
 * named after its bridge (so that engines with other roots never touch
 * each other's), each made again whole in one transaction:
 *   B-pre   nat prerouting: published ports DNATed to the container;
 *   B-out   nat output: the same for the host's own connections (127.0.0.1);
 *   B-post  nat postrouting: masquerade of what leaves the subnet, of
 *           127.0.0.0/8 sources sent to the bridge (route_localnet), and
 *           of the hairpin (a container reaching a published port);
 *   B-fwd   filter forward: no traffic between husk bridges; an internal
 *           network's traffic stays on its bridge;
 *   B-in    filter input: nothing new from the bridge to 127.0.0.0/8, which
 *           route_localnet would let in (CVE-2020-8558): only the replies
 *           of the host's own connections to a port published on 127.0.0.1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

struct buf {
	char *s;
	size_t len;
	FILE *f;
};
/* Numeric priorities: nft 1.0's names (dstnat, srcnat) are not valid on
 * every hook. */
static const char *const hooks[][2] = {
    {"pre", "nat hook prerouting priority -100"},  {"out", "nat hook output priority -100"},
    {"post", "nat hook postrouting priority 100"}, {"fwd", "filter hook forward priority 0"},
    {"in", "filter hook input priority 0"},
};

static void chains_declare(FILE *f, const char *bridge)
{
	fprintf(f, "add table ip husk\n");
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++)
		fprintf(f, "add chain ip husk %s-%s { type %s; policy accept; }\n", bridge,
			hooks[i][0], hooks[i][1]);
}

static void port_rules(FILE *f, const char *bridge, json_t *p, bool rootless)
{
	/* rootless, pasta binds the host address and brings every connection
	 * to the rootless netns's loopback */
	const char *ip = rootless ? "" : json_string_value(json_object_get(p, "HostIp")) ?: "";
	const char *to = json_string_value(json_object_get(p, "IPAddress"));
	const char *proto = json_string_value(json_object_get(p, "Proto"));
	json_int_t hp = json_integer_value(json_object_get(p, "HostPort"));
	json_int_t port = json_integer_value(json_object_get(p, "Port"));
	static const char *const chains[] = {"pre", "out"};

	struct in_addr a;

	/* an endpoint file's text goes into the rules: only what parses as
	 * an address, a protocol, a port (a tampered file adds nothing) */
	if (!to || !proto || hp <= 0 || hp > 65535 || port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, to, &a) != 1 || (ip[0] && inet_pton(AF_INET, ip, &a) != 1) ||
	    (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(chains); i++) {
		fprintf(f, "add rule ip husk %s-%s ", bridge, chains[i]);
		if (ip[0])
			fprintf(f, "ip daddr %s ", ip);
		else
			fprintf(f, "fib daddr type local ");
		fprintf(f, "%s dport %lld dnat to %s:%lld\n", proto, (long long)hp, to,
			(long long)port);
	}
}

/* The published ports of every container on network d. */
static int ports_rules(const struct engine *e, FILE *f, const struct net_def *d, husk_error **err)
{
	cleanup_strv char **ids = NULL;

	if (net_endpoint_ids(e, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ids[i]; i++) {
		cleanup_json json_t *ep = net_endpoint_load(e, ids[i]);
		json_t *p;
		size_t j;
		json_array_foreach (json_object_get(ep, "Ports"), j, p)
			if (strcmp(json_string_value(json_object_get(p, "Network")) ?: "",
				   d->name) == 0)
				port_rules(f, d->bridge, p, e->rt.rootless);
	}
	return 0;
}

static void network_rules(FILE *f, const struct net_def *d)
{
	char net[INET_ADDRSTRLEN];
	const char *b = d->bridge;

	inet_ntop(AF_INET, &d->subnet, net, sizeof(net));
	if (!d->internal)
		fprintf(f, "add rule ip husk %s-post ip saddr %s/%d oifname != \"%s\" masquerade\n",
			b, net, d->prefix, b);
	fprintf(f, "add rule ip husk %s-post oifname \"%s\" ip saddr 127.0.0.0/8 masquerade\n", b,
		b);
	fprintf(f,
		"add rule ip husk %s-post oifname \"%s\" ip saddr %s/%d ct status dnat "
		"masquerade\n",
		b, b, net, d->prefix);
	if (d->internal) {
		fprintf(f, "add rule ip husk %s-fwd iifname \"%s\" oifname != \"%s\" drop\n", b, b,
			b);
		fprintf(f, "add rule ip husk %s-fwd oifname \"%s\" iifname != \"%s\" drop\n", b, b,
			b);
	}
	fprintf(f,
		"add rule ip husk %s-in iifname \"%s\" ip daddr 127.0.0.0/8 "
		"ct state != { established, related } drop\n",
		b, b);
	/* a published port is reached from other networks too (and answers) */
	fprintf(f, "add rule ip husk %s-fwd ct status dnat accept\n", b);
	fprintf(f,
		"add rule ip husk %s-fwd iifname \"%s\" oifname \"husk*\" oifname != \"%s\" drop\n",
		b, b, b);
}

/* A libnftables context. The library ends the whole process (exit 3)
 * when it cannot open its netlink socket, so the kernel's netfilter
 * netlink is tried first; a library that cannot be loaded (nft_dl.c) is
 * said as such. */
static struct nft_ctx *nft_open(husk_error **err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	struct nft_ctx *nft;

	if (fd < 0) {
		husk_error_set(
		    err, errno,
		    "nftables: no netfilter netlink in this kernel (nfnetlink, nf_tables)");
		return NULL;
	}
	close(fd);
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (nft == NULL)
		husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				"nftables: cannot load libnftables.so.1 (Debian: libnftables1)");
	return nft;
}

static int nft_run(const char *text, husk_error **err)
{
	struct nft_ctx *nft = nft_open(err);
	const char *msg;
	int r;

	if (nft == NULL)
		return -1;
	nft_ctx_buffer_error(nft);
	nft_ctx_buffer_output(nft);
	r = nft_run_cmd_from_buffer(nft, text);
	msg = nft_ctx_get_error_buffer(nft);
	if (r != 0)
		r = husk_error_fail(err, HUSK_ERR_SYSTEM, "nftables: %.*s",
				    (int)strcspn(msg ? msg : "failed", "\n"), msg ? msg : "failed");
	nft_ctx_free(nft);
	return r;
}

/* The table, once it has no chain (only husk's chains are ever in it). */
static void table_drop_if_empty(void)
{
	struct nft_ctx *nft = nft_open(NULL);
	const char *out;

	if (nft == NULL)
		return;
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (nft_run_cmd_from_buffer(nft, "list table ip husk") == 0) {
		out = nft_ctx_get_output_buffer(nft);
		if (out && strstr(out, "chain ") == NULL)
			nft_run_cmd_from_buffer(nft, "delete table ip husk");
	}
	nft_ctx_free(nft);
}

bool net_nft_present(const struct net_def *d)
{
	char names[ARRAY_SIZE(hooks)][64];
	const char *list[ARRAY_SIZE(hooks)];
	bool all = false;

	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++) {
		snprintf(names[i], sizeof(names[i]), "%s-%s", d->bridge, hooks[i][0]);
		list[i] = names[i];
	}
	return net_nft_chains_present("husk", list, ARRAY_SIZE(hooks), &all, NULL) == 0 && all;
}

int net_nft_apply(const struct engine *e, const struct net_def *d, bool remove, husk_error **err)
{
	struct buf b = {0};
	int r = 0;

	if (!net_ifname_valid(d->bridge))
		return husk_error_fail(err, HUSK_ERR_INVALID, "network `%s`: bad bridge name",
				       d->name);
	b.f = open_memstream(&b.s, &b.len);
	if (b.f == NULL)
		return husk_error_set(err, ENOMEM, "nftables");
	chains_declare(b.f, d->bridge);
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++)
		fprintf(b.f, "%s chain ip husk %s-%s\n", remove ? "delete" : "flush", d->bridge,
			hooks[i][0]);
	if (!remove) {
		network_rules(b.f, d);
		r = ports_rules(e, b.f, d, err);
	}
	if (fclose(b.f) != 0 && r == 0)
		r = husk_error_set(err, ENOMEM, "nftables");
	if (r == 0)
		r = nft_run(b.s, err);
	free(b.s);
	if (r == 0 && remove)
		table_drop_if_empty();
	return r;
}
