// SPDX-License-Identifier: GPL-2.0-only
/*
 * A listening unix stream socket bound to a path with two connections not
 * yet accepted, whose clients (in the tree) wrote to them, one of them
 * bound to a name of its own; and a seqpacket listener on an abstract
 * name with one pending connection carrying two messages, its file-less
 * client shut for writing.  Afterwards: accept returns the connections in
 * the order they were made, each carries what its client wrote, the peer
 * names are the clients' names, and data flows both ways.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

static socklen_t make_addr(struct sockaddr_un *a, const char *name, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + abstract, sizeof(a->sun_path) - 1, "%s", name);
	return offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name) + !abstract;
}

static int listener(int type, struct sockaddr_un *a, socklen_t len)
{
	int s = socket(AF_UNIX, type, 0);

	if (s < 0 || bind(s, (struct sockaddr *)a, len) || listen(s, 4)) {
		pr_perror("listener");
		return -1;
	}
	return s;
}

static int client(int type, struct sockaddr_un *to, socklen_t len, struct sockaddr_un *own,
		  socklen_t own_len)
{
	int s = socket(AF_UNIX, type, 0);

	if (s < 0 || (own && bind(s, (struct sockaddr *)own, own_len)) ||
	    connect(s, (struct sockaddr *)to, len)) {
		pr_perror("client");
		return -1;
	}
	return s;
}

/* Accept one; it must hold want, come from peer (or an unnamed one), then talk. */
static int check_one(int l, int c, const char *want, struct sockaddr_un *peer,
		     socklen_t peer_len, const char *what)
{
	struct sockaddr_un got;
	socklen_t gl = sizeof(got);
	char buf[64];
	int a = accept(l, (struct sockaddr *)&got, &gl);
	ssize_t n;

	if (a < 0) {
		fail("%s: accept: %m", what);
		return -1;
	}
	if (peer ? gl != peer_len || memcmp(&got, peer, gl) : gl != sizeof(sa_family_t)) {
		fail("%s: accepted from another address (%u bytes)", what, gl);
		return -1;
	}
	n = recv(a, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n)) {
		fail("%s: the accepted connection holds %zd bytes, not '%s'", what, n, want);
		return -1;
	}
	if (send(a, "pong", 4, 0) != 4 || recv(c, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "pong", 4)) {
		fail("%s: nothing comes back to the client", what);
		return -1;
	}
	if (send(c, "more", 4, MSG_NOSIGNAL) != 4 || recv(a, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "more", 4)) {
		fail("%s: the client cannot send more", what);
		return -1;
	}
	close(a);
	return 0;
}

static int check_seqpacket(int l, int c)
{
	char buf[64];
	int a = accept(l, NULL, NULL);

	if (a < 0) {
		fail("seqpacket: accept: %m");
		return -1;
	}
	if (recv(a, buf, sizeof(buf), MSG_DONTWAIT) != 3 || memcmp(buf, "one", 3) ||
	    recv(a, buf, sizeof(buf), MSG_DONTWAIT) != 5 || memcmp(buf, "three", 5)) {
		fail("seqpacket: the messages are not 'one' and 'three'");
		return -1;
	}
	if (recv(a, buf, sizeof(buf), MSG_DONTWAIT) != 0) {
		fail("seqpacket: the client's shutdown is not seen");
		return -1;
	}
	if (send(a, "back", 4, 0) != 4 || recv(c, buf, sizeof(buf), 0) != 4) {
		fail("seqpacket: nothing comes back to the client");
		return -1;
	}
	close(a);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un la, lb, own;
	socklen_t la_len, lb_len, own_len;
	char name[256];
	int l, c1, c2, sl, sc;

	test_init(argc, argv);
	la_len = make_addr(&la, test_filename, false);
	snprintf(name, sizeof(name), "%s.own", test_filename);
	own_len = make_addr(&own, name, false);
	snprintf(name, sizeof(name), "%s.seq", test_filename);
	lb_len = make_addr(&lb, name, true);
	unlink(la.sun_path);
	unlink(own.sun_path);

	l = listener(SOCK_STREAM, &la, la_len);
	sl = listener(SOCK_SEQPACKET, &lb, lb_len);
	c1 = client(SOCK_STREAM, &la, la_len, NULL, 0);
	c2 = client(SOCK_STREAM, &la, la_len, &own, own_len);
	sc = client(SOCK_SEQPACKET, &lb, lb_len, NULL, 0);
	if (l < 0 || sl < 0 || c1 < 0 || c2 < 0 || sc < 0)
		return 1;
	if (send(c1, "first client", 12, 0) != 12 || send(c2, "second", 6, 0) != 6 ||
	    send(c2, " client", 7, 0) != 7 || send(sc, "one", 3, 0) != 3 ||
	    send(sc, "three", 5, 0) != 5 || shutdown(sc, SHUT_WR)) {
		pr_perror("send");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_one(l, c1, "first client", NULL, 0, "first") ||
	    check_one(l, c2, "second client", &own, own_len, "second") ||
	    check_seqpacket(sl, sc))
		return 1;
	pass();
	return 0;
}
