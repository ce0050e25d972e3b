/* SPDX-License-Identifier: MIT */
/* The container's network: its namespace (none: lo alone; host: the host's)
 * and its /etc/hostname, /etc/hosts and /etc/resolv.conf, written in the
 * container dir and bound over the image's. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"
#include "read_bounded.h"
#include "util.h"

#define ETC_FILE_MAX (1 << 20)

int config_hostname(const struct run_options *o, const char *id, char **ret, husk_error **err)
{
	char host[HOST_NAME_MAX + 1];

	if (o->hostname)
		*ret = strdup(o->hostname);
	else if (o->network == RUN_NETWORK_HOST && gethostname(host, sizeof(host)) == 0)
		*ret = strndup(host, sizeof(host) - 1); /* docker's with the host's network */
	else
		*ret = strndup(id, 12); /* docker's: the id's first 12 digits */
	return *ret ? 0 : husk_error_set(err, ENOMEM, "hostname");
}

/* A growing text. */
struct text {
	char *s;
	size_t len;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
	char *add = NULL, *n;
	va_list ap;
	int len;

	if (t->failed)
		return;
	va_start(ap, fmt);
	len = vasprintf(&add, fmt, ap);
	va_end(ap);
	n = len < 0 ? NULL : realloc(t->s, t->len + (size_t)len + 1);
	if (n == NULL) {
		free(add);
		free(t->s);
		*t = (struct text){.failed = true};
		return;
	}
	memcpy(n + t->len, add, (size_t)len + 1);
	t->s = n;
	t->len += (size_t)len;
	free(add);
}

static char *text_take(struct text *t)
{
	if (t->failed)
		return NULL;
	return t->s ? t->s : strdup("");
}

char *config_hosts_text(const struct run_options *o, const char *hostname, const char *host_hosts)
{
	struct text t = {0};

	if (o->network == RUN_NETWORK_HOST) {
		text_add(&t, "%s", host_hosts ? host_hosts : "");
		if (t.len > 0 && t.s[t.len - 1] != '\n')
			text_add(&t, "\n");
	} else {
		text_add(&t, "127.0.0.1\tlocalhost\n");
		text_add(&t, "::1\tlocalhost ip6-localhost ip6-loopback\n");
		text_add(&t, "127.0.0.1\t%s\n", hostname);
	}
	for (size_t i = 0; o->add_hosts && o->add_hosts[i]; i++)
		text_add(&t, "%s\n", o->add_hosts[i]);
	return text_take(&t);
}

/* "nameserver 127.0.0.53", "nameserver ::1": the host's own resolvers,
 * unreachable from a network namespace of the container's own. */
static bool loopback_nameserver(const char *line)
{
	const char *addr;

	if (strncmp(line, "nameserver", 10) != 0 || (line[10] != ' ' && line[10] != '\t'))
		return false;
	addr = line + 10 + strspn(line + 10, " \t");
	return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "::1", 3) == 0;
}

static bool keyword_line(const char *line, const char *word)
{
	size_t n = strlen(word);

	return strncmp(line, word, n) == 0 && (line[n] == ' ' || line[n] == '\t');
}

static bool nameserver_line(const char *line)
{
	return keyword_line(line, "nameserver");
}

char *config_resolv_text(const struct run_options *o, const char *host_resolv)
{
	struct text t = {0};
	const char *line = host_resolv ? host_resolv : "";

	while (*line) {
		size_t len = strcspn(line, "\n");
		cleanup_free char *l = strndup(line, len);
		if (l == NULL) {
			free(t.s);
			return NULL;
		}
		/* --dns replaces the nameservers and keeps search and options */
		/* --dns-search replaces search (and domain, which it overrides) */
		if (!(o->dns && nameserver_line(l)) &&
		    !(o->network != RUN_NETWORK_HOST && loopback_nameserver(l)) &&
		    !(o->dns_search && (keyword_line(l, "search") || keyword_line(l, "domain"))))
			text_add(&t, "%s\n", l);
		line += len + (line[len] == '\n');
	}
	for (size_t i = 0; o->dns && o->dns[i]; i++)
		text_add(&t, "nameserver %s\n", o->dns[i]);
	if (o->dns_search) {
		text_add(&t, "search");
		for (size_t i = 0; o->dns_search[i]; i++)
			text_add(&t, " %s", o->dns_search[i]);
		text_add(&t, "\n");
	}
	return text_take(&t);
}

/* The host's file, or "" when it has none. */
static int read_host_file(const char *path, char **ret, husk_error **err)
{
	husk_error *e = NULL;

	if (read_file_bounded(path, ETC_FILE_MAX, ret, NULL, &e) == 0)
		return 0;
	if (husk_error_is(e, HUSK_ERR_NOT_FOUND)) {
		husk_error_free(&e);
		*ret = strdup("");
		return *ret ? 0 : husk_error_set(err, ENOMEM, "%s", path);
	}
	*err = e;
	return -1;
}

/* dir/name holding text, bound on dest unless a mount of the user's is there. */
static int etc_file(struct config_ctx *c, const char *name, const char *dest, const char *text,
		    husk_error **err)
{
	cleanup_free char *path = NULL;
	cleanup_close int dirfd = -1;

	if (text == NULL)
		return husk_error_set(err, ENOMEM, "%s", dest);
	if (config_user_mounts(c->o, dest))
		return 0;
	dirfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_error_set(err, errno, "open `%s`", c->dir);
	if (write_file_atomic_at(dirfd, name, text, strlen(text), 0644, err) < 0)
		return -1;
	if (asprintf(&path, "%s/%s", c->dir, name) < 0)
		return husk_error_set(err, ENOMEM, "%s", dest);
	return config_add_bind(c, dest, path, false, NULL, err);
}

/* --network host: no namespace of its own, and no sysctl of the default
 * that would then be the host's (net.ipv4.ping_group_range). */
static void use_host_network(json_t *config)
{
	json_t *lx = json_object_get(config, "linux");
	json_t *ns = json_object_get(lx, "namespaces"), *e;
	json_t *sysctl = json_object_get(lx, "sysctl");
	size_t i;

	json_array_foreach (ns, i, e)
		if (strcmp(json_string_value(json_object_get(e, "type")), "network") == 0) {
			json_array_remove(ns, i);
			break;
		}
	json_object_del(sysctl, "net.ipv4.ping_group_range");
	if (sysctl && json_object_size(sysctl) == 0)
		json_object_del(lx, "sysctl");
}

int config_apply_network(struct config_ctx *c, husk_error **err)
{
	cleanup_free char *host_hosts = NULL, *host_resolv = NULL, *hostname = NULL;
	cleanup_free char *hosts = NULL, *resolv = NULL;

	if (c->o->network == RUN_NETWORK_HOST) {
		use_host_network(c->config);
		if (read_host_file("/etc/hosts", &host_hosts, err) < 0)
			return -1;
	}
	if (read_host_file("/etc/resolv.conf", &host_resolv, err) < 0 ||
	    asprintf(&hostname, "%s\n", c->hostname) < 0)
		return husk_error_set(err, ENOMEM, "hostname");
	hosts = config_hosts_text(c->o, c->hostname, host_hosts);
	resolv = config_resolv_text(c->o, host_resolv);
	if (etc_file(c, "hostname", "/etc/hostname", hostname, err) < 0 ||
	    etc_file(c, "hosts", "/etc/hosts", hosts, err) < 0 ||
	    etc_file(c, "resolv.conf", "/etc/resolv.conf", resolv, err) < 0)
		return -1;
	return 0;
}
