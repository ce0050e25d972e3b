/* SPDX-License-Identifier: MIT */
/* udp-echo: the UDP end of engine-network.bats (busybox has none).
 *   udp-echo serve PORT [TAG]    answers each datagram with "FROM IP PAYLOAD"
 *                                (and " TAG")
 *   udp-echo send IP PORT MSG [SPORT]  sends MSG (from source port SPORT),
 *                                prints the answer (2 s timeout)
 * Static: it runs in a busybox container as well as on the host. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int serve(int port, const char *tag)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[512], out[600], ip[INET_ADDRSTRLEN];

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udp-echo: bind");
		return 1;
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			continue;
		buf[n] = '\0';
		inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
		n = snprintf(out, sizeof(out), "FROM %s %s%s%s", ip, buf, tag ? " " : "",
			     tag ? tag : "");
		sendto(fd, out, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static int send_one(const char *ip, int port, const char *msg, int sport)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sport)};
	struct timeval tv = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	char buf[600];
	ssize_t n;

	if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return 2;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sport && bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0) {
		perror("udp-echo: bind");
		return 2;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		fprintf(stderr, "udp-echo: no answer\n");
		return 1;
	}
	buf[n] = '\0';
	printf("%s\n", buf);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]), argc == 4 ? argv[3] : NULL);
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0)
		return send_one(argv[2], atoi(argv[3]), argv[4], argc == 6 ? atoi(argv[5]) : 0);
	fprintf(stderr, "usage: udp-echo serve PORT [TAG] | udp-echo send IP PORT MSG [SPORT]\n");
	return 2;
}
