// SPDX-License-Identifier: GPL-2.0-only
/*
 * A net namespace of the test's own with a veth pair, both ends in it:
 * MTU 1400 and set MACs, IPv4 and IPv6 addresses, a route through a
 * gateway (IPv4 and IPv6), a rule, forwarding on, a hop limit, both ends
 * up; lo up; a second pair with one end up (no carrier) at MTU 9000 and an
 * address, the other end down.  Afterwards `ip` must print the same links (with flags, MTU,
 * MAC), addresses, routes and rules as before (as sets of lines: the
 * order of equal routes of two devices says only which came up first),
 * and the sysctls must hold.  net_veth01 (NET_VETH_LISTEN) also has TCP
 * listeners bound to the veth's IPv4 and IPv6 addresses, each of which
 * must accept a connection from the other end's address with bytes both
 * ways.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

static const char *const setup[] = {
	"ip link set lo up",
	"ip link add zv0 type veth peer name zv1",
	"ip link set zv0 mtu 1400 address 02:00:00:00:be:01",
	"ip link set zv1 mtu 1400 address 02:00:00:00:be:02",
	"ip addr add 10.66.0.1/24 dev zv0",
	"ip addr add 10.66.1.2/24 dev zv1",
	"ip addr add fd66::1/64 dev zv0 nodad",
	"ip addr add fd66:1::2/64 dev zv1",
	"ip link set zv0 up",
	"ip link set zv1 up",
	"ip route add 10.67.0.0/16 via 10.66.0.9 dev zv0",
	"ip -6 route add fd67::/64 via fd66::9 dev zv0",
	"ip rule add from 10.66.0.0/24 table main priority 1000",
	"ip link add zv2 type veth peer name zv3",
	"ip addr add 10.68.0.1/24 dev zv2",
	"ip link set zv2 mtu 9000 up",
	"echo 1 > /proc/sys/net/ipv4/conf/all/forwarding",
	"echo 33 > /proc/sys/net/ipv6/conf/zv1/hop_limit",
};

static const char *const views[] = {
	"ip -o link", "ip -o addr", "ip route", "ip -6 route", "ip rule",
};

#define VIEW_MAX 8192

static char before[ARRAY_SIZE(views)][VIEW_MAX];

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The output of cmd, its lines sorted. */
static int view(const char *cmd, char *buf)
{
	char raw[VIEW_MAX], *lines[256], *save, *l;
	FILE *f = popen(cmd, "r");
	size_t n, i, off = 0;

	if (!f)
		return -1;
	n = fread(raw, 1, VIEW_MAX - 1, f);
	raw[n] = '\0';
	if (pclose(f))
		return -1;
	for (n = 0, l = strtok_r(raw, "\n", &save); l && n < ARRAY_SIZE(lines);
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(lines[0]), by_text);
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		off += snprintf(buf + off, VIEW_MAX - off, "%s\n", lines[i]);
	return 0;
}

/* link-local addresses go through duplicate address detection first */
static int settled(void)
{
	char buf[VIEW_MAX];
	int i;

	for (i = 0; i < 500; i++) {
		if (view("ip -o addr", buf))
			return -1;
		if (!strstr(buf, "tentative"))
			return 0;
		usleep(10000);
	}
	return -1;
}

#ifdef NET_VETH_LISTEN
static void fill_addr(int family, const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &a->sin_addr);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		*len = sizeof(*a);
	}
}

static int listen_on(int family, const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
	int s = socket(family, SOCK_STREAM, 0);

	fill_addr(family, addr, ss, len);
	if (s < 0 || bind(s, (struct sockaddr *)ss, *len) || listen(s, 4) ||
	    getsockname(s, (struct sockaddr *)ss, len))
		return -1;
	return s;
}

/* From the other end's address to the listener, bytes both ways. */
static int talk(int lsk, int family, const char *from, struct sockaddr_storage *to,
		socklen_t len)
{
	struct sockaddr_storage src;
	socklen_t slen;
	int c = socket(family, SOCK_STREAM, 0), a = -1, ok = -1;
	char buf[4];

	fill_addr(family, from, &src, &slen);
	if (c >= 0 && !bind(c, (struct sockaddr *)&src, slen) &&
	    !connect(c, (struct sockaddr *)to, len))
		a = accept(lsk, NULL, NULL);
	if (a >= 0 && write(c, "ping", 4) == 4 && read(a, buf, 4) == 4 && !memcmp(buf, "ping", 4) &&
	    write(a, "pong", 4) == 4 && read(c, buf, 4) == 4 && !memcmp(buf, "pong", 4))
		ok = 0;
	if (c >= 0)
		close(c);
	if (a >= 0)
		close(a);
	return ok;
}

#endif

static int sysctl_is(const char *path, int want)
{
	char buf[32];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	return atoi(buf) == want;
}

int main(int argc, char **argv)
{
#ifdef NET_VETH_LISTEN
	struct sockaddr_storage a4, a6;
	socklen_t l4, l6;
	int s4, s6;
#endif
	char after[VIEW_MAX];
	size_t i;

	test_init(argc, argv);
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	if (unshare(CLONE_NEWNET)) {
		fail("cannot make a net namespace");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(setup); i++)
		if (system(setup[i])) {
			fail("setup: %s", setup[i]);
			return 1;
		}
	if (settled()) {
		fail("addresses still tentative");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(views); i++)
		if (view(views[i], before[i])) {
			fail("%s", views[i]);
			return 1;
		}
#ifdef NET_VETH_LISTEN
	s4 = listen_on(AF_INET, "10.66.0.1", &a4, &l4);
	s6 = listen_on(AF_INET6, "fd66::1", &a6, &l6);
	if (s4 < 0 || s6 < 0) {
		fail("cannot listen on the veth's addresses");
		return 1;
	}
#endif

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(views); i++) {
		if (view(views[i], after) || strcmp(before[i], after)) {
			fail("%s after restore:\n%s\nbefore:\n%s", views[i], after, before[i]);
			return 1;
		}
	}
	if (!sysctl_is("/proc/sys/net/ipv4/conf/all/forwarding", 1) ||
	    !sysctl_is("/proc/sys/net/ipv6/conf/zv1/hop_limit", 33)) {
		fail("the sysctls are not as set");
		return 1;
	}
#ifdef NET_VETH_LISTEN
	if (talk(s4, AF_INET, "10.66.1.2", &a4, l4) || talk(s6, AF_INET6, "fd66:1::2", &a6, l6)) {
		fail("no connection to the listeners on the veth");
		return 1;
	}
#endif
	pass();
	return 0;
}
