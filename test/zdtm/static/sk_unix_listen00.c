// SPDX-License-Identifier: GPL-2.0-only
/*
 * Listening unix sockets: a stream one bound to a path (mode 0640), a
 * seqpacket one bound to an abstract name, and a stream one whose file
 * was removed after the bind; and a datagram socket bound to a path.
 * Afterwards each has its name (getsockname), the path is a socket with
 * its mode and owner, the removed file is still gone, a child connects to
 * the two reachable listeners and exchanges bytes with them and sends a
 * datagram to the bound one, and the path listener takes about as many
 * pending connections as its backlog allows.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BACKLOG 5

static struct sockaddr_un path_addr, abs_addr, gone_addr, dg_addr;
static socklen_t path_len, abs_len, gone_len, dg_len;

static socklen_t make_addr(struct sockaddr_un *a, const char *name, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + abstract, sizeof(a->sun_path) - 1, "%s", name);
	return offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name) + !abstract;
}

static int listener(int type, struct sockaddr_un *a, socklen_t len, int backlog)
{
	int s = socket(AF_UNIX, type, 0);

	if (s < 0 || bind(s, (struct sockaddr *)a, len) || listen(s, backlog)) {
		pr_perror("listener %s", a->sun_path[0] ? a->sun_path : a->sun_path + 1);
		return -1;
	}
	return s;
}

static int check_name(int s, struct sockaddr_un *a, socklen_t len, const char *what)
{
	struct sockaddr_un got;
	socklen_t gl = sizeof(got);

	if (getsockname(s, (struct sockaddr *)&got, &gl) || gl != len || memcmp(&got, a, len)) {
		fail("%s: getsockname gives another name (%u bytes, want %u)", what, gl, len);
		return -1;
	}
	return 0;
}

/* The child: connect to both, say hello, expect the answer. */
static int client(void)
{
	struct { int type; struct sockaddr_un *a; socklen_t len; } to[2] = {
		{ SOCK_STREAM, &path_addr, path_len },
		{ SOCK_SEQPACKET, &abs_addr, abs_len },
	};
	char buf[16];
	int i;

	for (i = 0; i < 2; i++) {
		int s = socket(AF_UNIX, to[i].type, 0);

		if (s < 0 || connect(s, (struct sockaddr *)to[i].a, to[i].len) ||
		    send(s, "hello", 5, 0) != 5 || recv(s, buf, sizeof(buf), 0) != 6 ||
		    memcmp(buf, "world!", 6))
			return 1;
		close(s);
	}
	i = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (i < 0 || sendto(i, "dgram", 5, 0, (struct sockaddr *)&dg_addr, dg_len) != 5)
		return 1;
	return 0;
}

static int serve(int l, const char *what)
{
	char buf[16];
	int c = accept(l, NULL, NULL);

	if (c < 0 || recv(c, buf, sizeof(buf), 0) != 5 || memcmp(buf, "hello", 5) ||
	    send(c, "world!", 6, 0) != 6) {
		pr_perror("%s: no exchange with a client", what);
		return -1;
	}
	close(c);
	return 0;
}

static int exchange(int lp, int la, int ld)
{
	char buf[16];
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		pr_perror("fork");
		return -1;
	}
	if (pid == 0)
		_exit(client());
	if (serve(lp, "path listener") || serve(la, "abstract listener"))
		return -1;
	if (recv(ld, buf, sizeof(buf), 0) != 5 || memcmp(buf, "dgram", 5)) {
		fail("the bound datagram socket got no datagram");
		return -1;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the client failed (status %x)", status);
		return -1;
	}
	return 0;
}

/* A unix listener takes backlog + 1 connections before it refuses. */
static int check_backlog(int l)
{
	int fds[64], n, i, c;

	for (n = 0; n < 64; n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fds[n], (struct sockaddr *)&path_addr, path_len)) {
			close(fds[n]);
			break;
		}
	}
	if (n < BACKLOG || n > BACKLOG + 2)
		fail("the listener took %d pending connections, backlog %d", n, BACKLOG);
	for (i = 0; i < n; i++) {
		close(fds[i]);
		c = accept(l, NULL, NULL);
		if (c >= 0)
			close(c);
	}
	return n < BACKLOG || n > BACKLOG + 2 ? -1 : 0;
}

int main(int argc, char **argv)
{
	char name[256];
	struct stat st;
	int lp, la, lg, ld;

	test_init(argc, argv);
	path_len = make_addr(&path_addr, test_filename, false);
	snprintf(name, sizeof(name), "%s.abs", test_filename);
	abs_len = make_addr(&abs_addr, name, true);
	snprintf(name, sizeof(name), "%s.gone", test_filename);
	gone_len = make_addr(&gone_addr, name, false);
	snprintf(name, sizeof(name), "%s.dg", test_filename);
	dg_len = make_addr(&dg_addr, name, false);
	unlink(dg_addr.sun_path);
	ld = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (ld < 0 || bind(ld, (struct sockaddr *)&dg_addr, dg_len)) {
		pr_perror("bind %s", dg_addr.sun_path);
		return 1;
	}

	unlink(test_filename);
	unlink(gone_addr.sun_path);
	lp = listener(SOCK_STREAM, &path_addr, path_len, BACKLOG);
	la = listener(SOCK_SEQPACKET, &abs_addr, abs_len, 3);
	lg = listener(SOCK_STREAM, &gone_addr, gone_len, 2);
	if (lp < 0 || la < 0 || lg < 0)
		return 1;
	if (chmod(test_filename, 0640) || unlink(gone_addr.sun_path)) {
		pr_perror("chmod/unlink");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_name(lp, &path_addr, path_len, "path listener") ||
	    check_name(la, &abs_addr, abs_len, "abstract listener") ||
	    check_name(lg, &gone_addr, gone_len, "listener of a removed file") ||
	    check_name(ld, &dg_addr, dg_len, "bound datagram socket"))
		return 1;
	if (stat(test_filename, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0640 ||
	    st.st_uid != geteuid() || st.st_gid != getegid()) {
		fail("%s is not a socket of mode 0640 owned by us any more", test_filename);
		return 1;
	}
	if (!lstat(gone_addr.sun_path, &st) || errno != ENOENT) {
		fail("the removed socket file is back");
		return 1;
	}
	if (exchange(lp, la, ld) || check_backlog(lp))
		return 1;
	pass();
	return 0;
}
