// SPDX-License-Identifier: GPL-2.0-only
/*
 * Datagram unix sockets with queues: a server bound to a path holds
 * messages from a client bound to a path and connected to it, from an
 * unnamed client (sendto), and from a client on an abstract name in a
 * child process; the connected client holds a message the server sent it.
 * Afterwards the server reads the messages in order with their lengths
 * and senders, the connected client still sends to the server with send()
 * and reads what was queued for it, and the server can answer the named
 * clients by name.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static socklen_t make_addr(struct sockaddr_un *a, const char *name, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + abstract, sizeof(a->sun_path) - 1, "%s", name);
	return offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name) + !abstract;
}

static int bound(struct sockaddr_un *a, socklen_t len)
{
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (s < 0 || (a && bind(s, (struct sockaddr *)a, len))) {
		pr_perror("bind");
		return -1;
	}
	return s;
}

/* The next message: want, from sender (NULL: unnamed). */
static int expect(int s, const char *want, struct sockaddr_un *from, socklen_t flen)
{
	struct sockaddr_un got;
	socklen_t gl = sizeof(got);
	char buf[256];
	ssize_t n = recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&got, &gl);

	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n)) {
		fail("got %zd bytes, not '%s'", n, want);
		return -1;
	}
	/* an unnamed sender: no address, or just the family */
	if (from ? gl != flen || memcmp(&got, from, flen) : gl > sizeof(sa_family_t)) {
		fail("'%s' comes from another sender (%u bytes, want %u)", want, gl,
		     from ? flen : (socklen_t)sizeof(sa_family_t));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa, ca, xa;
	socklen_t sl, cl, xl;
	char name[256], buf[16];
	int srv, cc, un, sync[2], hold[2], status;
	pid_t pid;

	test_init(argc, argv);
	sl = make_addr(&sa, test_filename, false);
	snprintf(name, sizeof(name), "%s.c", test_filename);
	cl = make_addr(&ca, name, false);
	snprintf(name, sizeof(name), "%s.x", test_filename);
	xl = make_addr(&xa, name, true);
	unlink(sa.sun_path);
	unlink(ca.sun_path);

	srv = bound(&sa, sl);
	cc = bound(&ca, cl);
	un = bound(NULL, 0);
	if (srv < 0 || cc < 0 || un < 0 || connect(cc, (struct sockaddr *)&sa, sl) ||
	    send(cc, "one", 3, 0) != 3 ||
	    sendto(un, "two: unnamed", 12, 0, (struct sockaddr *)&sa, sl) != 12 ||
	    send(cc, "", 0, 0) != 0 ||
	    sendto(srv, "to client", 9, 0, (struct sockaddr *)&ca, cl) != 9 || pipe(sync) ||
	    pipe(hold)) {
		pr_perror("setup");
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int x = bound(&xa, xl);

		if (x < 0 || sendto(x, "four: from a child", 18, 0, (struct sockaddr *)&sa, sl) != 18)
			_exit(1);
		/* stays alive, holding its name, until the parent is done */
		close(hold[1]);
		if (write(sync[1], "k", 1) != 1 || read(hold[0], buf, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(sync[1]);
	if (read(sync[0], buf, 1) != 1)
		return 1;

	test_daemon();
	test_waitsig();

	if (expect(srv, "one", &ca, cl) || expect(srv, "two: unnamed", NULL, 0) ||
	    expect(srv, "", &ca, cl) || expect(srv, "four: from a child", &xa, xl))
		return 1;
	if (recv(srv, buf, sizeof(buf), MSG_DONTWAIT) >= 0) {
		fail("the server holds more messages");
		return 1;
	}
	if (expect(cc, "to client", &sa, sl))
		return 1;
	if (send(cc, "after", 5, 0) != 5 || expect(srv, "after", &ca, cl) ||
	    sendto(srv, "reply", 5, 0, (struct sockaddr *)&ca, cl) != 5 ||
	    expect(cc, "reply", &sa, sl)) {
		fail("no exchange after restore");
		return 1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	pass();
	return 0;
}
