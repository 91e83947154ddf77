// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP listeners: IPv4 on 127.0.0.1 (SO_REUSEADDR, keepalive with idle,
 * interval and count, TCP_NODELAY, SO_LINGER, a receive timeout, buffer
 * sizes, SO_BINDTODEVICE lo, a socket filter, O_NONBLOCK), IPv6 on ::
 * (IPV6_V6ONLY on, SO_REUSEPORT, IP_FREEBIND: an IPv4 client is refused),
 * and a dual-stack one on :: (IPV6_V6ONLY off).  Afterwards each has its address and port, its
 * options, and accepts a connection from a child (the dual-stack one
 * over IPv4) with bytes both ways.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR 3

struct lsk {
	int fd;
	struct sockaddr_storage addr;	/* as bound, with the port */
	socklen_t len;
	const char *name;
};

static struct lsk l[NR];

static int set(int s, int level, int opt, int val)
{
	return setsockopt(s, level, opt, &val, sizeof(val));
}

static int get(int s, int level, int opt)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(s, level, opt, &val, &len))
		return -1;
	return val;
}

/* accept all, but through a filter of two instructions */
static struct sock_filter prog[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
};

/* unprivileged users may not attach filters on some kernels */
static bool with_filter;

static int v4_opts(int s)
{
	struct linger lg = { 1, 7 };
	struct timeval tv = { 3, 500000 };
	struct sock_fprog fp = { ARRAY_SIZE(prog), prog };

	return set(s, SOL_SOCKET, SO_REUSEADDR, 1) || set(s, SOL_SOCKET, SO_KEEPALIVE, 1) ||
	       set(s, SOL_TCP, TCP_KEEPIDLE, 77) || set(s, SOL_TCP, TCP_KEEPINTVL, 11) ||
	       set(s, SOL_TCP, TCP_KEEPCNT, 5) || set(s, SOL_TCP, TCP_NODELAY, 1) ||
	       setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) ||
	       setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	       set(s, SOL_SOCKET, SO_SNDBUF, 65536) || set(s, SOL_SOCKET, SO_RCVBUF, 50000) ||
	       setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2) ||
	       (with_filter && setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp))) ||
	       fcntl(s, F_SETFL, O_NONBLOCK);
}

static int v4_check(int s)
{
	struct linger lg;
	struct timeval tv;
	char dev[16] = "";
	socklen_t len = sizeof(lg), tl = sizeof(tv), dl = sizeof(dev), fl = 0;

	if (getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &len) || !lg.l_onoff || lg.l_linger != 7)
		return fail("SO_LINGER is not {1, 7}"), -1;
	if (getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) || tv.tv_sec != 3 ||
	    tv.tv_usec != 500000)
		return fail("SO_RCVTIMEO is not 3.5 s"), -1;
	if (getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, dev, &dl) || strcmp(dev, "lo"))
		return fail("SO_BINDTODEVICE is '%s', not lo", dev), -1;
	if (getsockopt(s, SOL_SOCKET, SO_GET_FILTER, NULL, &fl) ||
	    fl != (with_filter ? ARRAY_SIZE(prog) : 0))
		return fail("the filter has %u instructions, not 2", fl), -1;
	if (get(s, SOL_SOCKET, SO_REUSEADDR) != 1 || get(s, SOL_SOCKET, SO_KEEPALIVE) != 1 ||
	    get(s, SOL_TCP, TCP_KEEPIDLE) != 77 || get(s, SOL_TCP, TCP_KEEPINTVL) != 11 ||
	    get(s, SOL_TCP, TCP_KEEPCNT) != 5 || get(s, SOL_TCP, TCP_NODELAY) != 1)
		return fail("reuseaddr/keepalive/nodelay options changed"), -1;
	if (get(s, SOL_SOCKET, SO_SNDBUF) != 131072 || get(s, SOL_SOCKET, SO_RCVBUF) != 100000)
		return fail("buffer sizes %d/%d", get(s, SOL_SOCKET, SO_SNDBUF),
			    get(s, SOL_SOCKET, SO_RCVBUF)), -1;
	if (!(fcntl(s, F_GETFL) & O_NONBLOCK))
		return fail("O_NONBLOCK is gone"), -1;
	return 0;
}

static int listener(int i, int family, const char *addr, int backlog)
{
	struct lsk *k = &l[i];

	k->fd = socket(family, SOCK_STREAM, 0);
	if (k->fd < 0)
		return -1;
	memset(&k->addr, 0, sizeof(k->addr));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&k->addr;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &a->sin_addr);
		k->len = sizeof(*a);
		if (v4_opts(k->fd))
			return -1;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&k->addr;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		k->len = sizeof(*a);
		if (set(k->fd, SOL_IPV6, IPV6_V6ONLY, i == 1) ||
		    (i == 1 && (set(k->fd, SOL_SOCKET, SO_REUSEPORT, 1) ||
				set(k->fd, SOL_IP, IP_FREEBIND, 1))))
			return -1;
	}
	if (bind(k->fd, (struct sockaddr *)&k->addr, k->len) || listen(k->fd, backlog))
		return -1;
	return getsockname(k->fd, (struct sockaddr *)&k->addr, &k->len);
}

static int check_names(void)
{
	int i;

	for (i = 0; i < NR; i++) {
		struct sockaddr_storage got;
		socklen_t len = sizeof(got);

		if (getsockname(l[i].fd, (struct sockaddr *)&got, &len) || len != l[i].len ||
		    memcmp(&got, &l[i].addr, len))
			return fail("%s: getsockname gives another address", l[i].name), -1;
		if (get(l[i].fd, SOL_SOCKET, SO_ACCEPTCONN) != 1)
			return fail("%s: not listening", l[i].name), -1;
	}
	if (get(l[1].fd, SOL_IPV6, IPV6_V6ONLY) != 1 || get(l[2].fd, SOL_IPV6, IPV6_V6ONLY) != 0 ||
	    get(l[1].fd, SOL_SOCKET, SO_REUSEPORT) != 1 || get(l[1].fd, SOL_IP, IP_FREEBIND) != 1)
		return fail("v6only/reuseport/freebind changed"), -1;
	return v4_check(l[0].fd);
}

/* The IPv6-only listener must not take an IPv4 connection. */
static int check_v6only(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_STREAM, 0), r;

	a.sin_port = ((struct sockaddr_in6 *)&l[1].addr)->sin6_port;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	r = connect(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
	if (r == 0 || errno != ECONNREFUSED)
		return fail("the IPv6-only listener's port takes IPv4 connections"), -1;
	return 0;
}

static int client(int i)
{
	struct sockaddr_storage to = l[i].addr;
	socklen_t len = l[i].len;
	char buf[16];
	int s;

	if (i == 1) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;

		inet_pton(AF_INET6, "::1", &a->sin6_addr);
	}
	if (i == 2) {
		/* the dual-stack listener, over IPv4 */
		struct sockaddr_in *a = (struct sockaddr_in *)&to;
		in_port_t port = ((struct sockaddr_in6 *)&l[i].addr)->sin6_port;

		memset(&to, 0, sizeof(to));
		a->sin_family = AF_INET;
		a->sin_port = port;
		inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
		len = sizeof(*a);
	}
	s = socket(to.ss_family, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&to, len) || send(s, "hello", 5, 0) != 5 ||
	    recv(s, buf, 6, MSG_WAITALL) != 6 || memcmp(buf, "world!", 6))
		return 1;
	close(s);
	return 0;
}

static int exchange(int i)
{
	char buf[16];
	int c, status;
	pid_t pid = fork();

	if (pid < 0)
		return pr_perror("fork"), -1;
	if (pid == 0)
		_exit(client(i));
	/* l[0] is non-blocking: wait for the connection */
	for (c = -1; c < 0;) {
		c = accept(l[i].fd, NULL, NULL);
		if (c < 0 && errno != EAGAIN)
			return pr_perror("%s: accept", l[i].name), -1;
		if (c < 0)
			usleep(1000);
	}
	fcntl(c, F_SETFL, 0);
	if (recv(c, buf, 5, MSG_WAITALL) != 5 || memcmp(buf, "hello", 5) ||
	    send(c, "world!", 6, 0) != 6)
		return fail("%s: no exchange with the client", l[i].name), -1;
	close(c);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return fail("%s: the client failed (status %x)", l[i].name, status), -1;
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	test_init(argc, argv);
	l[0].name = "IPv4 listener";
	l[1].name = "IPv6 listener";
	l[2].name = "dual-stack listener";
	{
		struct sock_fprog fp = { ARRAY_SIZE(prog), prog };
		int s = socket(AF_INET, SOCK_STREAM, 0);

		with_filter = !setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
		if (!with_filter)
			test_msg("no socket filter: %m\n");
		close(s);
	}
	if (listener(0, AF_INET, "127.0.0.1", 5) || listener(1, AF_INET6, "::", 16) ||
	    listener(2, AF_INET6, "::", 1)) {
		pr_perror("cannot set the listeners up");
		return 1;
	}
	if (check_names())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_names() || check_v6only())
		return 1;
	for (i = 0; i < NR; i++)
		if (exchange(i))
			return 1;
	pass();
	return 0;
}
