/* SPDX-License-Identifier: MIT */
/* A container's attachments: made at its start (its init waiting in its
 * own netns), removed at its exit, rm, or when found stale. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "net_netlink.h"
#include "util.h"

#define HOSTS_MARK  "# husk networks\n"
#define VETH_PREFIX "hkv"

json_t *net_ctr_networks(const struct ctr *c)
{
	return json_object_get(json_object_get(c->doc, "NetworkSettings"), "Networks");
}

const char *net_ctr_mode(const struct ctr *c)
{
	return json_string_value(
		   json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"))
		   ?: "none";
}

bool net_ctr_unshares_netns(const struct ctr *c)
{
	const char *mode = net_ctr_mode(c);

	return strcmp(mode, "host") != 0 && strncmp(mode, "container:", 10) != 0;
}

bool net_ctr_has_own_netns(const struct ctr *c)
{
	return net_ctr_unshares_netns(c) && strcmp(net_ctr_mode(c), "none") != 0;
}

/* Every endpoint file, loaded: {id: endpoint}. */
static json_t *endpoints_all(const struct engine *e)
{
	cleanup_strv char **ids = NULL;
	json_t *all = json_object();

	if (all == NULL || net_endpoint_ids(e, &ids, NULL) < 0)
		return all;
	for (size_t i = 0; ids[i]; i++) {
		json_t *ep = net_endpoint_load(e, ids[i]);
		if (ep)
			json_object_set_new(all, ids[i], ep);
	}
	return all;
}

/* ---- /etc/hosts ---- */

static bool share_network(json_t *a, json_t *b)
{
	const char *name;
	json_t *v;

	json_object_foreach (json_object_get(a, "Networks"), name, v)
		if (json_object_get(json_object_get(b, "Networks"), name))
			return true;
	return false;
}

static void hosts_lines(FILE *f, const char *self, json_t *ep, json_t *all)
{
	const char *id, *net;
	json_t *other, *att;

	json_object_foreach (all, id, other) {
		bool me = strcmp(id, self) == 0;
		if (!me && !share_network(ep, other))
			continue;
		json_object_foreach (json_object_get(other, "Networks"), net, att) {
			if (!me && !json_object_get(json_object_get(ep, "Networks"), net))
				continue;
			fprintf(f, "%s\t%s", json_string_value(json_object_get(att, "IPAddress")),
				json_string_value(json_object_get(other, "Name")) ?: id);
			if (me && json_string_value(json_object_get(other, "Hostname")))
				fprintf(f, " %s",
					json_string_value(json_object_get(other, "Hostname")));
			fprintf(f, "\n");
		}
	}
}

/* The container's hosts file (bound on its /etc/hosts) rewritten in place:
 * a bind mount of a file holds its inode, a rename would not be seen. */
static void hosts_refresh(const struct engine *e, const char *id, json_t *all)
{
	cleanup_free char *path = engine_container_path(&e->paths, id, "hosts");
	cleanup_free char *old = NULL, *text = NULL;
	cleanup_close int fd = -1;
	json_t *ep = json_object_get(all, id);
	size_t len = 0;
	char *mark;
	FILE *f;

	if (path == NULL || (fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	{
		char p[64];
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if (read_file_at(AT_FDCWD, p, &old, NULL, NULL) < 0)
			return;
	}
	mark = strstr(old, HOSTS_MARK);
	if (mark)
		*mark = '\0';
	f = open_memstream(&text, &len);
	if (f == NULL)
		return;
	fputs(old, f);
	if (ep && json_object_size(json_object_get(ep, "Networks")) > 0) {
		fputs(HOSTS_MARK, f);
		hosts_lines(f, id, ep, all);
	}
	if (fclose(f) != 0)
		return;
	if (pwrite(fd, text, len, 0) == (ssize_t)len)
		(void)!ftruncate(fd, (off_t)len);
}

/* The hosts of every container sharing a network with ep (and ep's own). */
static void hosts_refresh_around(const struct engine *e, const char *id, json_t *ep)
{
	cleanup_json json_t *all = endpoints_all(e);
	const char *other;
	json_t *v;

	if (all == NULL)
		return;
	json_object_foreach (all, other, v)
		if (strcmp(other, id) == 0 || share_network(ep, v))
			hosts_refresh(e, other, all);
	if (!json_object_get(all, id))
		hosts_refresh(e, id, all);
}

/* ---- teardown ---- */

static int ports_sweep(struct nl *n, int bridge, json_t *all, husk_error **err);

/* Whether name is a host end slot_pick gives container id: the only links
 * a teardown deletes, whatever an endpoint file (a tampered one) names. */
static bool veth_of(const char *id, const char *name)
{
	char prefix[16];

	snprintf(prefix, sizeof(prefix), VETH_PREFIX "%.11s", id);
	return name && strlen(id) >= 11 && strncmp(name, prefix, strlen(prefix)) == 0 &&
	       strlen(name) == strlen(prefix) + 1 && name[strlen(prefix)] >= '0' &&
	       name[strlen(prefix)] <= '9';
}

static void veth_delete(struct nl *n, const char *id, json_t *att)
{
	const char *veth = json_string_value(json_object_get(att, "Veth"));

	if (veth_of(id, veth))
		nl_link_del(n, veth, NULL);
}

static void networks_nft_refresh(const struct engine *e, json_t *nets)
{
	const char *name;
	json_t *v;

	json_object_foreach (nets, name, v) {
		struct net_def d = {0};
		if (net_def_load(e, name, &d, NULL) == 0) {
			if (net_bridge_mine(&d))
				net_nft_apply(e, &d, false, NULL);
			net_def_clear(&d);
		}
	}
}

static bool endpoint_stale(json_t *ep)
{
	json_int_t pid = json_integer_value(json_object_get(ep, "Pid"));
	json_int_t start = json_integer_value(json_object_get(ep, "PidStart"));

	return pid <= 0 || !process_alive((pid_t)pid, (unsigned long long)start);
}

/* Whether a container that joined its netns (--network container:) runs:
 * the netns then lives on. */
static bool sharers_alive(json_t *ep)
{
	json_t *sharer;
	size_t i;

	json_array_foreach (json_object_get(ep, "Sharers"), i, sharer)
		if (!endpoint_stale(sharer))
			return true;
	return false;
}

/* Its veths deleted, one by one. Each delete waits for the kernel's
 * unregistration (RCU grace periods: ms), which the end of the netns does
 * as well, off the caller's path: only a netns that lives on needs it. */
static void veths_delete(const char *id, json_t *ep)
{
	cleanup_nl struct nl *n = NULL;
	const char *name;
	json_t *att;

	if (nl_open(&n, NULL) == 0)
		json_object_foreach (json_object_get(ep, "Networks"), name, att)
			veth_delete(n, id, att);
}

/* After their rules are gone: the UDP flows to ports (of net, NULL: any)
 * forgotten, so that a client that keeps sending reaches the next
 * container published there (net_conntrack.c). */
static void conntrack_forget_ports(json_t *ports, const char *net)
{
	json_t *p;
	size_t i;

	json_array_foreach (ports, i, p) {
		const char *to = json_string_value(json_object_get(p, "IPAddress"));
		if (to &&
		    strcmp(json_string_value(json_object_get(p, "Proto")) ?: "", "udp") == 0 &&
		    (net == NULL ||
		     strcmp(json_string_value(json_object_get(p, "Network")) ?: "", net) == 0))
			net_conntrack_forget(
			    "udp", (int)json_integer_value(json_object_get(p, "HostPort")), to,
			    NULL);
	}
}

/* Under the lock: its endpoint file, port rules, hosts lines, its netns
 * name, its rootless helper, and its veths unless its netns is going away
 * (its init dead, no container that joined it running: the kernel removes
 * both ends with the netns). A host end that outlives its endpoint (the
 * netns held by something else) is removed by ports_sweep before its
 * address is handed out again. */
static void teardown(const struct engine *e, const char *id, json_t *ep, bool netns_gone)
{
	cleanup_json json_t *ported = json_object(), *ports = NULL;
	json_t *p;
	size_t i;

	net_name_remove(ep);
	net_pasta_down(e, id, ep);
	if (!netns_gone || sharers_alive(ep))
		veths_delete(id, ep);
	json_array_foreach (json_object_get(ep, "Ports"), i, p)
		json_object_set_new(ported, json_string_value(json_object_get(p, "Network")) ?: "",
				    json_true());
	/* the DNAT rules go before the endpoint: a kill in between leaves
	 * no rule to an address that is free again */
	ports = json_incref(json_object_get(ep, "Ports"));
	json_object_set_new(ep, "Ports", json_array());
	if (json_object_size(ported) == 0 || net_endpoint_save(e, id, ep, NULL) == 0) {
		networks_nft_refresh(e, ported);
		net_endpoint_remove(e, id);
	} else {
		net_endpoint_remove(e, id);
		networks_nft_refresh(e, ported);
	}
	conntrack_forget_ports(ports, NULL);
	hosts_refresh_around(e, id, ep);
}

struct teardown_job {
	const struct engine *e;
	const char *id;
	json_t *ep;
	bool netns_gone;
};

static int teardown_in_netns(void *arg, husk_error **err)
{
	struct teardown_job *j = arg;

	(void)err;
	teardown(j->e, j->id, j->ep, j->netns_gone);
	return 0;
}

void net_teardown_locked(const struct engine *e, const char *id, bool netns_gone)
{
	cleanup_json json_t *ep = net_endpoint_load(e, id);
	struct teardown_job j = {.e = e, .id = id, .ep = ep, .netns_gone = netns_gone};

	if (ep == NULL)
		return;
	/* rootless, a user network's links and rules are in the rootless
	 * netns; with none, they went with it (what is left is files) */
	if (!e->rt.rootless || json_object_size(json_object_get(ep, "Networks")) == 0 ||
	    net_rootless_run(e, false, teardown_in_netns, &j, NULL) != 0)
		teardown(e, id, ep, netns_gone);
}

static void reclaim_locked(const struct engine *e)
{
	cleanup_strv char **ids = NULL;

	if (net_endpoint_ids(e, &ids, NULL) < 0)
		return;
	for (size_t i = 0; ids[i]; i++) {
		cleanup_json json_t *ep = net_endpoint_load(e, ids[i]);
		if (ep == NULL)
			net_endpoint_remove(e, ids[i]); /* unreadable: nothing to go by */
		else if (endpoint_stale(ep)) {
			net_teardown_locked(e, ids[i], true);
			net_netns_remove(e, ids[i]); /* rootless: its netns file */
		}
	}
	net_netns_orphans_remove(e);
}

/* Under the lock: every network's bridge swept (ports_sweep). */
static void bridges_sweep(const struct engine *e)
{
	cleanup_json json_t *all = endpoints_all(e);
	cleanup_strv char **names = NULL;
	cleanup_nl struct nl *n = NULL;

	if (e->rt.rootless || all == NULL || net_def_names(e, &names, NULL) < 0 ||
	    nl_open(&n, NULL) < 0)
		return;
	for (size_t i = 0; names[i]; i++) {
		struct net_def d = {0};
		int bridge;
		if (net_def_load(e, names[i], &d, NULL) < 0)
			continue;
		bridge = net_bridge_owned(n, &d, NULL);
		if (bridge > 0)
			ports_sweep(n, bridge, all, NULL);
		net_def_clear(&d);
	}
}

int net_reclaim(const struct engine *e, husk_error **err)
{
	cleanup_close int lock = net_lock(e, err);

	if (lock < 0)
		return -1;
	reclaim_locked(e);
	bridges_sweep(e);
	return 0;
}

void net_container_down(const struct engine *e, const char *id)
{
	cleanup_free char *path = NULL;
	cleanup_close int lock = -1;

	if (e->rt.rootless)
		net_netns_remove(e, id);
	/* no endpoint file: nothing to take the lock for */
	if (asprintf(&path, "%s/net/endpoints/%s.json", e->paths.run_root, id) < 0 ||
	    access(path, F_OK) < 0)
		return;
	lock = net_lock(e, NULL);
	/* every caller's init is dead, or killed */
	if (lock >= 0)
		net_teardown_locked(e, id, true);
}

/* ---- setup ---- */

/* The lowest free host address of d. */
static int ip_allocate(json_t *all, const struct net_def *d, struct in_addr *ret, husk_error **err)
{
	uint32_t net = ntohl(d->subnet.s_addr), size = 1U << (32 - d->prefix);
	const char *id;
	json_t *ep;

	for (uint32_t h = 1; h < size - 1; h++) {
		struct in_addr a = {.s_addr = htonl(net + h)};
		char s[INET_ADDRSTRLEN];
		bool used = a.s_addr == d->gateway.s_addr;
		inet_ntop(AF_INET, &a, s, sizeof(s));
		json_object_foreach (all, id, ep) {
			json_t *att = json_object_get(json_object_get(ep, "Networks"), d->name);
			if (att &&
			    strcmp(json_string_value(json_object_get(att, "IPAddress")) ?: "", s) ==
				0)
				used = true;
		}
		if (!used) {
			*ret = a;
			return 0;
		}
	}
	return husk_error_fail(err, HUSK_ERR_BUSY, "network `%s`: no free address left", d->name);
}

/* The container's end, in its netns: address, up, default route (its
 * first network's), lo up. */
/* The default route's MTU on a veth of link_mtu: Docker's 1500 on a network
 * given none, whatever its link's (NET_LINK_MTU_AUTO); 0, the link's, else. */
static unsigned egress_mtu(const struct net_def *d, unsigned link_mtu)
{
	return d->mtu == 0 && link_mtu > NET_EGRESS_MTU ? NET_EGRESS_MTU : 0;
}

static int configure_inside(int nsfd, const char *ifname, struct in_addr ip, int prefix,
			    const struct in_addr *gw, unsigned gw_mtu, husk_error **err)
{
	static const int devconf[] = {IPV4_DEVCONF_ARP_NOTIFY, 0};
	cleanup_nl struct nl *n = NULL;
	int index;

	if (nl_open_in(nsfd, &n, err) < 0)
		return -1;
	index = nl_link_index(n, ifname, err);
	if (index <= 0)
		return index < 0 ? -1 : husk_error_fail(err, HUSK_ERR_SYSTEM, "no %s", ifname);
	if (nl_addr_add(n, index, ip, prefix, err) < 0 ||
	    nl_link_up(n, index, 0, devconf, err) < 0 || nl_link_up(n, 1, 0, NULL, err) < 0)
		return -1;
	return gw ? nl_route_default(n, *gw, gw_mtu, err) : 0;
}

static bool veth_recorded(json_t *all, const char *veth)
{
	const char *id, *net;
	json_t *ep, *att;

	json_object_foreach (all, id, ep)
		json_object_foreach (json_object_get(ep, "Networks"), net, att)
			if (strcmp(json_string_value(json_object_get(att, "Veth")) ?: "", veth) ==
			    0)
				return true;
	return false;
}

/* The bridge's ports named as husk's veths that no endpoint records:
 * host ends whose netns outlived their container (held by something
 * else, or not yet gone) still carry its address on the bridge. */
static int ports_sweep(struct nl *n, int bridge, json_t *all, husk_error **err)
{
	cleanup_strv char **ports = NULL;

	if (nl_bridge_ports(n, bridge, &ports, err) < 0)
		return -1;
	for (size_t i = 0; ports[i]; i++)
		if (strncmp(ports[i], VETH_PREFIX, strlen(VETH_PREFIX)) == 0 &&
		    !veth_recorded(all, ports[i]) && nl_link_del(n, ports[i], err) < 0)
			return -1;
	return 0;
}

/* Hairpin mode only where br_netfilter passes the bridged frames through
 * the ip hooks (bridge-nf-call-iptables 1): there a container's packet to a
 * published port of its own bridge is DNATed back out of the port it came
 * in on. Without it the packet is routed by the host (no hairpin needed)
 * and hairpin mode would only reflect the port's own broadcasts and
 * multicasts back to it, which makes IPv6 duplicate address detection
 * fail. Docker's userland-proxy-less hairpin needs br_netfilter as well. */
static bool bridge_nf_on(void)
{
	cleanup_close int fd =
	    open("/proc/sys/net/bridge/bridge-nf-call-iptables", O_RDONLY | O_CLOEXEC);
	char c = 0;

	return fd >= 0 && read(fd, &c, 1) == 1 && c == '1';
}

/* The pair made, its host end on d's bridge; both of the bridge's MTU
 * (in *ret_mtu). */
static int veth_plug(const char *veth, const char *ifname, int nsfd, const struct net_def *d,
		     json_t *all, unsigned *ret_mtu, husk_error **err)
{
	cleanup_nl struct nl *n = NULL;
	int bridge, index;
	unsigned mtu = NET_EGRESS_MTU;

	if (nl_open(&n, err) < 0)
		return -1;
	bridge = nl_link_index(n, d->bridge, err);
	if (bridge <= 0)
		return bridge < 0
			   ? -1
			   : husk_error_fail(err, HUSK_ERR_SYSTEM, "no bridge `%s`", d->bridge);
	/* a leftover of a crash, or of a netns kept */
	if (ports_sweep(n, bridge, all, err) < 0 || nl_link_del(n, veth, err) < 0 ||
	    nl_link_mtu(n, bridge, &mtu, err) < 0 ||
	    nl_veth_add(n, veth, ifname, nsfd, mtu, err) < 0)
		return -1;
	index = nl_link_index(n, veth, err);
	if (index <= 0)
		return index < 0 ? -1 : husk_error_fail(err, HUSK_ERR_SYSTEM, "no `%s`", veth);
	if (nl_link_up(n, index, bridge, NULL, err) < 0)
		return -1;
	*ret_mtu = mtu;
	return bridge_nf_on() ? nl_port_hairpin(n, index, err) : 0;
}

/* eth<N> and its host end hkv<id:11><N> (15 characters, IFNAMSIZ - 1), N
 * the first free slot. */
static int slot_pick(json_t *ep, const char *id, char ifname[16], char veth[16], husk_error **err)
{
	for (int s = 0; s < 10; s++) {
		const char *k;
		json_t *att;
		bool used = false;
		snprintf(ifname, 16, "eth%d", s);
		json_object_foreach (json_object_get(ep, "Networks"), k, att)
			if (strcmp(json_string_value(json_object_get(att, "Interface")) ?: "",
				   ifname) == 0)
				used = true;
		if (!used) {
			snprintf(veth, 16, VETH_PREFIX "%.11s%d", id, s);
			return 0;
		}
	}
	return husk_error_fail(err, HUSK_ERR_BUSY, "at most 10 networks per container");
}

/* Under the lock: one more network in ep (saved before anything is made). */
static int attach_locked(const struct engine *e, const char *id, json_t *ep, const char *name,
			 int nsfd, husk_error **err)
{
	cleanup_json json_t *all = endpoints_all(e);
	struct net_def d = {0};
	char ifname[16], veth[16], ip[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	bool first = json_object_size(json_object_get(ep, "Networks")) == 0;
	struct in_addr addr;
	unsigned mtu = 0;
	int r = -1;

	if (all == NULL)
		return husk_error_set(err, ENOMEM, "endpoints");
	if (net_def_load(e, name, &d, err) < 0)
		return -1;
	if (net_bridge_ensure(e, &d, err) < 0 || ip_allocate(all, &d, &addr, err) < 0 ||
	    slot_pick(ep, id, ifname, veth, err) < 0)
		goto out;
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	inet_ntop(AF_INET, &d.gateway, gw, sizeof(gw));
	json_object_set_new(json_object_get(ep, "Networks"), name,
			    json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "NetworkID", d.id,
				      "IPAddress", ip, "Gateway", gw, "IPPrefixLen", d.prefix,
				      "Interface", ifname, "Veth", veth, "Bridge", d.bridge));
	/* ep as saved counts for the sweep: its other networks' veths */
	json_object_set(all, id, ep);
	if (net_endpoint_save(e, id, ep, err) < 0 ||
	    veth_plug(veth, ifname, nsfd, &d, all, &mtu, err) < 0 ||
	    configure_inside(nsfd, ifname, addr, d.prefix, first ? &d.gateway : NULL,
			     egress_mtu(&d, mtu), err) < 0)
		goto out;
	r = 0;
out:
	net_def_clear(&d);
	return r;
}

/* The set-up of the container's networks, run where its bridges are (the
 * rootless netns, rootless). */
struct attach_job {
	const struct engine *e;
	const struct ctr *c;
	json_t *ep, *nets;
	int nsfd;
	const char *first;
};

static int attach_all(void *arg, husk_error **err)
{
	struct attach_job *j = arg;
	const char *name;
	json_t *v;

	json_object_foreach (j->nets, name, v) {
		if (attach_locked(j->e, j->c->id, j->ep, name, j->nsfd, err) < 0)
			return -1;
		j->first = j->first ? j->first : name;
	}
	return 0;
}

static int rules_of_first(void *arg, husk_error **err)
{
	struct attach_job *j = arg;
	struct net_def d = {0};
	int r = net_def_load(j->e, j->first, &d, err);

	if (r == 0)
		r = net_nft_apply(j->e, &d, false, err);
	net_def_clear(&d);
	return r;
}

static int publish_locked(struct attach_job *j, husk_error **err)
{
	struct net_port *ports = NULL;
	size_t n = 0;

	if (net_ports_claim(j->e, j->c, j->ep, j->first, &ports, &n, err) < 0)
		return -1;
	free(ports);
	return n == 0 ? 0 : rules_of_first(j, err);
}

/* Rootless, on user networks: the rootless netns made when it is not
 * there, the veths and addresses made in it; the ports claimed on the
 * host (their checks bind the host's ports), DNATed in the rootless netns
 * and forwarded there by a pasta of the container's. */
static int up_rootless_locked(struct attach_job *j, husk_error **err)
{
	struct net_port *ports = NULL;
	size_t n = 0;
	int r;

	if (json_object_get(j->nets, NET_DEFAULT))
		return json_object_size(j->nets) == 1
			   ? net_pasta_up(j->e, j->c, j->nsfd, j->ep, err)
			   : husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
					     "rootless: the default network (pasta) and user "
					     "networks cannot be combined");
	if (net_rootless_ensure(j->e, err) < 0 ||
	    net_rootless_run(j->e, true, attach_all, j, err) < 0)
		return -1;
	if (net_ports_claim(j->e, j->c, j->ep, j->first, &ports, &n, err) < 0)
		return -1;
	r = n == 0 ? 0 : net_rootless_run(j->e, true, rules_of_first, j, err);
	if (r == 0)
		hosts_refresh_around(j->e, j->c->id, j->ep);
	if (r == 0)
		r = net_pasta_forward(j->e, j->c->id, j->ep, ports, n, err);
	free(ports);
	return r;
}

json_t *net_endpoint_new(const struct ctr *c, pid_t pid)
{
	unsigned long long start = 0;
	json_t *cfg = json_object_get(c->doc, "Config");

	proc_start_time(pid, &start);
	return json_pack("{s:s, s:s?, s:s?, s:I, s:I, s:{}, s:[]}", "Id", c->id, "Name", c->name,
			 "Hostname", json_string_value(json_object_get(cfg, "Hostname")), "Pid",
			 (json_int_t)pid, "PidStart", (json_int_t)start, "Networks", "Ports");
}

static int open_netns(pid_t pid, husk_error **err)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	return fd;
}

static int up_locked(const struct engine *e, const struct ctr *c, pid_t pid, json_t *nets,
		     husk_error **err)
{
	cleanup_json json_t *ep = net_endpoint_new(c, pid);
	cleanup_close int nsfd = e->rt.rootless ? net_netns_open(e, c->id) : open_netns(pid, err);
	struct attach_job j = {.e = e, .c = c, .ep = ep, .nets = nets, .nsfd = nsfd};

	if (nsfd < 0)
		return e->rt.rootless ? husk_error_set(err, errno, "open the container's netns")
				      : -1;
	if (ep == NULL)
		return husk_error_set(err, ENOMEM, "endpoint");
	if (e->rt.rootless)
		return up_rootless_locked(&j, err);
	if (attach_all(&j, err) < 0 || (j.first && publish_locked(&j, err) < 0))
		return -1;
	hosts_refresh_around(e, c->id, ep);
	return 0;
}

/* --network container:X: c's init (pid) noted in X's endpoint, if X has
 * one, as keeping X's netns. Best effort: unnoted, X's veth waits for the
 * sweep (ports_sweep) rather than going with X. */
static void sharer_note(const struct engine *e, const struct ctr *c, pid_t pid)
{
	cleanup_ctr struct ctr *other = NULL;
	cleanup_json json_t *ep = NULL;
	cleanup_close int lock = -1;
	unsigned long long start = 0;
	json_t *sharers;

	if (e->rt.rootless || ctr_lookup(e, net_ctr_mode(c) + 10, &other, NULL) < 0 ||
	    (lock = net_lock(e, NULL)) < 0 || (ep = net_endpoint_load(e, other->id)) == NULL)
		return;
	proc_start_time(pid, &start);
	sharers = json_object_get(ep, "Sharers");
	if (sharers == NULL) {
		sharers = json_array();
		json_object_set_new(ep, "Sharers", sharers);
	}
	json_array_append_new(sharers, json_pack("{s:I, s:I}", "Pid", (json_int_t)pid, "PidStart",
						 (json_int_t)start));
	net_endpoint_save(e, other->id, ep, NULL);
}

int net_container_up(const struct engine *e, const struct ctr *c, pid_t pid, husk_error **err)
{
	json_t *nets = net_ctr_networks(c);
	cleanup_close int lock = -1;

	if (strncmp(net_ctr_mode(c), "container:", 10) == 0) {
		sharer_note(e, c, pid);
		return 0;
	}

	if (json_object_size(nets) == 0 || !net_ctr_has_own_netns(c))
		return 0;
	lock = net_lock(e, err);
	if (lock < 0)
		return -1;
	reclaim_locked(e);
	net_teardown_locked(e, c->id, true); /* a run of it before that left its own */
	if (up_locked(e, c, pid, nets, err) < 0) {
		net_teardown_locked(e, c->id, false); /* its init lives on, waiting */
		return husk_error_wrap(err, "network");
	}
	return 0;
}

/* Under the lock: net's attachment of ep undone (its veth, its ports). */
static void detach_locked(const struct engine *e, const char *id, json_t *ep, const char *net)
{
	json_t *att = json_object_get(json_object_get(ep, "Networks"), net);
	json_t *ports = json_object_get(ep, "Ports");
	cleanup_json json_t *before = json_deep_copy(ports);
	cleanup_nl struct nl *n = NULL;
	bool ported = false;

	if (att && nl_open(&n, NULL) == 0)
		veth_delete(n, id, att);
	for (size_t i = json_array_size(ports); i-- > 0;)
		if (strcmp(json_string_value(json_object_get(json_array_get(ports, i), "Network"))
			       ?: "",
			   net) == 0) {
			json_array_remove(ports, i);
			ported = true;
		}
	json_object_del(json_object_get(ep, "Networks"), net);
	if (json_object_size(json_object_get(ep, "Networks")) == 0) {
		net_name_remove(ep); /* its record goes */
		net_endpoint_remove(e, id);
	} else {
		net_endpoint_save(e, id, ep, NULL);
	}
	if (ported) {
		cleanup_json json_t *one = json_pack("{s:b}", net, true);
		networks_nft_refresh(e, one);
		conntrack_forget_ports(before, net);
	}
}

int net_attach_live(const struct engine *e, const struct ctr *c, const char *net, pid_t pid,
		    husk_error **err)
{
	cleanup_close int lock = net_lock(e, err), nsfd = -1;
	cleanup_json json_t *ep = NULL;

	if (lock < 0)
		return -1;
	ep = net_endpoint_load(e, c->id);
	if (ep == NULL)
		ep = net_endpoint_new(c, pid);
	nsfd = open_netns(pid, err);
	if (ep == NULL || nsfd < 0)
		return ep ? -1 : husk_error_set(err, ENOMEM, "endpoint");
	if (attach_locked(e, c->id, ep, net, nsfd, err) < 0) {
		detach_locked(e, c->id, ep, net);
		return -1;
	}
	hosts_refresh_around(e, c->id, ep);
	return 0;
}

int net_detach_live(const struct engine *e, const struct ctr *c, const char *net, husk_error **err)
{
	cleanup_close int lock = net_lock(e, err);
	cleanup_json json_t *ep = NULL, *before = NULL;

	if (lock < 0)
		return -1;
	ep = net_endpoint_load(e, c->id);
	if (ep == NULL)
		return 0;
	before = json_deep_copy(ep);
	detach_locked(e, c->id, ep, net);
	if (before)
		hosts_refresh_around(e, c->id, before);
	return 0;
}
