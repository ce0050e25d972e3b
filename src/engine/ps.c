/* SPDX-License-Identifier: MIT */
/* husk ps [-a] [-q] [--no-trunc] [--filter K=V] [--format json|table]. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "health.h"
#include "net.h"
#include "util.h"

struct ps_options {
	bool all, quiet, no_trunc, json;
	char **filters; /* "key=value" */
};

/* Docker's STATUS column: "Up 5 seconds (healthy)", "Exited (3) 2 minutes
 * ago", "Created", "Restarting (1) 3 seconds ago". */
static void status_text(const struct ctr *c, enum ctr_status now, bool monitor, char *buf,
			size_t len)
{
	char since[64], health[32] = "";
	cleanup_free char *h = NULL;

	switch (now) {
	case CTR_CREATED:
		snprintf(buf, len, "Created");
		return;
	case CTR_RUNNING:
		human_since(c->st.started_at, since, sizeof(since));
		if (c->has_healthcheck && health_status(c, &h) == 0)
			snprintf(health, sizeof(health), " (%s)", h);
		snprintf(buf, len, "Up %s%s%s", since, health,
			 monitor ? "" : " (its monitor was killed)");
		return;
	case CTR_RESTARTING:
		human_since(c->st.finished_at, since, sizeof(since));
		snprintf(buf, len, "Restarting (%d) %s ago", c->st.exit_code, since);
		return;
	case CTR_EXITED:
		human_since(c->st.finished_at, since, sizeof(since));
		if (c->st.status == CTR_RUNNING || c->st.status == CTR_RESTARTING)
			snprintf(buf, len, "Exited (unknown): its monitor was killed");
		else
			snprintf(buf, len, "Exited (%d) %s ago", c->st.exit_code, since);
		return;
	}
}

/* "sleep 1000", the command as a shell line. */
static char *command_text(const struct ctr *c)
{
	json_t *args = json_object_get(c->doc, "Args"), *v;
	const char *path = json_string_value(json_object_get(c->doc, "Path"));
	char *s = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		return NULL;
	fputs(path ? path : "", f);
	json_array_foreach (args, i, v)
		fprintf(f, " %s", json_string_value(v) ? json_string_value(v) : "");
	fclose(f);
	return s;
}

static bool filter_one(const struct ctr *c, enum ctr_status now, const char *f)
{
	const char *v = strchr(f, '=');
	size_t klen = v ? (size_t)(v - f) : strlen(f);

	if (v == NULL)
		return false;
	v++;
	if (klen == 6 && strncmp(f, "status", 6) == 0)
		return strcmp(v, ctr_status_name(now)) == 0;
	if (klen == 4 && strncmp(f, "name", 4) == 0)
		return c->name && strstr(c->name, v) != NULL;
	if (klen == 2 && strncmp(f, "id", 2) == 0)
		return strncmp(c->id, v, strlen(v)) == 0;
	if (klen == 6 && strncmp(f, "exited", 6) == 0)
		return now == CTR_EXITED && c->st.exit_code == atoi(v);
	return false;
}

static bool shown(const struct ps_options *o, const struct ctr *c, enum ctr_status now)
{
	if (!o->all && now != CTR_RUNNING && now != CTR_RESTARTING && o->filters == NULL)
		return false;
	for (size_t i = 0; o->filters && o->filters[i]; i++)
		if (!filter_one(c, now, o->filters[i]))
			return false;
	return true;
}

static void print_json(const struct ctr *c, enum ctr_status now, const char *status,
		       const char *command, const char *ports, bool no_trunc)
{
	cleanup_json json_t *j = NULL;
	cleanup_free char *text = NULL, *quoted = NULL;
	char id[65];

	snprintf(id, sizeof(id), "%.*s", no_trunc ? 64 : 12, c->id);
	if (asprintf(&quoted, "\"%s\"", command) < 0)
		return;
	j = json_pack(
	    "{s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:i}", "ID", id, "Command", quoted, "Image",
	    json_string_value(json_object_get(json_object_get(c->doc, "Config"), "Image")),
	    "CreatedAt", json_string_value(json_object_get(c->doc, "Created")), "Names",
	    c->name ? c->name : "", "State", ctr_status_name(now), "Status", status, "Ports", ports,
	    "ExitCode", c->st.exit_code);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text)
		printf("%s\n", text);
}

static void print_row(const struct ctr *c, const char *status, const char *command,
		      const char *ports, bool no_trunc)
{
	char created[64], cmd[64];
	const char *image =
	    json_string_value(json_object_get(json_object_get(c->doc, "Config"), "Image"));

	human_since(json_string_value(json_object_get(c->doc, "Created")), created,
		    sizeof(created));
	int width = 22;

	/* Docker's: 20 characters, the last an ellipsis (3 bytes, 1 column) */
	if (!no_trunc && strlen(command) > 20) {
		snprintf(cmd, sizeof(cmd), "\"%.19s…\"", command);
		width += 2;
	} else {
		snprintf(cmd, sizeof(cmd), "\"%s\"", command);
	}
	printf("%-14.*s%-20s%-*s %-24s%-30s%-10s%s%s\n", no_trunc ? 64 : 12, c->id,
	       image ? image : "", width, cmd, strcat(created, " ago"), status, ports,
	       ports[0] ? "   " : "", c->name ? c->name : "");
}

static int parse(struct ps_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},	      {"quiet", no_argument, NULL, 'q'},
	    {"no-trunc", no_argument, NULL, 'T'},     {"filter", required_argument, NULL, 'f'},
	    {"format", required_argument, NULL, 'F'}, {0},
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":aqf:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->all = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'T':
			o->no_trunc = true;
			break;
		case 'f':
			if (strchr(optarg, '=') == NULL ||
			    strv_append(&o->filters, strdup(optarg)) < 0) {
				engine_error("ps: --filter `%s`: must be KEY=VALUE", optarg);
				return EXIT_ENGINE;
			}
			break;
		case 'F':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
				engine_error("ps: --format `%s`: must be json or table", optarg);
				return EXIT_ENGINE;
			}
			o->json = strcmp(optarg, "json") == 0;
			break;
		default:
			return engine_flag_error("ps", c, argv);
		}
	}
	if (optind < argc) {
		engine_error("ps: takes no arguments (`%s`)", argv[optind]);
		return EXIT_ENGINE;
	}
	return 0;
}

int cmd_ps(struct engine *e, int argc, char **argv)
{
	struct ps_options o = {0};
	struct ctr **list = NULL;
	size_t n = 0;
	husk_error *err = NULL;
	int r = parse(&o, argc, argv);

	if (r != 0) {
		strv_free(o.filters);
		return r;
	}
	if (ctr_list(e, &list, &n, &err) < 0) {
		strv_free(o.filters);
		return engine_fail(err);
	}
	if (!o.quiet && !o.json)
		printf("%-14s%-20s%-22s %-24s%-30s%-10s%s\n", "CONTAINER ID", "IMAGE", "COMMAND",
		       "CREATED", "STATUS", "PORTS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		bool monitor;
		enum ctr_status now;
		char status[128];
		cleanup_free char *command = NULL, *ports = NULL;
		/* a record whose monitor (or starter) was killed is made true */
		if (ctr_heal(e, list[i], NULL) == 1)
			continue; /* an --rm container, removed as it exited */
		now = ctr_status_now(list[i], &monitor);
		if (!shown(&o, list[i], now))
			continue;
		if (o.quiet) {
			printf("%.*s\n", o.no_trunc ? 64 : 12, list[i]->id);
			continue;
		}
		status_text(list[i], now, monitor, status, sizeof(status));
		command = command_text(list[i]);
		ports = net_ports_text(e, list[i]->id);
		if (o.json)
			print_json(list[i], now, status, command ? command : "", ports ? ports : "",
				   o.no_trunc);
		else
			print_row(list[i], status, command ? command : "", ports ? ports : "",
				  o.no_trunc);
	}
	ctr_list_free(list, n);
	strv_free(o.filters);
	return 0;
}
