/* SPDX-License-Identifier: MIT */
/* What the verbs ask of the networks: options checked at create, connect
 * and disconnect, and what inspect and ps show. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "net_netlink.h"
#include "util.h"

void net_default_mode(const struct engine *e, struct run_options *o)
{
	/* rootless, `bridge` is pasta's (or slirp4netns'), podman 5's default:
	 * none when neither can run (not installed, no tap device) */
	bool bridge = !e->rt.rootless || net_rootless_helper_usable();

	o->network = bridge ? RUN_NETWORK_BRIDGE : RUN_NETWORK_NONE;
	o->network_name = bridge ? NET_DEFAULT : NULL;
}

int net_check_options(const struct engine *e, const struct run_options *o, husk_error **err)
{
	cleanup_close int lock = -1;
	struct net_def d = {0};

	if (o->network == RUN_NETWORK_CONTAINER) {
		cleanup_ctr struct ctr *other = NULL;
		if (ctr_lookup(e, o->network_name, &other, err) < 0)
			return husk_error_wrap(err, "--network container:%s", o->network_name);
	}
	if (o->network != RUN_NETWORK_BRIDGE) {
		if (o->n_ports || o->publish_all)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "-p and -P need a bridge network, not --network %s",
					       o->network == RUN_NETWORK_HOST	? "host"
					       : o->network == RUN_NETWORK_NONE ? "none"
										: o->network_name);
		return 0;
	}
	/* rootless, `bridge` is pasta's: no definition */
	if (!e->rt.rootless || strcmp(o->network_name, NET_DEFAULT) != 0) {
		if (strcmp(o->network_name, NET_DEFAULT) == 0 && net_default_ensure(e, err) < 0)
			return -1;
		if (net_def_load(e, o->network_name, &d, err) < 0)
			return -1;
		net_def_clear(&d);
	}
	for (size_t i = 0; i < o->n_ports; i++)
		for (size_t j = 0; j < i; j++)
			if (o->ports[i].host_port &&
			    o->ports[i].host_port == o->ports[j].host_port &&
			    strcmp(o->ports[i].proto, o->ports[j].proto) == 0)
				return husk_error_fail(err, HUSK_ERR_INVALID,
						       "-p: host port %d/%s is given twice",
						       o->ports[i].host_port, o->ports[i].proto);
	if (o->n_ports == 0)
		return 0;
	/* a port a killed husk's container held is free */
	if (net_reclaim(e, err) < 0)
		return -1;
	lock = net_lock(e, err);
	if (lock < 0)
		return -1;
	for (size_t i = 0; i < o->n_ports; i++)
		if (o->ports[i].host_port && net_port_check_free(e, NULL, &o->ports[i], err) < 0)
			return -1;
	return 0;
}

int net_connect(const struct engine *e, const struct ctr *c, const char *net, pid_t pid,
		husk_error **err)
{
	struct net_def d = {0};

	if (e->rt.rootless)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "network connect: rootless, a container's networks are "
				       "the ones it was created with");
	if (!net_ctr_has_own_netns(c))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "container %s has no network of its own (--network %s)",
				       c->name ? c->name : c->id, net_ctr_mode(c));
	if (json_object_get(net_ctr_networks(c), net))
		return husk_error_fail(err, HUSK_ERR_EXISTS,
				       "container %s is already connected to network `%s`",
				       c->name ? c->name : c->id, net);
	if (strcmp(net, NET_DEFAULT) == 0 && net_default_ensure(e, err) < 0)
		return -1;
	if (net_def_load(e, net, &d, err) < 0)
		return -1;
	net_def_clear(&d);
	return pid > 0 ? net_attach_live(e, c, net, pid, err) : 0;
}

int net_disconnect(const struct engine *e, const struct ctr *c, const char *net, pid_t pid,
		   husk_error **err)
{
	if (!json_object_get(net_ctr_networks(c), net))
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND,
				       "container %s is not connected to network `%s`",
				       c->name ? c->name : c->id, net);
	return pid > 0 ? net_detach_live(e, c, net, err) : 0;
}

static json_t *ports_json(json_t *ep, const struct ctr *c)
{
	json_t *ports = json_object(), *p;
	size_t i;
	json_t *exposed = json_object_get(json_object_get(c->doc, "Config"), "ExposedPorts"), *v;
	const char *name;

	json_array_foreach (json_object_get(ep, "Ports"), i, p) {
		char key[32], hp[16];
		const char *host_ip = json_string_value(json_object_get(p, "HostIp")) ?: "";
		json_t *list;
		snprintf(key, sizeof(key), "%lld/%s",
			 (long long)json_integer_value(json_object_get(p, "Port")),
			 json_string_value(json_object_get(p, "Proto")) ?: "tcp");
		snprintf(hp, sizeof(hp), "%lld",
			 (long long)json_integer_value(json_object_get(p, "HostPort")));
		list = json_object_get(ports, key);
		if (list == NULL || json_is_null(list)) {
			list = json_array();
			json_object_set_new(ports, key, list);
		}
		json_array_append_new(list,
				      json_pack("{s:s, s:s}", "HostIp",
						host_ip[0] ? host_ip : "0.0.0.0", "HostPort", hp));
	}
	/* exposed and not published: null, as Docker shows them */
	json_object_foreach (exposed, name, v)
		if (!json_object_get(ports, name))
			json_object_set_new(ports, name, json_null());
	return ports;
}

json_t *net_settings_json(const struct engine *e, const struct ctr *c)
{
	cleanup_json json_t *ep = net_endpoint_load(e, c->id);
	json_t *s =
	    json_pack("{s:s, s:s, s:i, s:o, s:o}", "IPAddress", "", "Gateway", "", "IPPrefixLen", 0,
		      "Ports", ports_json(ep, c), "Networks", json_object());
	json_t *nets = json_object_get(s, "Networks"), *att;
	pid_t pid = ctr_status_now(c, NULL) == CTR_RUNNING ? c->st.pid : 0;
	const char *name;
	bool first = true;
	char *key;

	if (s == NULL)
		return NULL;
	key = net_sandbox_key(e, c, ep, pid);
	json_object_set_new(s, "SandboxKey", json_string(key ? key : ""));
	free(key);
	json_object_foreach (net_ctr_networks(c), name, att) {
		json_t *live = json_object_get(json_object_get(ep, "Networks"), name);
		json_t *n = json_pack(
		    "{s:s, s:s, s:s, s:i}", "NetworkID",
		    json_string_value(json_object_get(live, "NetworkID")) ?: "", "IPAddress",
		    json_string_value(json_object_get(live, "IPAddress")) ?: "", "Gateway",
		    json_string_value(json_object_get(live, "Gateway")) ?: "", "IPPrefixLen",
		    (int)json_integer_value(json_object_get(live, "IPPrefixLen")));
		if (first && live) {
			json_object_set(s, "IPAddress", json_object_get(n, "IPAddress"));
			json_object_set(s, "Gateway", json_object_get(n, "Gateway"));
			json_object_set(s, "IPPrefixLen", json_object_get(n, "IPPrefixLen"));
			first = false;
		}
		json_object_set_new(nets, name, n);
	}
	return s;
}

char *net_ports_text(const struct engine *e, const char *id)
{
	cleanup_json json_t *ep = net_endpoint_load(e, id);
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);
	json_t *p;

	if (f == NULL)
		return NULL;
	json_array_foreach (json_object_get(ep, "Ports"), i, p) {
		const char *ip = json_string_value(json_object_get(p, "HostIp")) ?: "";
		fprintf(f, "%s%s:%lld->%lld/%s", i ? ", " : "", ip[0] ? ip : "0.0.0.0",
			(long long)json_integer_value(json_object_get(p, "HostPort")),
			(long long)json_integer_value(json_object_get(p, "Port")),
			json_string_value(json_object_get(p, "Proto")) ?: "tcp");
	}
	if (fclose(f) != 0)
		return NULL;
	return text;
}

int net_network_create(const struct engine *e, const char *name, const struct net_spec *spec,
		       char **ret_id, husk_error **err)
{
	cleanup_close int lock = -1;
	struct net_def d = {0};
	int r;

	lock = net_lock(e, err);
	if (lock < 0)
		return -1;
	if (net_def_load(e, name, &d, NULL) == 0) {
		net_def_clear(&d);
		return husk_error_fail(err, HUSK_ERR_EXISTS, "network `%s` already exists", name);
	}
	if (net_def_new(e, name, spec, &d, err) < 0)
		return -1;
	r = net_def_save(e, &d, err);
	/* rootless, its bridge is made in the rootless netns on first use */
	if (r == 0 && !e->rt.rootless && net_bridge_ensure(e, &d, err) < 0) {
		net_def_remove(e, name, NULL);
		r = -1;
	}
	if (r == 0)
		*ret_id = steal_pointer(&d.id);
	net_def_clear(&d);
	return r;
}

/* The ids of the containers attached to name now (their endpoints). */
static int users_of(const struct engine *e, const char *name, char ***ret, husk_error **err)
{
	cleanup_strv char **ids = NULL, **users = calloc(1, sizeof(char *));

	if (users == NULL || net_endpoint_ids(e, &ids, err) < 0)
		return users ? -1 : husk_error_set(err, ENOMEM, "network");
	for (size_t i = 0; ids[i]; i++) {
		cleanup_json json_t *ep = net_endpoint_load(e, ids[i]);
		if (json_object_get(json_object_get(ep, "Networks"), name) &&
		    strv_append(&users, strdup(ids[i])) < 0)
			return husk_error_set(err, ENOMEM, "network");
	}
	*ret = steal_pointer(&users);
	return 0;
}

/* The chains are d's (named after its bridge, a name of its root's); a
 * link of that name that is not d's is left alone. */
struct remove_job {
	const struct engine *e;
	const struct net_def *d;
};

static int bridge_remove(void *arg, husk_error **err)
{
	const struct remove_job *j = arg;
	const struct net_def *d = j->d;
	int r = net_nft_apply(j->e, d, true, err);

	if (r == 0 && net_bridge_mine(d))
		r = net_bridge_remove(d, err);
	return r;
}

int net_network_remove(const struct engine *e, const char *name, husk_error **err)
{
	cleanup_close int lock = -1;
	cleanup_strv char **users = NULL;
	struct net_def d = {0};
	struct remove_job j;
	int r;

	/* Docker's words: the default network stays (its bridge is shared
	 * by every container run without --network) */
	if (strcmp(name, NET_DEFAULT) == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "%s is a pre-defined network and cannot be removed", name);
	/* a killed container's endpoint is no user */
	if (net_reclaim(e, err) < 0)
		return -1;
	lock = net_lock(e, err);
	if (lock < 0 || net_def_load(e, name, &d, err) < 0)
		return -1;
	if (users_of(e, name, &users, err) < 0) {
		net_def_clear(&d);
		return -1;
	}
	if (users[0]) {
		net_def_clear(&d);
		return husk_error_fail(err, HUSK_ERR_BUSY,
				       "network `%s` has active endpoints (container %.12s)", name,
				       users[0]);
	}
	j = (struct remove_job){.e = e, .d = &d};
	r = e->rt.rootless ? net_rootless_run(e, false, bridge_remove, &j, err)
			   : bridge_remove(&j, err);
	if (r >= 0)
		r = net_def_remove(e, name, err);
	net_def_clear(&d);
	/* rootless, the netns goes with the last network in use */
	net_rootless_remove_unused(e);
	return r;
}

struct reload_job {
	const struct engine *e;
};

static int reload_all(void *arg, husk_error **err)
{
	const struct engine *e = ((struct reload_job *)arg)->e;
	cleanup_strv char **names = NULL;
	cleanup_nl struct nl *n = NULL;

	if (net_def_names(e, &names, err) < 0 || nl_open(&n, err) < 0)
		return -1;
	for (size_t i = 0; names[i]; i++) {
		struct net_def d = {0};
		int r = net_def_load(e, names[i], &d, err);
		/* a network whose bridge is not made yet has no rules yet */
		if (r == 0 && net_bridge_owned(n, &d, NULL) > 0)
			r = net_nft_apply(e, &d, false, err);
		net_def_clear(&d);
		if (r < 0)
			return -1;
	}
	return 0;
}

int net_network_reload(const struct engine *e, husk_error **err)
{
	cleanup_close int lock = net_lock(e, err);
	struct reload_job j = {.e = e};

	if (lock < 0)
		return -1;
	/* rootless, the bridges are in the rootless netns (none: no rules) */
	return e->rt.rootless ? (net_rootless_run(e, false, reload_all, &j, err) < 0 ? -1 : 0)
			      : reload_all(&j, err);
}

json_t *net_network_inspect(const struct engine *e, const struct net_def *d)
{
	json_t *j = net_def_json(d), *ctrs = json_object();
	cleanup_strv char **ids = NULL;

	if (j == NULL || ctrs == NULL || net_endpoint_ids(e, &ids, NULL) < 0) {
		json_decref(ctrs);
		return j;
	}
	for (size_t i = 0; ids[i]; i++) {
		cleanup_json json_t *ep = net_endpoint_load(e, ids[i]);
		json_t *att = json_object_get(json_object_get(ep, "Networks"), d->name);
		char addr[32];
		if (att == NULL)
			continue;
		snprintf(addr, sizeof(addr), "%s/%d",
			 json_string_value(json_object_get(att, "IPAddress")) ?: "", d->prefix);
		json_object_set_new(ctrs, ids[i],
				    json_pack("{s:s, s:s}", "Name",
					      json_string_value(json_object_get(ep, "Name")) ?: "",
					      "IPv4Address", addr));
	}
	json_object_set_new(j, "Containers", ctrs);
	return j;
}
