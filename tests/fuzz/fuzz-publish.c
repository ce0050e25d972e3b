/* SPDX-License-Identifier: MIT */
/* -p/--publish of husk run and create: the input is one spec,
 * [HOST_IP:][HOST_PORT:]PORT[/tcp|udp] ("127.0.0.1:8080:80/udp"). */
#include <arpa/inet.h>

#include "fuzz.h"
#include "net.h"

/* A parsed port written back as a spec, every part explicit. */
static void format_spec(const struct net_port *p, char *buf, size_t len)
{
	if (p->host_port)
		snprintf(buf, len, "%s:%d:%d/%s", p->host_ip, p->host_port, p->port, p->proto);
	else
		snprintf(buf, len, "%s::%d/%s", p->host_ip, p->port, p->proto);
}

static void check_parsed(const struct net_port *p)
{
	struct in_addr a;

	FUZZ_ASSERT(p->port >= 1 && p->port <= 65535);
	FUZZ_ASSERT(p->host_port >= 0 && p->host_port <= 65535);
	FUZZ_ASSERT(strcmp(p->proto, "tcp") == 0 || strcmp(p->proto, "udp") == 0);
	FUZZ_ASSERT(memchr(p->host_ip, '\0', sizeof(p->host_ip)) != NULL);
	/* every address of the host is "", never "0.0.0.0" */
	FUZZ_ASSERT(p->host_ip[0] == '\0' || (inet_pton(AF_INET, p->host_ip, &a) == 1 &&
					      strcmp(p->host_ip, "0.0.0.0") != 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_strndup(data, size), again[64];
	struct net_port p, untouched, q;
	husk_error *err = NULL;
	int r;

	memset(&p, 0xa5, sizeof(p));
	untouched = p;
	r = net_parse_publish(spec, &p, &err);
	FUZZ_ASSERT(r < 0 ? err != NULL && err->msg != NULL : err == NULL);
	if (r < 0) {
		/* output parameters are untouched on failure */
		FUZZ_ASSERT(memcmp(&p, &untouched, sizeof(p)) == 0);
		/* a one-line message */
		FUZZ_ASSERT(strchr(err->msg, '\n') == NULL || strchr(spec, '\n') != NULL);
	} else {
		check_parsed(&p);
		/* written back, it parses to the same */
		format_spec(&p, again, sizeof(again));
		memset(&q, 0, sizeof(q));
		FUZZ_ASSERT(net_parse_publish(again, &q, NULL) == 0);
		FUZZ_ASSERT(strcmp(q.proto, p.proto) == 0 && strcmp(q.host_ip, p.host_ip) == 0 &&
			    q.host_port == p.host_port && q.port == p.port);
	}
	husk_error_free(&err);
	free(spec);
	return 0;
}
