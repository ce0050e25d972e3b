/* SPDX-License-Identifier: MIT */
/* husk network create|ls|inspect|rm|prune|connect|disconnect|reload|netns, and
 * husk port. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "net.h"
#include "table.h"
#include "util.h"

static const char network_usage[] =
    "usage: husk network COMMAND\n"
    "  create [--subnet CIDR] [--gateway IP] [--internal] [-o mtu=N] NAME\n"
    "                               -o mtu=N (or com.docker.network.driver.mtu=N): the\n"
    "                               bridge's, veths' and routes' MTU, 68 to 65535 (none:\n"
    "                               65520 on the links, 1500 on the default route)\n"
    "  ls [-q]                      list the networks\n"
    "  inspect NAME...              the networks as JSON\n"
    "  rm NAME...                   remove networks no running container uses (not bridge)\n"
    "  prune [-f]                   remove the unused networks (but bridge)\n"
    "  connect NETWORK CONTAINER    attach a container (a running one at once)\n"
    "  disconnect NETWORK CONTAINER\n"
    "  reload                       make husk's nftables rules again (after a flush)\n"
    "  netns CONTAINER [NAME]       name a running container's netns for `ip netns`\n"
    "                               (/run/netns/NAME, NAME its name by default; removed\n"
    "                               when it stops)\n";

static int network_create_cmd(struct engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"subnet", required_argument, NULL, 's'}, {"gateway", required_argument, NULL, 'g'},
	    {"internal", no_argument, NULL, 'i'},     {"driver", required_argument, NULL, 'd'},
	    {"opt", required_argument, NULL, 'o'},    {0},
	};
	struct net_spec spec = {0};
	cleanup_free char *id = NULL;
	husk_error *err = NULL;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":d:o:", opts, NULL)) != -1) {
		if (c == 's')
			spec.subnet = optarg;
		else if (c == 'g')
			spec.gateway = optarg;
		else if (c == 'i')
			spec.internal = true;
		else if (c == 'o') {
			if (net_spec_option(&spec, optarg, &err) < 0) {
				husk_error_wrap(&err, "network create");
				return engine_fail(err);
			}
		} else if (c == 'd' && strcmp(optarg, "bridge") != 0) {
			engine_error("network create: driver `%s`: only bridge is supported",
				     optarg);
			return EXIT_ENGINE;
		} else if (c != 'd')
			return engine_flag_error("network create", c, argv);
	}
	if (argc - optind != 1) {
		engine_error("network create: one NAME is required");
		return EXIT_ENGINE;
	}
	if (net_network_create(e, argv[optind], &spec, &id, &err) < 0)
		return engine_fail(err);
	printf("%s\n", id);
	return 0;
}

static int network_ls_cmd(struct engine *e, int argc, char **argv)
{
	cleanup_strv char **names = NULL;
	struct table t = {.n_cols = 4, .min_width = 10};
	husk_error *err = NULL;
	bool quiet = argc > 1 && strcmp(argv[1], "-q") == 0;

	if (net_default_ensure(e, &err) < 0 || net_def_names(e, &names, &err) < 0)
		return engine_fail(err);
	table_add(&t, (const char *const[]){"NETWORK ID", "NAME", "DRIVER", "SCOPE"});
	for (size_t i = 0; names[i]; i++) {
		struct net_def d = {0};
		char id[13];
		if (net_def_load(e, names[i], &d, NULL) < 0)
			continue;
		snprintf(id, sizeof(id), "%s", d.id);
		if (quiet)
			printf("%s\n", id);
		else
			table_add(&t, (const char *const[]){id, d.name, "bridge", "local"});
		net_def_clear(&d);
	}
	if (!quiet)
		table_print(&t, stdout);
	table_clear(&t);
	return 0;
}

static int network_inspect_cmd(struct engine *e, int argc, char **argv)
{
	cleanup_json json_t *out = json_array();
	cleanup_free char *text = NULL;
	int status = 0;

	if (argc < 2) {
		engine_error("network inspect: a network is required");
		return EXIT_ENGINE;
	}
	for (int i = 1; i < argc; i++) {
		struct net_def d = {0};
		husk_error *err = NULL;
		if (net_def_load(e, argv[i], &d, &err) < 0) {
			status = engine_fail(err);
			continue;
		}
		json_array_append_new(out, net_network_inspect(e, &d));
		net_def_clear(&d);
	}
	text = json_dumps(out, JSON_INDENT(4));
	if (text)
		printf("%s\n", text);
	return status;
}

static int network_rm_cmd(struct engine *e, int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		engine_error("network rm: a network is required");
		return EXIT_ENGINE;
	}
	for (int i = 1; i < argc; i++) {
		husk_error *err = NULL;
		if (net_network_remove(e, argv[i], &err) < 0)
			status = engine_fail(err);
		else
			printf("%s\n", argv[i]);
	}
	return status;
}

static int network_prune_cmd(struct engine *e, int argc, char **argv)
{
	cleanup_strv char **names = NULL;
	husk_error *err = NULL;
	bool header = false;

	if (net_def_names(e, &names, &err) < 0)
		return engine_fail(err);
	for (size_t i = 0; names[i]; i++) {
		if (strcmp(names[i], NET_DEFAULT) == 0)
			continue;
		if (net_network_remove(e, names[i], &err) < 0) {
			husk_error_free(&err); /* in use */
			continue;
		}
		if (!header)
			printf("Deleted Networks:\n");
		header = true;
		printf("%s\n", names[i]);
	}
	return 0;
}

/* connect/disconnect: the record changed under the container's lock, and
 * a running container's netns with it. */
static int network_attach_cmd(struct engine *e, int argc, char **argv, bool connect)
{
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	const char *verb = connect ? "connect" : "disconnect";
	pid_t pid = 0;
	json_t *nets;

	if (argc != 3) {
		engine_error("network %s: usage: husk network %s NETWORK CONTAINER", verb, verb);
		return EXIT_ENGINE;
	}
	if (ctr_lookup(e, argv[2], &c, &err) < 0 || ctr_heal(e, c, &err) < 0 ||
	    ctr_lock(c, &err) < 0 || ctr_reload_state(c, &err) < 0)
		return engine_fail(err);
	if (ctr_status_now(c, NULL) == CTR_RUNNING)
		pid = c->st.pid;
	if ((connect ? net_connect(e, c, argv[1], pid, &err)
		     : net_disconnect(e, c, argv[1], pid, &err)) < 0)
		return engine_fail(err);
	nets = net_ctr_networks(c);
	if (connect)
		json_object_set_new(nets, argv[1], json_object());
	else
		json_object_del(nets, argv[1]);
	if (ctr_save_doc(c, &err) < 0)
		return engine_fail(err);
	return 0;
}

static int network_connect_cmd(struct engine *e, int argc, char **argv)
{
	return network_attach_cmd(e, argc, argv, true);
}

static int network_disconnect_cmd(struct engine *e, int argc, char **argv)
{
	return network_attach_cmd(e, argc, argv, false);
}

/* netns CONTAINER [NAME] */
static int network_netns_cmd(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	husk_error *err = NULL;
	pid_t pid = 0;

	if (argc != 2 && argc != 3) {
		engine_error("network netns: usage: husk network netns CONTAINER [NAME]");
		return EXIT_ENGINE;
	}
	if (ctr_lookup(e, argv[1], &c, &err) < 0 || ctr_heal(e, c, &err) < 0 ||
	    ctr_lock(c, &err) < 0 || ctr_reload_state(c, &err) < 0)
		return engine_fail(err);
	if (ctr_status_now(c, NULL) == CTR_RUNNING)
		pid = c->st.pid;
	if (argc == 2 && c->name == NULL) {
		engine_error("network netns: container %.12s has no name: give one", c->id);
		return EXIT_ENGINE;
	}
	if (net_netns_name(e, c, argc == 3 ? argv[2] : c->name, pid, &err) < 0)
		return engine_fail(err);
	return 0;
}

static int network_reload_cmd(struct engine *e, int argc, char **argv)
{
	husk_error *err = NULL;

	return net_network_reload(e, &err) < 0 ? engine_fail(err) : 0;
}

int cmd_network(struct engine *e, int argc, char **argv)
{
	static const struct {
		const char *name, *alias;
		int (*run)(struct engine *e, int argc, char **argv);
	} subs[] = {
	    {"create", NULL, network_create_cmd},	  {"ls", "list", network_ls_cmd},
	    {"inspect", NULL, network_inspect_cmd},	  {"rm", "remove", network_rm_cmd},
	    {"prune", NULL, network_prune_cmd},		  {"connect", NULL, network_connect_cmd},
	    {"disconnect", NULL, network_disconnect_cmd}, {"reload", NULL, network_reload_cmd},
	    {"netns", NULL, network_netns_cmd},
	};

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(network_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_ENGINE : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0 ||
		    (subs[i].alias && strcmp(argv[1], subs[i].alias) == 0))
			return subs[i].run(e, argc - 1, argv + 1);
	engine_error("network: unknown command `%s` (see husk network --help)", argv[1]);
	return EXIT_ENGINE;
}

/* husk port CONTAINER: "80/tcp -> 0.0.0.0:8080" */
int cmd_port(struct engine *e, int argc, char **argv)
{
	cleanup_ctr struct ctr *c = NULL;
	cleanup_json json_t *ep = NULL;
	husk_error *err = NULL;
	json_t *p;
	size_t i;

	if (argc != 2) {
		engine_error("port: usage: husk port CONTAINER");
		return EXIT_ENGINE;
	}
	if (ctr_lookup(e, argv[1], &c, &err) < 0)
		return engine_fail(err);
	ep = net_endpoint_load(e, c->id);
	json_array_foreach (json_object_get(ep, "Ports"), i, p) {
		const char *ip = json_string_value(json_object_get(p, "HostIp")) ?: "";
		printf("%lld/%s -> %s:%lld\n",
		       (long long)json_integer_value(json_object_get(p, "Port")),
		       json_string_value(json_object_get(p, "Proto")), ip[0] ? ip : "0.0.0.0",
		       (long long)json_integer_value(json_object_get(p, "HostPort")));
	}
	return 0;
}
