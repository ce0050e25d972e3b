/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Container networks, Docker's bridge driver: a Linux bridge per network
 * (the default `bridge` network is husk0 for the system run root, husk<hash>
 * for any other; 10.89.0.0/24, made on first use; a bridge husk makes is
 * marked with its network id in its alias),
 * a veth pair per container and network (eth0, eth1, ... in the
 * container), NAT and published ports in nftables table `ip husk`, with
 * chains of each network's own.
 *
 * On disk:
 *   <storage_root>/networks/<name>.json   a network's definition
 *   <run_root>/net/lock                   flock(2)ed around every change
 *   <run_root>/net/endpoints/<id>.json    a container's attachments (its
 *                                         addresses, veths, host ports):
 *                                         written before anything is made,
 *                                         so that what a killed husk made
 *                                         is found and removed.
 * An address is in use while an endpoint file names it; an endpoint whose
 * container is not running (nor starting) is stale and reclaimed.
 */

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

#include "container_config.h"
#include "engine.h"
#include "record.h"

#define NET_DEFAULT		"bridge"
#define NET_DEFAULT_BRIDGE	"husk0" /* the system store and run root's; others': husk<hash> */
#define NET_SYSTEM_RUN_ROOT	"/run/husk-engine"
#define NET_SYSTEM_STORAGE_ROOT "/var/lib/husk"
/* A network given no MTU: its bridge and veths of loopback's class
 * (pasta's and slirp4netns' 65520), its containers' default route of
 * Docker's 1500. What goes to the host's gateway address or to a container
 * on the same bridge then travels in frames of up to 64 KiB, about the
 * throughput of the host's loopback (bench/net-throughput.sh); what goes
 * through the gateway to anywhere else is sized, from the first packet, as
 * on a link of 1500: no PMTU discovery to rely on, nothing else bigger
 * than with Docker's defaults. A network with an MTU given (-o mtu=N) has
 * it on its links and routes alike. */
#define NET_LINK_MTU_AUTO 65520
#define NET_EGRESS_MTU	  1500
#define NET_MTU_MIN	  68	/* IPv4's least */
#define NET_MTU_MAX	  65535 /* ETH_MAX_MTU: a bridge's and a veth's most */
/* `network create -o` keys, Docker's and podman's names */
#define NET_OPT_MTU	   "mtu"
#define NET_OPT_DOCKER_MTU "com.docker.network.driver.mtu"

struct net_def {
	char *name, *id, *bridge, *created;
	struct in_addr subnet, gateway;
	int prefix;
	bool internal;
	unsigned mtu; /* the bridge's, its veths' and routes'; 0: none given */
};

/* What `network create` asks for; zeros: the defaults. */
struct net_spec {
	const char *subnet;  /* "10.90.0.0/24"; NULL: the next free /24 of 10.89.0.0/16 */
	const char *gateway; /* NULL: the subnet's first address */
	bool internal;
	unsigned mtu; /* 0: none (NET_LINK_MTU_AUTO, NET_EGRESS_MTU) */
};

/* One `-o KEY=VALUE` of `network create` into spec: mtu (or
 * com.docker.network.driver.mtu), NET_MTU_MIN to NET_MTU_MAX; any other
 * key fails (INVALID) rather than be ignored. */
int net_spec_option(struct net_spec *spec, const char *kv, husk_error **err);

void net_def_clear(struct net_def *d);

/* The global lock; returns its fd. */
int net_lock(const struct engine *e, husk_error **err);

/* Definitions (net_store.c). */
int net_def_load(const struct engine *e, const char *name, struct net_def *ret, husk_error **err);
int net_def_save(const struct engine *e, const struct net_def *d, husk_error **err);
int net_def_remove(const struct engine *e, const char *name, husk_error **err);
/* Every network's name, sorted. */
int net_def_names(const struct engine *e, char ***ret, husk_error **err);
/* A new definition of spec: its subnet checked against the other networks
 * and the host's routes. */
int net_def_new(const struct engine *e, const char *name, const struct net_spec *spec,
		struct net_def *ret, husk_error **err);
/* The definition of the default network, made when missing. */
int net_default_ensure(const struct engine *e, husk_error **err);
/* A link name: 1 to 15 of [A-Za-z0-9_.-] (what the kernel and nft's
 * quoting take). */
bool net_ifname_valid(const char *name);
/* "10.89.0.0/24" */
int net_parse_cidr(const char *s, struct in_addr *ret_net, int *ret_prefix, husk_error **err);
json_t *net_def_json(const struct net_def *d);

/* Endpoints (net_store.c): <run_root>/net/endpoints/<id>.json, NULL when none. */
json_t *net_endpoint_load(const struct engine *e, const char *id);
int net_endpoint_save(const struct engine *e, const char *id, json_t *ep, husk_error **err);
void net_endpoint_remove(const struct engine *e, const char *id);
/* Every container id with an endpoint file. */
int net_endpoint_ids(const struct engine *e, char ***ret, husk_error **err);

/* Published ports (net_ports.c). */
int net_parse_publish(const char *v, struct net_port *ret, husk_error **err);
/* Fails (BUSY) when host_port of proto is published by another container's
 * endpoint or a process of the host listens there. */
int net_port_check_free(const struct engine *e, const char *self_id, const struct net_port *p,
			husk_error **err);
/* A free host port (the kernel's ephemeral range). */
int net_port_pick(const struct engine *e, const char *proto, const char *host_ip, int *ret,
		  husk_error **err);
/* The container's ports as configured: -p, and -P's image ports. */
int net_ctr_ports(const struct ctr *c, struct net_port **ret, size_t *ret_n, husk_error **err);

/* Those ports reserved for the container: a free host port picked for
 * each that has none, each checked free, each recorded in ep (saved) as
 * published on net (at its IPAddress there, when it has one). */
int net_ports_claim(const struct engine *e, const struct ctr *c, json_t *ep, const char *net,
		    struct net_port **ret, size_t *ret_n, husk_error **err);

/* nftables (net_nft.c): the network's chains made again from the ports
 * of the endpoints on it; or removed (remove), and the table with them
 * once it has no chain left. */
int net_nft_apply(const struct engine *e, const struct net_def *d, bool remove, husk_error **err);
/* Whether every chain of d's is there (a flush of the ruleset, an older
 * husk's set of chains: not). */
bool net_nft_present(const struct net_def *d);
/* Whether table ip `table` has every chain of names (net_nft_probe.c:
 * one nfnetlink dump, no ruleset parsed). */
int net_nft_chains_present(const char *table, const char *const *names, size_t n, bool *ret,
			   husk_error **err);

/* conntrack (net_conntrack.c): the entries of host_port/proto DNATed to
 * backend (a container's address) deleted. */
int net_conntrack_forget(const char *proto, int host_port, const char *backend, husk_error **err);

/* The bridge (net_bridge.c): made with its address, up, with
 * route_localnet, and its chains, when missing; ip_forward on. */
int net_bridge_ensure(const struct engine *e, const struct net_def *d, husk_error **err);
int net_bridge_remove(const struct net_def *d, husk_error **err);
/* d's bridge's index when it is there and marked as d's (its alias), 0 when
 * there is no link of its name, -1 (EXISTS) when the link is not d's. */
struct nl;
int net_bridge_owned(struct nl *n, const struct net_def *d, husk_error **err);
/* Whether d's bridge is there and d's: only then are its chains touched. */
bool net_bridge_mine(const struct net_def *d);

/* Attachments (net_attach.c). The caller holds none of the net lock. */
/* run/create, before the options: the network of a container that names
 * none, `bridge` as Docker's and podman's (rootless: pasta's, or
 * slirp4netns', as podman 5's; none when neither can run). */
void net_default_mode(const struct engine *e, struct run_options *o);
/* run/create: what the options name exists, the ports are free. */
int net_check_options(const struct engine *e, const struct run_options *o, husk_error **err);
/* At start, init pid waiting in its own netns: every network of the
 * container attached, its ports published, /etc/hosts written. */
int net_container_up(const struct engine *e, const struct ctr *c, pid_t pid, husk_error **err);
/* Everything of it removed; idempotent, never fails on what is gone. */
void net_container_down(const struct engine *e, const char *id);
/* `network connect` / `disconnect` of a running container (pid) or not (0). */
int net_connect(const struct engine *e, const struct ctr *c, const char *net, pid_t pid,
		husk_error **err);
int net_disconnect(const struct engine *e, const struct ctr *c, const char *net, pid_t pid,
		   husk_error **err);
/* One network more, or less, in the netns of a running container's init. */
int net_attach_live(const struct engine *e, const struct ctr *c, const char *net, pid_t pid,
		    husk_error **err);
int net_detach_live(const struct engine *e, const struct ctr *c, const char *net, husk_error **err);
/* Rootless (net_netns.c): a netns made for container id, bound on
 * <run_root>/net/ns/<id> (its path in *ret), for its init to join; and
 * removed (net_container_down does). */
int net_netns_make(const struct engine *e, const char *id, char **ret, husk_error **err);
void net_netns_remove(const struct engine *e, const char *id);
/* A new netns bound on path (a file made here, O_EXCL). */
int net_netns_bind_new(const char *path, husk_error **err);
/* <run_root>/net/ns/<id> */
char *net_netns_path(const struct engine *e, const char *id);
/* Under the lock: the netns files that no endpoint owns, removed. */
void net_netns_orphans_remove(const struct engine *e);
/* Its fd, when there is one (-1: none). */
int net_netns_open(const struct engine *e, const char *id);

/* Rootless user-defined networks (net_rootless.c): one netns per user,
 * <run_root>/net/rootless-netns, its way out a pasta of its own,
 * recorded in <run_root>/net/rootless-netns.json. */
char *net_rootless_path(const struct engine *e);
/* Under the lock: made (again: a half-made or dead one undone) when it
 * is not there and ready. */
int net_rootless_ensure(const struct engine *e, husk_error **err);
/* Under the lock: removed (its pasta ended, its file unmounted) when no
 * endpoint has a network in it. */
void net_rootless_remove_unused(const struct engine *e);
/* The same, taking the lock (system prune). */
int net_rootless_prune(const struct engine *e, husk_error **err);
/* fn(arg) run in a thread that joined the rootless netns (the process
 * itself could not go back to the host's); its result. When there is no
 * rootless netns: an error if needed, else 1 (fn not run). */
int net_rootless_run(const struct engine *e, bool needed, int (*fn)(void *arg, husk_error **err),
		     void *arg, husk_error **err);

/* Rootless (net_pasta.c): pasta in the netns nsfd, with the published
 * ports, recorded in ep; and ended (by its recorded pid and start time),
 * what slirp4netns leaves removed. */
int net_pasta_up(const struct engine *e, const struct ctr *c, int nsfd, json_t *ep,
		 husk_error **err);
void net_pasta_down(const struct engine *e, const char *id, json_t *ep);
/* A pasta started (net_pasta.c): in the foreground, for the netns file
 * netns, its tap named ifname (NULL: as the host's link), configured
 * (config_net) with the host's addresses and routes or not, forwarding
 * each of ports from the host to its port (same_port: to its host port);
 * record(record_arg, pid) called right after its fork; ready once it
 * wrote pidfile. *ret: its pid, also on failure once forked (0 when it is
 * gone): the caller ends it. */
struct net_pasta_plan {
	const char *netns, *pidfile, *ifname;
	bool config_net, same_port;
	const struct net_port *ports;
	size_t n_ports;
	int (*record)(void *record_arg, pid_t pid, husk_error **err);
	void *record_arg;
};
int net_pasta_spawn(const struct net_pasta_plan *p, pid_t *ret, husk_error **err);
/* A rootless user network's published ports (ports, their IPAddress
 * DNATed in the rootless netns): a pasta of container id's forwarding
 * them from the host into the rootless netns, recorded in ep as its
 * helper (ended by net_pasta_down). */
int net_pasta_forward(const struct engine *e, const char *id, json_t *ep,
		      const struct net_port *ports, size_t n_ports, husk_error **err);
/* Whether pasta or slirp4netns is on PATH and /dev/net/tun open to us. */
bool net_rootless_helper_usable(void);
/* The helper (pasta, slirp4netns) of the container id whose endpoint is
 * ep: its pid and start time saved in ep right after its fork. */
struct net_helper {
	const struct engine *e;
	const char *id;
	json_t *ep;
};
int net_helper_record(const struct net_helper *h, pid_t pid, husk_error **err);
/* In a child about to exec pasta or slirp4netns: stdio on /dev/null, no
 * signal blocked or ignored, a session of its own. */
void net_child_reset(void);
/* The fallback when there is no pasta (net_slirp.c): slirp4netns started
 * for the netns nsfd, the ports forwarded; its pid in *ret (also when a
 * port failed: the caller ends it). */
int net_slirp_start(const struct net_helper *h, int nsfd, const struct net_port *ports,
		    size_t n_ports, pid_t *ret, husk_error **err);
/* Its API socket removed; its exit pipe closed when we hold it. */
void net_slirp_forget(const struct engine *e, const char *id, json_t *ep);
/* Under the lock: the container's endpoint undone and removed (its
 * helper, veths, ports, hosts lines); not its netns file. netns_gone: its
 * init is dead, so its veths go with its netns unless a container that
 * joined that netns runs. */
void net_teardown_locked(const struct engine *e, const char *id, bool netns_gone);
/* `network netns` (net_name.c): the running container's netns bound on
 * /run/netns/NAME (root only), recorded in its endpoint; removed with
 * its network (net_name_remove, from the teardown). */
int net_netns_name(const struct engine *e, const struct ctr *c, const char *name, pid_t pid,
		   husk_error **err);
void net_name_remove(json_t *ep);
/* inspect's SandboxKey: the named file, the rootless netns file, or
 * /proc/PID/ns/net while it runs (pid > 0); "" otherwise. */
char *net_sandbox_key(const struct engine *e, const struct ctr *c, json_t *ep, pid_t pid);
/* Endpoints of containers that no longer run, removed. */
int net_reclaim(const struct engine *e, husk_error **err);
/* inspect's NetworkSettings: Networks, IPAddress, Gateway, Ports. */
json_t *net_settings_json(const struct engine *e, const struct ctr *c);
/* ps's PORTS: "0.0.0.0:8080->80/tcp, ...", "" when none. */
char *net_ports_text(const struct engine *e, const char *id);
/* `network create`: the definition, its bridge and rules; the new id. */
int net_network_create(const struct engine *e, const char *name, const struct net_spec *spec,
		       char **ret_id, husk_error **err);
/* `network rm`: BUSY while a container is attached. */
int net_network_remove(const struct engine *e, const char *name, husk_error **err);
/* `network reload`: every made bridge's chains made again. */
int net_network_reload(const struct engine *e, husk_error **err);
/* `network inspect`'s object, with the attached containers. */
json_t *net_network_inspect(const struct engine *e, const struct net_def *d);
/* The configured network names of a container (doc's NetworkSettings.Networks). */
json_t *net_ctr_networks(const struct ctr *c);
/* HostConfig.NetworkMode ("none" when missing). */
const char *net_ctr_mode(const struct ctr *c);
/* Whether the container's netns is its own, on bridge networks (not host,
 * none nor container:X): the only kind network connect may change. */
bool net_ctr_has_own_netns(const struct ctr *c);
/* Whether the container has a netns made for it: bridge networks, or none
 * (lo alone); not host nor container:X. */
bool net_ctr_unshares_netns(const struct ctr *c);
/* A new endpoint record of container c, its init pid, with no network. */
json_t *net_endpoint_new(const struct ctr *c, pid_t pid);
