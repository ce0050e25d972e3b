/* SPDX-License-Identifier: MIT */
/* `run`'s --env-file, --label, --network, --add-host and --dns. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "read_bounded.h"
#include "run_parsers.h"
#include "util.h"

#define ENV_FILE_MAX (1 << 20)

static int append_copy(char ***list, const char *s, husk_error **err)
{
	char *copy = strdup(s);

	if (copy == NULL || strv_append(list, copy) < 0)
		return husk_error_set(err, ENOMEM, "options");
	return 0;
}

/* One line of an env file, as docker reads it: leading blanks dropped, "#"
 * comments and empty lines skipped, NAME=VALUE kept as it is (no quotes),
 * NAME alone taken from our environment when it is set there. */
static int env_file_line(struct run_options *o, const char *path, size_t lineno, char *line,
			 husk_error **err)
{
	size_t name_len;

	while (isspace((unsigned char)*line))
		line++;
	line[strcspn(line, "\r")] = '\0';
	if (*line == '\0' || *line == '#')
		return 0;
	name_len = strcspn(line, "=");
	if (name_len == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--env-file `%s`: line %zu: no variable name", path, lineno);
	if (line[name_len] == '\0')
		while (name_len > 0 && isspace((unsigned char)line[name_len - 1]))
			line[--name_len] = '\0';
	for (size_t i = 0; i < name_len; i++)
		if (isspace((unsigned char)line[i]))
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--env-file `%s`: line %zu: the name `%.*s` has "
					       "blanks",
					       path, lineno, (int)name_len, line);
	if (line[name_len] == '\0' && getenv(line) == NULL)
		return 0;
	return append_copy(&o->env_file, line, err);
}

int run_parse_env_file(struct run_options *o, const char *path, husk_error **err)
{
	cleanup_free char *text = NULL;
	size_t len, lineno = 0;
	char *save = NULL;

	if (read_file_bounded(path, ENV_FILE_MAX, &text, &len, err) < 0)
		return husk_error_wrap(err, "--env-file");
	if (strlen(text) != len)
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--env-file `%s`: not a text file (a NUL byte)", path);
	/* strtok_r would merge empty lines: count them by hand */
	for (char *line = text; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		if (env_file_line(o, path, lineno, line, err) < 0)
			return -1;
	}
	return 0;
}

int run_parse_label(struct run_options *o, const char *v, husk_error **err)
{
	cleanup_free char *kv = NULL;

	if (v[0] == '=' || v[0] == '\0')
		return husk_error_fail(err, HUSK_ERR_INVALID, "--label `%s`: no key", v);
	/* "KEY" alone is KEY with an empty value */
	if (asprintf(&kv, "%s%s", v, strchr(v, '=') ? "" : "=") < 0)
		return husk_error_set(err, ENOMEM, "--label");
	return append_copy(&o->labels, kv, err);
}

int run_parse_network(struct run_options *o, const char *v, husk_error **err)
{
	o->network_name = NULL;
	if (strcmp(v, "none") == 0) {
		o->network = RUN_NETWORK_NONE;
	} else if (strcmp(v, "host") == 0) {
		o->network = RUN_NETWORK_HOST;
	} else if (strncmp(v, "container:", 10) == 0) {
		if (v[10] == '\0')
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--network `%s`: a container is required", v);
		o->network = RUN_NETWORK_CONTAINER;
		o->network_name = v + 10;
	} else if (*v == '\0') {
		return husk_error_fail(err, HUSK_ERR_INVALID, "--network: a network is required");
	} else {
		o->network = RUN_NETWORK_BRIDGE; /* checked to exist at create */
		o->network_name = v;
	}
	return 0;
}

int run_parse_publish(struct run_options *o, const char *v, husk_error **err)
{
	struct net_port *n = realloc(o->ports, (o->n_ports + 1) * sizeof(*n));

	if (n == NULL)
		return husk_error_set(err, ENOMEM, "-p");
	o->ports = n;
	if (net_parse_publish(v, &o->ports[o->n_ports], err) < 0)
		return -1;
	o->n_ports++;
	return 0;
}

int run_parse_dns_search(struct run_options *o, const char *v, husk_error **err)
{
	if (*v == '\0' || strpbrk(v, " \t\n"))
		return husk_error_fail(err, HUSK_ERR_INVALID, "--dns-search `%s`: not a domain", v);
	return append_copy(&o->dns_search, v, err);
}

static bool ip_valid(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* NAME:IP or NAME=IP; an IPv6 address may be in brackets. */
int run_parse_add_host(struct run_options *o, const char *v, husk_error **err)
{
	size_t name_len = strcspn(v, ":=");
	cleanup_free char *ip = NULL, *entry = NULL;
	size_t ip_len;

	if (v[name_len] == '\0' || name_len == 0)
		return husk_error_fail(err, HUSK_ERR_INVALID, "--add-host `%s`: must be NAME:IP",
				       v);
	for (size_t i = 0; i < name_len; i++)
		if (isspace((unsigned char)v[i]) || !isprint((unsigned char)v[i]))
			return husk_error_fail(err, HUSK_ERR_INVALID,
					       "--add-host `%s`: a bad host name", v);
	ip = strdup(v + name_len + 1);
	if (ip == NULL)
		return husk_error_set(err, ENOMEM, "--add-host");
	ip_len = strlen(ip);
	if (ip_len > 2 && ip[0] == '[' && ip[ip_len - 1] == ']') {
		memmove(ip, ip + 1, ip_len - 2);
		ip[ip_len - 2] = '\0';
	}
	if (strcmp(ip, "host-gateway") == 0)
		return husk_error_fail(err, HUSK_ERR_UNSUPPORTED,
				       "--add-host `%s`: host-gateway is not supported yet", v);
	if (!ip_valid(ip))
		return husk_error_fail(err, HUSK_ERR_INVALID,
				       "--add-host `%s`: `%s` is not an IP address", v, ip);
	if (asprintf(&entry, "%s\t%.*s", ip, (int)name_len, v) < 0)
		return husk_error_set(err, ENOMEM, "--add-host");
	return append_copy(&o->add_hosts, entry, err);
}

int run_parse_dns(struct run_options *o, const char *v, husk_error **err)
{
	if (!ip_valid(v))
		return husk_error_fail(err, HUSK_ERR_INVALID, "--dns `%s`: not an IP address", v);
	return append_copy(&o->dns, v, err);
}
