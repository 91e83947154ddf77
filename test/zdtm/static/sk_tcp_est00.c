// SPDX-License-Identifier: GPL-2.0-only
/*
 * Established TCP connections over loopback with both ends in the test
 * (dumped with --tcp-established): for IPv4 and IPv6, a listener, the
 * connecting end and the accepted end.  Before the dump each end sends
 * bytes the other does not read; on IPv4 the accepted end sends until its
 * send buffer is full (the client's receive buffer is small), so bytes
 * wait unsent or unacknowledged in its send queue.  Afterwards the
 * addresses are the same, each end reads exactly the bytes queued for
 * it, and then both exchange more; no reset.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

struct conn {
	int l, c, s;		/* listener, client, accepted */
	size_t c2s, s2c;	/* bytes sent and not read, each way */
	const char *name;
};

static struct conn cn[2];

static unsigned char pat(size_t i, int seed)
{
	return (unsigned char)(i * 7 + seed + (i >> 9));
}

static int send_pat(int fd, size_t off, size_t len, int seed, bool until_full, size_t *sent)
{
	unsigned char buf[4096];
	size_t done = 0;
	int idle = 0;

	while (until_full ? idle < 20 : done < len) {
		size_t i, n = sizeof(buf);
		ssize_t w;

		if (!until_full && len - done < n)
			n = len - done;
		for (i = 0; i < n; i++)
			buf[i] = pat(off + done + i, seed);
		w = send(fd, buf, n, MSG_DONTWAIT);
		if (w < 0 && errno == EAGAIN) {
			if (!until_full && idle > 200)
				return -1;
			idle++;
			usleep(10000);
			continue;
		}
		if (w <= 0)
			return -1;
		idle = 0;
		done += w;
	}
	*sent = done;
	return 0;
}

/* Read exactly len bytes of the pattern, and check nothing else waits. */
static int recv_pat(int fd, size_t len, int seed, const char *what)
{
	unsigned char buf[4096];
	size_t done = 0, i;
	char c;

	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t r = recv(fd, buf, n, 0);

		if (r <= 0)
			return fail("%s: read %zd after %zu of %zu bytes: %m", what, r, done, len),
			       -1;
		for (i = 0; i < (size_t)r; i++)
			if (buf[i] != pat(done + i, seed))
				return fail("%s: byte %zu is wrong", what, done + i), -1;
		done += r;
	}
	if (recv(fd, &c, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		return fail("%s: more than %zu bytes were queued", what, len), -1;
	return 0;
}

static int setup(struct conn *k, int family, const char *addr)
{
	struct sockaddr_storage a = { .ss_family = family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) :
					    sizeof(struct sockaddr_in6);
	int small = 4096, one = 1;

	inet_pton(family, addr, family == AF_INET ?
		  (void *)&((struct sockaddr_in *)&a)->sin_addr :
		  (void *)&((struct sockaddr_in6 *)&a)->sin6_addr);
	k->l = socket(family, SOCK_STREAM, 0);
	k->c = socket(family, SOCK_STREAM, 0);
	if (k->l < 0 || k->c < 0 || bind(k->l, (struct sockaddr *)&a, len) || listen(k->l, 4) ||
	    getsockname(k->l, (struct sockaddr *)&a, &len))
		return -1;
	if (family == AF_INET &&
	    (setsockopt(k->c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) ||
	     setsockopt(k->c, SOL_TCP, TCP_NODELAY, &one, sizeof(one))))
		return -1;
	if (connect(k->c, (struct sockaddr *)&a, len))
		return -1;
	k->s = accept(k->l, NULL, NULL);
	if (k->s < 0)
		return -1;
	if (send_pat(k->c, 0, family == AF_INET ? 1000 : 20000, 1, false, &k->c2s) ||
	    send_pat(k->s, 0, 3000, 2, family == AF_INET, &k->s2c))
		return -1;
	test_msg("%s: %zu bytes to the server, %zu to the client queued\n", k->name, k->c2s,
		 k->s2c);
	return 0;
}

static int same_names(struct conn *k, struct sockaddr_storage *n)
{
	int fds[3] = { k->c, k->s, k->l }, i;

	for (i = 0; i < 5; i++) {
		struct sockaddr_storage got;
		socklen_t len = sizeof(got);
		int fd = fds[i % 3];
		int r = i < 3 ? getsockname(fd, (struct sockaddr *)&got, &len) :
				getpeername(fd, (struct sockaddr *)&got, &len);

		if (r)
			return -1;
		if (!n[i].ss_family)
			n[i] = got;
		else if (memcmp(&n[i], &got, len))
			return fail("%s: address %d changed", k->name, i), -1;
	}
	return 0;
}

static int check(struct conn *k, struct sockaddr_storage *names)
{
	char buf[8];
	int nd = 0;
	socklen_t len = sizeof(nd);

	if (same_names(k, names) || recv_pat(k->s, k->c2s, 1, "server") ||
	    recv_pat(k->c, k->s2c, 2, "client"))
		return -1;
	if (k == &cn[0] && (getsockopt(k->c, SOL_TCP, TCP_NODELAY, &nd, &len) || !nd))
		return fail("%s: TCP_NODELAY is gone", k->name), -1;
	if (send(k->c, "more", 4, 0) != 4 || recv(k->s, buf, 4, MSG_WAITALL) != 4 ||
	    memcmp(buf, "more", 4) || send(k->s, "again", 5, 0) != 5 ||
	    recv(k->c, buf, 5, MSG_WAITALL) != 5 || memcmp(buf, "again", 5))
		return fail("%s: no exchange after the restore: %m", k->name), -1;
	shutdown(k->c, SHUT_WR);
	if (recv(k->s, buf, 1, 0) != 0)
		return fail("%s: no clean end of stream: %m", k->name), -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage names[2][5];

	test_init(argc, argv);
	memset(names, 0, sizeof(names));
	cn[0].name = "IPv4";
	cn[1].name = "IPv6";
	if (setup(&cn[0], AF_INET, "127.0.0.1") || setup(&cn[1], AF_INET6, "::1") ||
	    same_names(&cn[0], names[0]) || same_names(&cn[1], names[1])) {
		pr_perror("cannot set the connections up");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(&cn[0], names[0]) || check(&cn[1], names[1]))
		return 1;
	pass();
	return 0;
}
