// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connected unix sockets with names, both ends in the tree: a stream
 * connection accepted from a listener bound to a path (the listener kept),
 * a seqpacket one accepted from a listener on an abstract name (the
 * listener closed), and a stream one whose client is bound to a path of
 * its own.  Data waits in both directions.  And a connection accepted from
 * the kept listener whose client wrote and closed.  Afterwards each end has
 * the same getsockname and getpeername, the queued bytes (and messages)
 * are there, more flows both ways, the orphan reads its bytes then the end,
 * and the kept listener still accepts.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

struct conn {
	const char *what;
	int a, c;		/* accepted and client ends */
	struct sockaddr_un an, cn, ap, cp;	/* names and peer names */
	socklen_t anl, cnl, apl, cpl;
};

static socklen_t make_addr(struct sockaddr_un *a, const char *name, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + abstract, sizeof(a->sun_path) - 1, "%s", name);
	return offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name) + !abstract;
}

static int names(struct conn *k)
{
	k->anl = k->cnl = k->apl = k->cpl = sizeof(struct sockaddr_un);
	return getsockname(k->a, (struct sockaddr *)&k->an, &k->anl) ||
	       getsockname(k->c, (struct sockaddr *)&k->cn, &k->cnl) ||
	       getpeername(k->a, (struct sockaddr *)&k->ap, &k->apl) ||
	       getpeername(k->c, (struct sockaddr *)&k->cp, &k->cpl) ? -1 : 0;
}

static int connect_to(struct conn *k, int type, struct sockaddr_un *addr, socklen_t len,
		      struct sockaddr_un *own, socklen_t own_len, int *lp)
{
	int l = socket(AF_UNIX, type, 0);

	k->c = socket(AF_UNIX, type, 0);
	if (l < 0 || k->c < 0 || bind(l, (struct sockaddr *)addr, len) || listen(l, 2) ||
	    (own && bind(k->c, (struct sockaddr *)own, own_len)) ||
	    connect(k->c, (struct sockaddr *)addr, len)) {
		pr_perror("%s: connect", k->what);
		return -1;
	}
	k->a = accept(l, NULL, NULL);
	if (k->a < 0 || names(k)) {
		pr_perror("%s: accept", k->what);
		return -1;
	}
	if (send(k->c, "to server", 9, 0) != 9 || send(k->c, "again", 5, 0) != 5 ||
	    send(k->a, "to client", 9, 0) != 9) {
		pr_perror("%s: send", k->what);
		return -1;
	}
	if (lp)
		*lp = l;
	else
		close(l);
	return 0;
}

static bool same(struct sockaddr_un *a, socklen_t al, struct sockaddr_un *b, socklen_t bl)
{
	return al == bl && !memcmp(a, b, al);
}

static int check(struct conn *k, int type)
{
	struct conn now = *k;
	char buf[64];
	ssize_t n;

	if (names(&now)) {
		fail("%s: getsockname/getpeername: %m", k->what);
		return -1;
	}
	if (!same(&now.an, now.anl, &k->an, k->anl) || !same(&now.cn, now.cnl, &k->cn, k->cnl) ||
	    !same(&now.ap, now.apl, &k->ap, k->apl) || !same(&now.cp, now.cpl, &k->cp, k->cpl)) {
		fail("%s: names changed (%u %u %u %u bytes, were %u %u %u %u)", k->what, now.anl,
		     now.cnl, now.apl, now.cpl, k->anl, k->cnl, k->apl, k->cpl);
		return -1;
	}
	if (type == SOCK_STREAM) {
		n = recv(k->a, buf, sizeof(buf), MSG_DONTWAIT);
		if (n != 14 || memcmp(buf, "to serveragain", 14)) {
			fail("%s: the server holds %zd bytes, not 'to serveragain'", k->what, n);
			return -1;
		}
	} else if (recv(k->a, buf, sizeof(buf), MSG_DONTWAIT) != 9 || memcmp(buf, "to server", 9) ||
		   recv(k->a, buf, sizeof(buf), MSG_DONTWAIT) != 5 || memcmp(buf, "again", 5)) {
		fail("%s: the server does not hold the two messages", k->what);
		return -1;
	}
	n = recv(k->c, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != 9 || memcmp(buf, "to client", 9)) {
		fail("%s: the client holds %zd bytes, not 'to client'", k->what, n);
		return -1;
	}
	if (send(k->a, "ping", 4, 0) != 4 || recv(k->c, buf, sizeof(buf), 0) != 4 ||
	    send(k->c, "pong", 4, 0) != 4 || recv(k->a, buf, sizeof(buf), 0) != 4) {
		fail("%s: no exchange after restore", k->what);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct conn k[3] = { { .what = "path" }, { .what = "abstract" }, { .what = "bound" } };
	struct sockaddr_un pa, aa, ba, own, got;
	socklen_t pl, al, bl, ol, gl = sizeof(got);
	char name[256];
	int l, c, o;

	test_init(argc, argv);
	pl = make_addr(&pa, test_filename, false);
	snprintf(name, sizeof(name), "%s.abs", test_filename);
	al = make_addr(&aa, name, true);
	snprintf(name, sizeof(name), "%s.b", test_filename);
	bl = make_addr(&ba, name, false);
	snprintf(name, sizeof(name), "%s.own", test_filename);
	ol = make_addr(&own, name, false);
	unlink(pa.sun_path);
	unlink(ba.sun_path);
	unlink(own.sun_path);
	if (connect_to(&k[0], SOCK_STREAM, &pa, pl, NULL, 0, &l) ||
	    connect_to(&k[1], SOCK_SEQPACKET, &aa, al, NULL, 0, NULL) ||
	    connect_to(&k[2], SOCK_STREAM, &ba, bl, &own, ol, NULL))
		return 1;
	/* the orphan: its client wrote, then went away */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&pa, pl) || send(c, "bye", 3, 0) != 3 ||
	    close(c) || (o = accept(l, NULL, NULL)) < 0) {
		pr_perror("orphan");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(&k[0], SOCK_STREAM) || check(&k[1], SOCK_SEQPACKET) ||
	    check(&k[2], SOCK_STREAM))
		return 1;
	gl = sizeof(got);
	if (getsockname(o, (struct sockaddr *)&got, &gl) || !same(&got, gl, &pa, pl) ||
	    recv(o, name, sizeof(name), MSG_DONTWAIT) != 3 || memcmp(name, "bye", 3) ||
	    recv(o, name, sizeof(name), MSG_DONTWAIT) != 0) {
		fail("the orphan has another name, or not 'bye' and the end");
		return 1;
	}
	gl = sizeof(got);
	/* the listener holds its name and still takes connections */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&pa, pl) || close(c) ||
	    (c = accept(l, NULL, NULL)) < 0 || getsockname(l, (struct sockaddr *)&got, &gl) ||
	    !same(&got, gl, &pa, pl)) {
		fail("the path listener does not take connections as before: %m");
		return 1;
	}
	pass();
	return 0;
}
