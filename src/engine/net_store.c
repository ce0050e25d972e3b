/* SPDX-License-Identifier: MIT */
/* Network definitions, the net lock, and containers' endpoint files. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "lifecycle.h"
#include "net.h"
#include "net_netlink.h"
#include "util.h"

void net_def_clear(struct net_def *d)
{
	free(d->name);
	free(d->id);
	free(d->bridge);
	free(d->created);
	memset(d, 0, sizeof(*d));
}

static char *net_path(const struct engine *e, const char *sub, const char *name)
{
	char *p = NULL;
	int r = name ? asprintf(&p, "%s/net/%s/%s", e->paths.run_root, sub, name)
		     : asprintf(&p, "%s/net/%s", e->paths.run_root, sub);

	return r < 0 ? NULL : p;
}

static char *def_path(const struct engine *e, const char *name)
{
	char *p = NULL;

	if (name == NULL)
		return asprintf(&p, "%s/networks", e->paths.storage_root) < 0 ? NULL : p;
	return asprintf(&p, "%s/networks/%s.json", e->paths.storage_root, name) < 0 ? NULL : p;
}

int net_lock(const struct engine *e, husk_error **err)
{
	cleanup_free char *dir = net_path(e, "endpoints", NULL), *path = NULL;
	int fd;

	if (dir == NULL || asprintf(&path, "%s/net/lock", e->paths.run_root) < 0)
		return husk_error_set(err, ENOMEM, "net lock");
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_error_set(err, errno, "open `%s`", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e1 = errno;
			close(fd);
			return husk_error_set(err, e1, "lock `%s`", path);
		}
	return fd;
}

int net_parse_cidr(const char *s, struct in_addr *ret_net, int *ret_prefix, husk_error **err)
{
	cleanup_free char *copy = strdup(s);
	char *slash = copy ? strchr(copy, '/') : NULL;
	int64_t prefix;
	uint32_t mask;

	if (slash == NULL)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s`: not a subnet (A.B.C.D/N)", s);
	*slash = '\0';
	if (inet_pton(AF_INET, copy, ret_net) != 1 || parse_int64(slash + 1, 8, 30, &prefix) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "`%s`: not an IPv4 subnet with a prefix of 8 to 30", s);
	mask = ~0U << (32 - prefix);
	if ((ntohl(ret_net->s_addr) & ~mask) != 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "`%s`: the address has bits set past the prefix", s);
	*ret_prefix = (int)prefix;
	return 0;
}

json_t *net_def_json(const struct net_def *d)
{
	char net[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN], subnet[INET_ADDRSTRLEN + 4], mtu[16];
	json_t *j;

	inet_ntop(AF_INET, &d->subnet, net, sizeof(net));
	inet_ntop(AF_INET, &d->gateway, gw, sizeof(gw));
	snprintf(subnet, sizeof(subnet), "%s/%d", net, d->prefix);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:[{s:s, s:s}]}, s:{s:s}}", "Name",
		      d->name, "Id", d->id, "Created", d->created ? d->created : "", "Driver",
		      "bridge", "Scope", "local", "Internal", d->internal, "IPAM", "Config",
		      "Subnet", subnet, "Gateway", gw, "Options", "com.docker.network.bridge.name",
		      d->bridge);
	/* only one given, and a string, as Docker's Options are */
	snprintf(mtu, sizeof(mtu), "%u", d->mtu);
	if (j && d->mtu)
		json_object_set_new(json_object_get(j, "Options"), NET_OPT_DOCKER_MTU,
				    json_string(mtu));
	return j;
}

static int mtu_parse(const char *s, unsigned *ret)
{
	int64_t v;

	if (parse_int64(s, NET_MTU_MIN, NET_MTU_MAX, &v) < 0)
		return -1;
	*ret = (unsigned)v;
	return 0;
}

int net_spec_option(struct net_spec *spec, const char *kv, husk_error **err)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);

	if ((klen == strlen(NET_OPT_MTU) && strncmp(kv, NET_OPT_MTU, klen) == 0) ||
	    (klen == strlen(NET_OPT_DOCKER_MTU) && strncmp(kv, NET_OPT_DOCKER_MTU, klen) == 0)) {
		if (eq == NULL || mtu_parse(eq + 1, &spec->mtu) < 0)
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "-o `%s`: the MTU is a number of %d to %d", kv,
					       NET_MTU_MIN, NET_MTU_MAX);
		return 0;
	}
	return husk_error_fail(
	    err, HUSK_ERR_INVALID,
	    "-o `%s`: unknown option (known: " NET_OPT_MTU "=N, " NET_OPT_DOCKER_MTU "=N)", kv);
}

static int def_from_json(json_t *j, struct net_def *d, husk_error **err)
{
	json_t *cfg = json_array_get(json_object_get(json_object_get(j, "IPAM"), "Config"), 0);
	const char *subnet = json_string_value(json_object_get(cfg, "Subnet"));
	const char *gw = json_string_value(json_object_get(cfg, "Gateway"));
	const char *bridge = json_string_value(
	    json_object_get(json_object_get(j, "Options"), "com.docker.network.bridge.name"));
	const char *name = json_string_value(json_object_get(j, "Name"));
	const char *id = json_string_value(json_object_get(j, "Id"));
	/* none given (or a definition of an older husk's) */
	const char *mtu =
	    json_string_value(json_object_get(json_object_get(j, "Options"), NET_OPT_DOCKER_MTU));

	/* the bridge's name goes into nftables rule text: a tampered file
	 * must not add rules of its own */
	d->mtu = 0;
	if (!subnet || !gw || !bridge || !name || !id || !net_ifname_valid(bridge) ||
	    inet_pton(AF_INET, gw, &d->gateway) != 1 || (mtu && mtu_parse(mtu, &d->mtu) < 0) ||
	    net_parse_cidr(subnet, &d->subnet, &d->prefix, err) < 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "a broken network definition");
	d->name = strdup(name);
	d->id = strdup(id);
	d->bridge = strdup(bridge);
	d->created = strdup(json_string_value(json_object_get(j, "Created")) ?: "");
	d->internal = json_is_true(json_object_get(j, "Internal"));
	if (!d->name || !d->id || !d->bridge || !d->created) {
		net_def_clear(d);
		return husk_error_set(err, ENOMEM, "network");
	}
	return 0;
}

bool net_ifname_valid(const char *name)
{
	static const char ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t len = name ? strlen(name) : 0;

	return len > 0 && len < 16 && strspn(name, ok) == len && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static bool net_name_valid(const char *name)
{
	static const char ok[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

	return name[0] && strchr("_.-", name[0]) == NULL && strspn(name, ok) == strlen(name) &&
	       strlen(name) <= 64;
}

int net_def_load(const struct engine *e, const char *name, struct net_def *ret, husk_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_json json_t *j = NULL;

	if (!net_name_valid(name))
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "network `%s` not found", name);
	path = def_path(e, name);
	if (path == NULL)
		return husk_error_set(err, ENOMEM, "network");
	j = json_load_file(path, 0, NULL);
	if (j == NULL)
		return husk_error_fail(err, HUSK_ERR_NOT_FOUND, "network `%s` not found", name);
	memset(ret, 0, sizeof(*ret));
	return def_from_json(j, ret, err);
}

int net_def_save(const struct engine *e, const struct net_def *d, husk_error **err)
{
	cleanup_free char *dir = def_path(e, NULL), *text = NULL, *file = NULL;
	cleanup_json json_t *j = net_def_json(d);
	cleanup_close int dirfd = -1;

	if (dir == NULL || j == NULL || (text = json_dumps(j, JSON_INDENT(2))) == NULL ||
	    asprintf(&file, "%s.json", d->name) < 0)
		return husk_error_set(err, ENOMEM, "network");
	if (mkdir_p(dir, 0700, err) < 0)
		return -1;
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dirfd, file, text, strlen(text), 0644, err);
}

int net_def_remove(const struct engine *e, const char *name, husk_error **err)
{
	cleanup_free char *path = def_path(e, name);

	if (path == NULL)
		return husk_error_set(err, ENOMEM, "network");
	if (unlink(path) < 0 && errno != ENOENT)
		return husk_error_set(err, errno, "remove `%s`", path);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir ending in suffix (suffix removed), sorted. */
static int list_dir(const char *dir, const char *suffix, char ***ret, husk_error **err)
{
	cleanup_dir DIR *d = opendir(dir);
	cleanup_strv char **v = calloc(1, sizeof(char *));
	struct dirent *de;
	size_t sl = strlen(suffix);

	if (v == NULL)
		return husk_error_set(err, ENOMEM, "list");
	if (d == NULL && errno != ENOENT)
		return husk_error_set(err, errno, "open `%s`", dir);
	while (d && (de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		if (strv_append(&v, strndup(de->d_name, l - sl)) < 0)
			return husk_error_set(err, ENOMEM, "list");
	}
	qsort(v, strv_length(v), sizeof(char *), cmp_str);
	*ret = steal_pointer(&v);
	return 0;
}

int net_def_names(const struct engine *e, char ***ret, husk_error **err)
{
	cleanup_free char *dir = def_path(e, NULL);

	if (dir == NULL)
		return husk_error_set(err, ENOMEM, "networks");
	return list_dir(dir, ".json", ret, err);
}

/* Whether subnet/prefix overlaps a network of ours (but skip) or a route of
 * the host's on a link that is not that network's bridge. */
static int subnet_taken(const struct engine *e, struct in_addr net, int prefix, bool *ret,
			husk_error **err)
{
	cleanup_strv char **names = NULL;
	cleanup_nl struct nl *n = NULL;
	uint32_t a = ntohl(net.s_addr);

	*ret = false;
	if (net_def_names(e, &names, err) < 0)
		return -1;
	for (size_t i = 0; names[i] && !*ret; i++) {
		struct net_def d = {0};
		uint32_t mask;
		if (net_def_load(e, names[i], &d, NULL) < 0)
			continue;
		mask = ~0U << (32 - (d.prefix < prefix ? d.prefix : prefix));
		*ret = (ntohl(d.subnet.s_addr) & mask) == (a & mask);
		net_def_clear(&d);
	}
	if (*ret)
		return 0;
	if (nl_open(&n, err) < 0)
		return -1;
	return nl_routes_overlap(n, net, prefix, 0, ret, err);
}

/* The next /24 of 10.89.0.0/16 that nothing uses. */
static int subnet_pick(const struct engine *e, struct in_addr *ret, husk_error **err)
{
	for (uint32_t i = 0; i < 256; i++) {
		struct in_addr a = {.s_addr = htonl((10U << 24) | (89U << 16) | (i << 8))};
		bool taken;
		if (subnet_taken(e, a, 24, &taken, err) < 0)
			return -1;
		if (!taken) {
			*ret = a;
			return 0;
		}
	}
	return husk_error_fail(err, HUSK_ERR_BUSY, "no free subnet left in 10.89.0.0/16");
}

static int random_hex(char *buf, size_t n, husk_error **err)
{
	unsigned char bytes[32];

	if (getrandom(bytes, n / 2, 0) != (ssize_t)(n / 2))
		return husk_error_set(err, errno, "random");
	for (size_t i = 0; i < n / 2; i++)
		snprintf(buf + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

static int def_gateway(const char *gateway, struct net_def *d, husk_error **err)
{
	uint32_t mask = ~0U << (32 - d->prefix), g;

	if (gateway == NULL) {
		d->gateway.s_addr = htonl(ntohl(d->subnet.s_addr) + 1);
		return 0;
	}
	if (inet_pton(AF_INET, gateway, &d->gateway) != 1)
		return husk_error_fail(err, HUSK_ERR_INVALID, "--gateway `%s`: not an IPv4 address",
				       gateway);
	g = ntohl(d->gateway.s_addr);
	if ((g & mask) != ntohl(d->subnet.s_addr) || (g & ~mask) == 0 || (g & ~mask) == ~mask)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--gateway `%s`: not a host address of the subnet", gateway);
	return 0;
}

static uint32_t fnv1a(uint32_t h, const char *s)
{
	for (const char *p = s; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h * 16777619u; /* the NUL too: "a" "bc" is not "ab" "c" */
}

/* The default network's bridge: husk0 for the system's store and run
 * root, husk and a hash of both for any other, so that two engines never
 * share a bridge (nor its chains): a store of its own with the run root
 * of another (tests do that) has its own default network, with an id of
 * its own that another's bridge does not carry. */
static char *default_bridge_name(const struct engine *e)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	char *name = NULL;

	if (strcmp(e->paths.run_root, NET_SYSTEM_RUN_ROOT) == 0 &&
	    strcmp(e->paths.storage_root, NET_SYSTEM_STORAGE_ROOT) == 0)
		return strdup(NET_DEFAULT_BRIDGE);
	h = fnv1a(fnv1a(h, e->paths.run_root), e->paths.storage_root);
	if (asprintf(&name, "husk%08x", h) < 0)
		return NULL;
	return name;
}

int net_def_new(const struct engine *e, const char *name, const struct net_spec *spec,
		struct net_def *ret, husk_error **err)
{
	const char *subnet = spec->subnet;
	struct net_def d = {0};
	char id[65], now[64];
	bool taken = false;

	if (!net_name_valid(name))
		return husk_error_fail(err, HUSK_ERR_INVALID, "invalid network name `%s`", name);
	if (strcmp(name, "none") == 0 || strcmp(name, "host") == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "`%s` is a reserved network name",
				       name);
	if (random_hex(id, 64, err) < 0)
		return -1;
	if (subnet) {
		if (net_parse_cidr(subnet, &d.subnet, &d.prefix, err) < 0 ||
		    subnet_taken(e, d.subnet, d.prefix, &taken, err) < 0)
			return husk_error_wrap(err, "--subnet");
		if (taken)
			return husk_error_fail(err, HUSK_ERR_EXISTS,
					       "--subnet `%s` overlaps a network of husk's or a "
					       "route of the host's",
					       subnet);
	} else {
		d.prefix = 24;
		if (subnet_pick(e, &d.subnet, err) < 0)
			return -1;
	}
	if (def_gateway(spec->gateway, &d, err) < 0)
		return -1;
	rfc3339_now(now);
	d.name = strdup(name);
	d.id = strdup(id);
	d.created = strdup(now);
	d.internal = spec->internal;
	d.mtu = spec->mtu;
	if (strcmp(name, NET_DEFAULT) == 0)
		d.bridge = default_bridge_name(e);
	else
		asprintf(&d.bridge, "husk-%.10s", id);
	if (!d.name || !d.id || !d.created || !d.bridge) {
		net_def_clear(&d);
		return husk_error_set(err, ENOMEM, "network");
	}
	*ret = d;
	return 0;
}

int net_default_ensure(const struct engine *e, husk_error **err)
{
	cleanup_close int lock = -1;
	struct net_def d = {0};
	int r;

	if (net_def_load(e, NET_DEFAULT, &d, NULL) == 0) {
		net_def_clear(&d);
		return 0;
	}
	lock = net_lock(e, err);
	if (lock < 0)
		return -1;
	if (net_def_load(e, NET_DEFAULT, &d, NULL) == 0) {
		net_def_clear(&d);
		return 0;
	}
	if (net_def_new(e, NET_DEFAULT, &(struct net_spec){0}, &d, err) < 0)
		return -1;
	r = net_def_save(e, &d, err);
	net_def_clear(&d);
	return r;
}

json_t *net_endpoint_load(const struct engine *e, const char *id)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/net/endpoints/%s.json", e->paths.run_root, id) < 0)
		return NULL;
	return json_load_file(path, 0, NULL);
}

int net_endpoint_save(const struct engine *e, const char *id, json_t *ep, husk_error **err)
{
	cleanup_free char *dir = net_path(e, "endpoints", NULL), *text = NULL, *file = NULL;
	cleanup_close int dirfd = -1;

	if (dir == NULL || (text = json_dumps(ep, JSON_COMPACT)) == NULL ||
	    asprintf(&file, "%s.json", id) < 0)
		return husk_error_set(err, ENOMEM, "endpoint");
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", dir);
	return write_file_atomic_at(dirfd, file, text, strlen(text), 0600, err);
}

void net_endpoint_remove(const struct engine *e, const char *id)
{
	cleanup_free char *path = NULL;

	if (asprintf(&path, "%s/net/endpoints/%s.json", e->paths.run_root, id) >= 0)
		unlink(path);
}

int net_endpoint_ids(const struct engine *e, char ***ret, husk_error **err)
{
	cleanup_free char *dir = net_path(e, "endpoints", NULL);

	if (dir == NULL)
		return husk_error_set(err, ENOMEM, "endpoints");
	return list_dir(dir, ".json", ret, err);
}
