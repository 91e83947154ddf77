// SPDX-License-Identifier: GPL-2.0-only
/*
 * UDP sockets: for IPv4 and IPv6 each, one bound to the loopback address
 * (IPv4 one with SO_BROADCAST and a send timeout) and one connected to it;
 * and an unbound one.  Afterwards the addresses and peers are the same,
 * the connected ones send to the bound ones, which see the connected
 * socket's address as the sender and answer it; the unbound one is still
 * unbound and can send to the bound one.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "zdtmtst.h"

struct usk {
	int fd;
	struct sockaddr_storage me, peer;
	socklen_t len;
};

static struct usk srv[2], cli[2];
static int unbound;

static int setup(int i, int family, const char *addr)
{
	struct usk *s = &srv[i], *c = &cli[i];

	s->fd = socket(family, SOCK_DGRAM, 0);
	c->fd = socket(family, SOCK_DGRAM, 0);
	if (s->fd < 0 || c->fd < 0)
		return -1;
	memset(&s->me, 0, sizeof(s->me));
	s->me.ss_family = family;
	if (family == AF_INET) {
		inet_pton(AF_INET, addr, &((struct sockaddr_in *)&s->me)->sin_addr);
		s->len = sizeof(struct sockaddr_in);
	} else {
		inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&s->me)->sin6_addr);
		s->len = sizeof(struct sockaddr_in6);
	}
	c->len = s->len;
	if (bind(s->fd, (struct sockaddr *)&s->me, s->len) ||
	    getsockname(s->fd, (struct sockaddr *)&s->me, &s->len) ||
	    connect(c->fd, (struct sockaddr *)&s->me, s->len) ||
	    getsockname(c->fd, (struct sockaddr *)&c->me, &c->len))
		return -1;
	c->peer = s->me;
	return 0;
}

static int same(int fd, bool peer, struct sockaddr_storage *want, socklen_t len)
{
	struct sockaddr_storage got;
	socklen_t gl = sizeof(got);
	int r = peer ? getpeername(fd, (struct sockaddr *)&got, &gl) :
		       getsockname(fd, (struct sockaddr *)&got, &gl);

	return !r && gl == len && !memcmp(&got, want, len);
}

static int check(int i)
{
	struct usk *s = &srv[i], *c = &cli[i];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	char buf[32];

	if (!same(s->fd, false, &s->me, s->len) || !same(c->fd, false, &c->me, c->len) ||
	    !same(c->fd, true, &c->peer, c->len))
		return fail("UDP %d: addresses changed", i), -1;
	if (send(c->fd, "ping", 4, 0) != 4 ||
	    recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) != 4 ||
	    memcmp(buf, "ping", 4) || fl != c->len || memcmp(&from, &c->me, fl))
		return fail("UDP %d: the bound socket got no ping from the connected one", i), -1;
	if (sendto(s->fd, "pong!", 5, 0, (struct sockaddr *)&from, fl) != 5 ||
	    recv(c->fd, buf, sizeof(buf), 0) != 5 || memcmp(buf, "pong!", 5))
		return fail("UDP %d: the connected socket got no answer", i), -1;
	return 0;
}

static int get(int s, int level, int opt)
{
	int val = -1;
	socklen_t len = sizeof(val);

	getsockopt(s, level, opt, &val, &len);
	return val;
}

int main(int argc, char **argv)
{
	struct timeval tv = { 2, 0 };
	struct sockaddr_in un;
	socklen_t ul = sizeof(un);
	char buf[8];
	int one = 1;

	test_init(argc, argv);
	unbound = socket(AF_INET, SOCK_DGRAM, 0);
	if (setup(0, AF_INET, "127.0.0.1") || setup(1, AF_INET6, "::1") || unbound < 0 ||
	    setsockopt(srv[0].fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) ||
	    setsockopt(srv[0].fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		pr_perror("cannot set the sockets up");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(0) || check(1))
		return 1;
	if (get(srv[0].fd, SOL_SOCKET, SO_BROADCAST) != 1 ||
	    get(cli[0].fd, SOL_SOCKET, SO_BROADCAST) != 0)
		return fail("SO_BROADCAST changed"), 1;
	tv.tv_sec = 0;
	ul = sizeof(tv);
	if (getsockopt(srv[0].fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &ul) || tv.tv_sec != 2)
		return fail("SO_SNDTIMEO changed"), 1;
	ul = sizeof(un);
	if (getsockname(unbound, (struct sockaddr *)&un, &ul) || un.sin_port)
		return fail("the unbound socket is bound"), 1;
	if (sendto(unbound, "hi", 2, 0, (struct sockaddr *)&srv[0].me, srv[0].len) != 2 ||
	    recv(srv[0].fd, buf, sizeof(buf), 0) != 2)
		return fail("the unbound socket cannot send"), 1;
	pass();
	return 0;
}
