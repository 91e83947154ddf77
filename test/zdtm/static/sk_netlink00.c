// SPDX-License-Identifier: GPL-2.0-only
/*
 * Netlink sockets: a NETLINK_ROUTE socket bound to a port id of its
 * choosing, in RTMGRP_LINK, RTNLGRP_IPV4_IFADDR and group 33 (beyond the
 * 32 bind() can name), with NETLINK_PKTINFO, NETLINK_NO_ENOBUFS,
 * NETLINK_EXT_ACK, O_NONBLOCK and a receive buffer size; an autobound
 * NETLINK_GENERIC socket connected to the kernel with NETLINK_CAP_ACK and
 * NETLINK_BROADCAST_ERROR; a NETLINK_KOBJECT_UEVENT SOCK_DGRAM socket in
 * group 1 with a classic BPF filter; an unbound one; and a route socket whose request's
 * answer is still queued at dump time.  Afterwards each has its port id,
 * its groups (getsockname and NETLINK_LIST_MEMBERSHIPS), its peer, flags
 * and type, and the route and generic sockets still answer requests
 * (an RTM_GETLINK dump finds "lo", CTRL_CMD_GETFAMILY finds "nlctrl").
 * Messages are built and parsed with libnl on the restored fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "zdtmtst.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define GROUP_HIGH 33	/* RTNLGRP_BRVLAN */
#define RCVBUF 200000

static int route, gen, uev, unb, pending;
static unsigned int route_port, gen_port, uev_port;
/* NETLINK_LISTEN_ALL_NSID (CAP_NET_BROADCAST): getsockopt cannot read it; restore must set it */
static int listen_all;

static int on(int sk, int opt)
{
	int one = 1;

	if (setsockopt(sk, SOL_NETLINK, opt, &one, sizeof(one))) {
		pr_perror("setsockopt(SOL_NETLINK, %d)", opt);
		return -1;
	}
	return 0;
}

static int nl_get(int sk, int opt)
{
	socklen_t len = sizeof(int);
	int val = -1;

	if (getsockopt(sk, SOL_NETLINK, opt, &val, &len))
		return -1;
	return val;
}

static unsigned int port_of(int sk, unsigned int *groups)
{
	struct sockaddr_nl a;
	socklen_t len = sizeof(a);

	memset(&a, 0, sizeof(a));
	if (getsockname(sk, (struct sockaddr *)&a, &len))
		return ~0U;
	if (groups)
		*groups = a.nl_groups;
	return a.nl_pid;
}

/* Bound to a port of our own; the first free one of a few random tries. */
static int make_route(void)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int g = GROUP_HIGH, i, buf = RCVBUF / 2;

	route = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (route < 0) {
		pr_perror("socket(NETLINK_ROUTE)");
		return -1;
	}
	srand(time(NULL) ^ getpid());
	for (i = 0; i < 50; i++) {
		a.nl_pid = 0x40000000 + (rand() & 0xfffffff);
		if (!bind(route, (struct sockaddr *)&a, sizeof(a)))
			break;
		if (errno != EADDRINUSE) {
			pr_perror("bind the route socket");
			return -1;
		}
	}
	route_port = a.nl_pid;
	g = GROUP_HIGH;
	if (setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g))) {
		pr_perror("join group %d", g);
		return -1;
	}
	g = RTNLGRP_IPV4_IFADDR;
	if (setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) ||
	    setsockopt(route, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf))) {
		pr_perror("join group %d or set SO_RCVBUF", g);
		return -1;
	}
	if (on(route, NETLINK_PKTINFO) || on(route, NETLINK_NO_ENOBUFS) ||
	    on(route, NETLINK_EXT_ACK))
		return -1;
	g = 1;
	listen_all = !setsockopt(route, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &g, sizeof(g));
	return port_of(route, NULL) == route_port ? 0 : -1;
}

/* A classic BPF filter, as udev puts on its monitors: accept what is >= 8 bytes. */
static struct sock_filter filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 8, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static int check_filter(int sk)
{
	struct sock_filter got[8];
	socklen_t n = ARRAY_SIZE(got);

	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, got, &n) || n != ARRAY_SIZE(filter) ||
	    memcmp(got, filter, sizeof(filter))) {
		fail("uevent socket: the socket filter is not as it was (%u instructions)", n);
		return -1;
	}
	return 0;
}

static int make_others(void)
{
	struct sock_fprog prog = { .len = ARRAY_SIZE(filter), .filter = filter };
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };

	gen = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
	uev = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
	unb = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (gen < 0 || uev < 0 || unb < 0) {
		pr_perror("netlink socket");
		return -1;
	}
	/* autobound by connect, to the kernel */
	if (connect(gen, (struct sockaddr *)&a, sizeof(a)) || on(gen, NETLINK_CAP_ACK) ||
	    on(gen, NETLINK_BROADCAST_ERROR)) {
		pr_perror("connect the generic socket");
		return -1;
	}
	a.nl_groups = 1;
	if (bind(uev, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(uev, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))) {
		pr_perror("bind the uevent socket or attach its filter");
		return -1;
	}
	gen_port = port_of(gen, NULL);
	uev_port = port_of(uev, NULL);
	if (!gen_port || !uev_port || gen_port == ~0U || uev_port == ~0U) {
		fail("no autobound ports: %u %u", gen_port, uev_port);
		return -1;
	}
	return 0;
}

/*
 * Requests on a restored socket, through a libnl socket wrapped around a
 * dup of its fd (nl_socket_free closes the fd it holds).
 */
static struct nl_sock *wrap(int fd, int proto)
{
	struct nl_sock *sk = nl_socket_alloc();
	int d = dup(fd);

	if (!sk || d < 0 || nl_socket_set_fd(sk, proto, d)) {
		fail("cannot wrap fd %d in a libnl socket", fd);
		if (d >= 0)
			close(d);
		if (sk)
			nl_socket_free(sk);
		return NULL;
	}
	nl_socket_disable_auto_ack(sk);
	/* answers as large as they come */
	nl_socket_enable_msg_peek(sk);
	return sk;
}

static void unwrap(struct nl_sock *sk)
{
	nl_socket_free(sk);
}

static int found;
static unsigned int stale_seq;	/* of the answer queued at dump time */

static int link_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];

	/* notifications from the groups and stale answers carry other numbers */
	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_seq != *(unsigned int *)arg)
		return NL_OK;
	if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) == 0 &&
	    tb[IFLA_IFNAME] && !strcmp(nla_get_string(tb[IFLA_IFNAME]), "lo"))
		found = 1;
	return NL_OK;
}

/* Send RTM_GETLINK (a dump, or of ifindex 1) and say its sequence number. */
static int send_getlink(struct nl_sock *sk, int dump, unsigned int *seq)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = dump ? 0 : 1 };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETLINK, dump ? NLM_F_DUMP : 0);
	int err = -NLE_NOMEM;

	if (msg && !nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO))
		err = nl_send_auto(sk, msg);
	if (err >= 0)
		*seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	return err;
}

static int getlink(int fd)
{
	struct nl_sock *sk = wrap(fd, NETLINK_ROUTE);
	int fl = fcntl(fd, F_GETFL), err;
	unsigned int seq = 0;

	if (!sk)
		return -1;
	found = 0;
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, link_msg, &seq);
	nl_socket_disable_seq_check(sk);
	err = send_getlink(sk, 1, &seq);
	while (err >= 0 && !found)
		err = nl_recvmsgs_default(sk);
	fcntl(fd, F_SETFL, fl);
	unwrap(sk);
	if (err < 0 || !found) {
		fail("RTM_GETLINK on fd %d: %s, lo %sfound", fd, nl_geterror(err),
		     found ? "" : "not ");
		return -1;
	}
	return 0;
}

static int family_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[CTRL_ATTR_MAX + 1];

	(void)arg;
	if (nlmsg_parse(h, GENL_HDRLEN, tb, CTRL_ATTR_MAX, NULL) == 0 &&
	    tb[CTRL_ATTR_FAMILY_ID] && nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]) == GENL_ID_CTRL)
		found = 1;
	return NL_OK;
}

static int getfamily(int fd)
{
	struct genlmsghdr gh = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 };
	struct nl_sock *sk = wrap(fd, NETLINK_GENERIC);
	struct nl_msg *msg = nlmsg_alloc_simple(GENL_ID_CTRL, NLM_F_REQUEST);
	int err = -NLE_NOMEM;

	if (!sk || !msg)
		goto out;
	found = 0;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, family_msg, NULL);
	if (nlmsg_append(msg, &gh, sizeof(gh), NLMSG_ALIGNTO) ||
	    nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, "nlctrl"))
		goto out;
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
out:
	nlmsg_free(msg);
	if (sk)
		unwrap(sk);
	if (err < 0 || !found) {
		fail("CTRL_CMD_GETFAMILY on the generic socket: %s", nl_geterror(err));
		return -1;
	}
	return 0;
}

/*
 * A request whose one answer stays queued until after the restore (not a
 * dump: an unfinished dump is refused, the kernel holds its rest).
 */
static int make_pending(void)
{
	struct nl_sock *sk;
	int err;

	pending = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (pending < 0) {
		pr_perror("socket(NETLINK_ROUTE)");
		return -1;
	}
	sk = wrap(pending, NETLINK_ROUTE);
	if (!sk)
		return -1;
	err = send_getlink(sk, 0, &stale_seq);
	unwrap(sk);
	if (err < 0) {
		fail("RTM_GETLINK request: %s", nl_geterror(err));
		return -1;
	}
	return 0;
}

static int has_group(int sk, int g)
{
	unsigned int bits[8];
	socklen_t len = sizeof(bits);

	memset(bits, 0, sizeof(bits));
	if (getsockopt(sk, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, bits, &len))
		return -1;
	return (bits[(g - 1) / 32] >> ((g - 1) % 32)) & 1;
}

static int sk_int(int sk, int opt)
{
	socklen_t len = sizeof(int);
	int val = -1;

	getsockopt(sk, SOL_SOCKET, opt, &val, &len);
	return val;
}

static int check_route(void)
{
	unsigned int groups;
	int ret = 0;

	if (port_of(route, &groups) != route_port || groups != (RTMGRP_LINK | RTMGRP_IPV4_IFADDR))
		fail("route socket: port %u groups %#x, not %u %#x", port_of(route, NULL), groups,
		     route_port, RTMGRP_LINK | RTMGRP_IPV4_IFADDR), ret = -1;
	if (has_group(route, RTNLGRP_LINK) != 1 || has_group(route, GROUP_HIGH) != 1 ||
	    has_group(route, RTNLGRP_IPV4_IFADDR) != 1 || has_group(route, RTNLGRP_NEIGH) != 0)
		fail("route socket: NETLINK_LIST_MEMBERSHIPS lost or gained groups"), ret = -1;
	if (nl_get(route, NETLINK_PKTINFO) != 1 || nl_get(route, NETLINK_NO_ENOBUFS) != 1 ||
	    nl_get(route, NETLINK_EXT_ACK) != 1 || nl_get(route, NETLINK_CAP_ACK) != 0)
		fail("route socket: NETLINK_* flags changed"), ret = -1;
	if (!(fcntl(route, F_GETFL) & O_NONBLOCK))
		fail("route socket: O_NONBLOCK lost"), ret = -1;
	if (sk_int(route, SO_RCVBUF) != RCVBUF)
		fail("route socket: SO_RCVBUF %d, not %d", sk_int(route, SO_RCVBUF), RCVBUF),
			ret = -1;
	/* libnl cannot take the NETLINK_PKTINFO control data: off for the request */
	groups = 0;
	if (setsockopt(route, SOL_NETLINK, NETLINK_PKTINFO, &groups, sizeof(groups)))
		fail("cannot clear NETLINK_PKTINFO"), ret = -1;
	return ret || getlink(route);
}

static int check_others(void)
{
	struct sockaddr_nl peer;
	socklen_t len = sizeof(peer);
	unsigned int groups;
	int ret = 0;

	memset(&peer, 0xff, sizeof(peer));
	if (port_of(gen, NULL) != gen_port || getpeername(gen, (struct sockaddr *)&peer, &len) ||
	    peer.nl_pid != 0 || peer.nl_groups != 0)
		fail("generic socket: port %u (was %u) or peer lost", port_of(gen, NULL), gen_port),
			ret = -1;
	if (sk_int(gen, SO_TYPE) != SOCK_RAW || nl_get(gen, NETLINK_CAP_ACK) != 1 ||
	    nl_get(gen, NETLINK_BROADCAST_ERROR) != 1 || nl_get(gen, NETLINK_PKTINFO) != 0)
		fail("generic socket: type or NETLINK_* flags changed"), ret = -1;
	if (port_of(uev, &groups) != uev_port || groups != 1 || has_group(uev, 1) != 1 ||
	    sk_int(uev, SO_PROTOCOL) != NETLINK_KOBJECT_UEVENT || sk_int(uev, SO_TYPE) != SOCK_DGRAM)
		fail("uevent socket: port %u groups %#x, not %u 0x1", port_of(uev, NULL), groups,
		     uev_port), ret = -1;
	if (port_of(unb, &groups) != 0 || groups != 0 || sk_int(unb, SO_PROTOCOL) != NETLINK_ROUTE)
		fail("the unbound socket is bound now (port %u)", port_of(unb, NULL)), ret = -1;
	return ret || check_filter(uev) || getfamily(gen) || getlink(pending) ? -1 : 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (make_route() || make_others() || make_pending())
		return 1;
	test_msg("route port %u, generic %u, uevent %u, listen_all_nsid %d, queued seq %u\n",
		 route_port, gen_port, uev_port, listen_all, stale_seq);
	test_daemon();
	test_waitsig();
	if (check_route() || check_others())
		return 1;
	pass();
	return 0;
}
