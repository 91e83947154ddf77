// SPDX-License-Identifier: GPL-2.0
/*
 * A net namespace of the tree's own: loopback and veth devices (any other
 * kind is refused by name), with their MTU, MAC, flags and conf sysctls
 * (netdev-ID.img), the namespace's sysctls (netns-ID.img), addresses,
 * routes and rules (net-route.c).  Read over rtnetlink from a child of
 * criu that joined the namespace.
 *
 * A veth's peer is either in the namespace too, and both come back as a
 * pair, or outside, and then the restore makes it in criu's namespace,
 * named as --external veth[IN]:OUT[@BRIDGE] says, or as the peer was
 * named at dump.  A child of criu does all of it in the new namespace
 * before the root goes on, so the tree's inet sockets (sk-inet.c, in the
 * root) find their addresses.  One kind of the table in namespaces.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "external.h"
#include "image.h"
#include "namespaces.h"
#include "net-lock.h"
#include "net-ns.h"
#include "sockets.h"

static u32 dump_id;
static struct nl_sock *host_sk;	/* rtnetlink in criu's namespace */

/* What the child in the namespace tells the dump: a refusal, or a veth out. */
struct ns_verdict {
	char refused[200];
	bool veth_out;
};

static struct ns_verdict verdict;

static struct nl_sock *rtnl_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk || nl_connect(sk, NETLINK_ROUTE)) {
		pr_err("cannot open an rtnetlink socket\n");
		if (sk)
			nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* ---- dump ---- */

/* The peer's name, if it is a veth in criu's namespace paired with ours. */
static char *host_peer_name(int peer, int ifindex)
{
	struct rtnl_link *hl = NULL;
	char *name = NULL;
	int32_t nsid;

	if (host_sk && !rtnl_link_get_kernel(host_sk, peer, NULL, &hl) &&
	    !strcmp(rtnl_link_get_type(hl) ?: "", "veth") && rtnl_link_get_link(hl) == ifindex &&
	    !rtnl_link_get_link_netnsid(hl, &nsid))
		name = strdup(rtnl_link_get_name(hl));
	if (hl)
		rtnl_link_put(hl);
	return name;
}

static int dump_veth(struct rtnl_link *l, NetDeviceEntry *nd)
{
	int32_t nsid;

	nd->type = ND_TYPE__VETH;
	nd->has_peer_ifindex = true;
	nd->peer_ifindex = rtnl_link_get_link(l);
	if (rtnl_link_get_link_netnsid(l, &nsid)) {
		/* no netnsid: the peer is here too */
		nd->has_peer_nsid = true;
		nd->peer_nsid = dump_id;
		pr_info("veth %s: its peer is ifindex %u of the namespace\n", nd->name,
			nd->peer_ifindex);
		return 0;
	}
	verdict.veth_out = true;
	nd->peer_name = host_peer_name(nd->peer_ifindex, nd->ifindex);
	pr_info("veth %s: its peer is outside (netnsid %d, ifindex %u%s%s)\n", nd->name, nsid,
		nd->peer_ifindex, nd->peer_name ? ", in criu's namespace as " : "",
		nd->peer_name ?: "");
	return 0;
}

static int dump_link(struct rtnl_link *l, struct cr_img *img)
{
	NetDeviceEntry nd = NET_DEVICE_ENTRY__INIT;
	const char *kind = rtnl_link_get_type(l);
	struct nl_addr *mac = rtnl_link_get_addr(l);
	int ret = -1;

	nd.ifindex = rtnl_link_get_ifindex(l);
	nd.mtu = rtnl_link_get_mtu(l);
	nd.flags = rtnl_link_get_flags(l);
	nd.name = (char *)(rtnl_link_get_name(l) ?: "?");
	if (rtnl_link_get_arptype(l) == ARPHRD_LOOPBACK) {
		nd.type = ND_TYPE__LOOPBACK;
	} else if (kind && !strcmp(kind, "veth")) {
		if (dump_veth(l, &nd))
			return -1;
		if (mac) {
			nd.has_address = true;
			nd.address.data = nl_addr_get_binary_addr(mac);
			nd.address.len = nl_addr_get_len(mac);
		}
	} else {
		snprintf(verdict.refused, sizeof(verdict.refused),
			 "unsupported: net device %s of kind %s", nd.name, kind ?: "none");
		return 0;
	}
	if (dump_dev_conf(nd.name, &nd.conf4, &nd.n_conf4, &nd.conf6, &nd.n_conf6))
		goto out;
	pr_info("net device %s: ifindex %u, mtu %u, %s\n", nd.name, nd.ifindex, nd.mtu,
		nd.flags & IFF_UP ? "up" : "down");
	ret = pb_write(img, &nd);
out:
	free_dev_conf(nd.conf4, nd.n_conf4, nd.conf6, nd.n_conf6);
	free(nd.peer_name);
	return ret;
}

static int dump_links(struct nl_sock *sk)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	struct cr_img *img;
	int ret = -1;

	if (rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache)) {
		pr_err("cannot list the links of the net namespace\n");
		return -1;
	}
	img = open_image(CR_FD_NETDEV, O_DUMP, (unsigned long)dump_id);
	if (!img)
		goto out;
	ret = 0;
	for (o = nl_cache_get_first(cache); o && !ret && !verdict.refused[0];
	     o = nl_cache_get_next(o))
		ret = dump_link((struct rtnl_link *)o, img);
	if (close_image(img))
		ret = -1;
out:
	nl_cache_free(cache);
	return ret;
}

static int dump_netns_conf(void)
{
	NetnsEntry ne = NETNS_ENTRY__INIT;
	int ret = -1;

	if (!dump_dev_conf("all", &ne.all_conf4, &ne.n_all_conf4, &ne.all_conf6,
			   &ne.n_all_conf6) &&
	    !dump_dev_conf("default", &ne.def_conf4, &ne.n_def_conf4, &ne.def_conf6,
			   &ne.n_def_conf6))
		ret = pb_write_image(CR_FD_NETNS, &ne.base, dump_id);
	free_dev_conf(ne.all_conf4, ne.n_all_conf4, ne.all_conf6, ne.n_all_conf6);
	free_dev_conf(ne.def_conf4, ne.n_def_conf4, ne.def_conf6, ne.n_def_conf6);
	return ret;
}

/* In the child, inside the namespace: every image of it. */
static int net_answer(int out)
{
	struct nl_sock *sk = rtnl_open();
	int ret = -1;

	if (!sk)
		return -1;
	if (dump_links(sk))
		goto out;
	if (!verdict.refused[0] && (dump_netns_conf() || dump_net_routes(sk, dump_id)))
		goto out;
	ret = write_all(out, &verdict, sizeof(verdict)) == sizeof(verdict) ? 0 : -1;
out:
	nl_socket_free(sk);
	return ret;
}

int dump_netns(pid_t pid, u32 id)
{
	struct ns_verdict v;
	ssize_t n;

	dump_id = id;
	memset(&verdict, 0, sizeof(verdict));
	host_sk = rtnl_open();	/* the child keeps it: it stays in our namespace */
	n = ask_in_ns(pid, "net", CLONE_NEWNET, net_answer, &v, sizeof(v));
	if (host_sk)
		nl_socket_free(host_sk);
	host_sk = NULL;
	if (n != sizeof(v))
		return -1;
	if (v.refused[0]) {
		pr_err("%s (pid %d)\n", v.refused, pid);
		return -1;
	}
	/* traffic from outside comes through the veth: none until the tree is gone */
	if (v.veth_out && network_lock())
		return -1;
	return 0;
}

/* ---- restore ---- */

struct rst_link {
	NetDeviceEntry *nd;
	const char *peer_out;	/* a veth's peer outside: its name (@bridge) */
	bool created;
};

static struct rst_link *rst_links;
static size_t rst_nr_links;
static NetnsEntry *rst_netns;
static u32 rst_id;

static struct rst_link *link_by_index(u32 ifindex)
{
	size_t i;

	for (i = 0; i < rst_nr_links; i++)
		if (rst_links[i].nd->ifindex == ifindex)
			return &rst_links[i];
	return NULL;
}

static int check_veth(struct rst_link *rl)
{
	NetDeviceEntry *nd = rl->nd;
	struct rst_link *p;
	char key[IFNAMSIZ + 8];

	if (nd->has_peer_nsid && nd->peer_nsid == rst_id) {
		p = link_by_index(nd->peer_ifindex);
		if (!p || p->nd->type != ND_TYPE__VETH || p->nd->peer_ifindex != nd->ifindex) {
			pr_err("netdev-%u.img: the peer (ifindex %u) of veth %s is not its pair\n",
			       rst_id, nd->peer_ifindex, nd->name);
			return -1;
		}
		return 0;
	}
	snprintf(key, sizeof(key), "veth[%s]", nd->name);
	rl->peer_out = external_value(key) ?: nd->peer_name;
	if (!rl->peer_out || !rl->peer_out[0] || strcspn(rl->peer_out, "@") >= IFNAMSIZ) {
		pr_err("veth %s had its peer outside the tree's net namespace: name it with "
		       "--external veth[%s]:NAME\n", nd->name, nd->name);
		return -1;
	}
	return 0;
}

static int take_netdev(void *msg, void *arg)
{
	struct rst_link *n = xrealloc(rst_links, (rst_nr_links + 1) * sizeof(*n));
	NetDeviceEntry *nd = msg;

	(void)arg;
	if (!n) {
		pb_free(nd);
		return -1;
	}
	rst_links = n;
	memset(&n[rst_nr_links], 0, sizeof(*n));
	n[rst_nr_links++].nd = nd;
	if (nd->type != ND_TYPE__LOOPBACK && nd->type != ND_TYPE__VETH) {
		pr_err("netdev-%u.img: unsupported device %s of type %d\n", rst_id, nd->name,
		       nd->type);
		return -1;
	}
	return 0;
}

int prepare_netns(u32 id)
{
	size_t i;

	rst_id = id;
	if (pb_read_all(CR_FD_NETDEV, O_RSTR, &net_device_entry__descriptor, take_netdev, NULL,
			(unsigned long)id) ||
	    pb_read_image(CR_FD_NETNS, O_RSTR | O_OPT, (void **)&rst_netns,
			  &netns_entry__descriptor, id) < 0)
		return -1;
	for (i = 0; i < rst_nr_links; i++)
		if (rst_links[i].nd->type == ND_TYPE__VETH && check_veth(&rst_links[i]))
			return -1;
	return 0;
}

static void set_link_attrs(struct rtnl_link *l, NetDeviceEntry *nd)
{
	rtnl_link_set_name(l, nd->name);
	rtnl_link_set_ifindex(l, nd->ifindex);
	rtnl_link_set_mtu(l, nd->mtu);
	if (nd->has_address) {
		struct nl_addr *a = nl_addr_build(AF_LLC, nd->address.data, nd->address.len);

		if (a) {
			rtnl_link_set_addr(l, a);
			nl_addr_put(a);
		}
	}
}

/* OUT@BRIDGE: the peer made outside joins the bridge there. */
static int peer_to_bridge(const char *out, const char *bridge)
{
	struct rtnl_link *pl = NULL, *br = NULL, *change = rtnl_link_alloc();
	int ret = -1;

	if (!change || rtnl_link_get_kernel(host_sk, 0, out, &pl) ||
	    rtnl_link_get_kernel(host_sk, 0, bridge, &br)) {
		pr_err("veth peer %s: no %s in criu's net namespace\n", out, pl ? bridge : out);
		goto out;
	}
	rtnl_link_set_master(change, rtnl_link_get_ifindex(br));
	ret = rtnl_link_change(host_sk, pl, change, 0);
	if (ret)
		pr_err("cannot put veth peer %s into bridge %s: %s\n", out, bridge,
		       nl_geterror(ret));
	else
		pr_info("veth peer %s is in bridge %s\n", out, bridge);
out:
	if (pl)
		rtnl_link_put(pl);
	if (br)
		rtnl_link_put(br);
	if (change)
		rtnl_link_put(change);
	return ret ? -1 : 0;
}

/*
 * A dumped net namespace is destroyed by the kernel a moment after its
 * last task: the old peer may still hold the name outside for a while.
 */
static int add_veth(struct nl_sock *sk, struct rtnl_link *l, bool peer_out)
{
	u64 deadline = now_us() + 3000000;
	int err;

	while ((err = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL)) == -NLE_EXIST &&
	       peer_out && now_us() < deadline)
		usleep(10000);
	return err;
}

static int make_veth(struct nl_sock *sk, struct rst_link *rl, int host_ns)
{
	struct rtnl_link *l = rtnl_link_veth_alloc(), *peer;
	char out[IFNAMSIZ];
	int err;

	if (!l)
		return -1;
	peer = rtnl_link_veth_get_peer(l);
	set_link_attrs(l, rl->nd);
	if (!rl->peer_out) {
		struct rst_link *p = link_by_index(rl->nd->peer_ifindex);

		set_link_attrs(peer, p->nd);
		p->created = true;
		snprintf(out, sizeof(out), "%s", p->nd->name);
	} else {
		snprintf(out, sizeof(out), "%.*s", (int)strcspn(rl->peer_out, "@"), rl->peer_out);
		rtnl_link_set_name(peer, out);
		rtnl_link_set_mtu(peer, rl->nd->mtu);
		rtnl_link_set_ns_fd(peer, host_ns);
	}
	err = add_veth(sk, l, rl->peer_out != NULL);
	rtnl_link_put(peer);
	rtnl_link_put(l);
	if (err) {
		pr_err("cannot make veth %s with its peer %s%s: %s%s\n", rl->nd->name, out,
		       rl->peer_out ? " in criu's net namespace" : "", nl_geterror(err),
		       err == -NLE_PERM && rl->peer_out ?
			       " (criu needs CAP_NET_ADMIN over its own net namespace for the peer)" :
			       "");
		return -1;
	}
	rl->created = true;
	pr_info("veth %s (ifindex %u) made, its peer %s %s\n", rl->nd->name, rl->nd->ifindex,
		out, rl->peer_out ? "in criu's net namespace" : "beside it");
	if (rl->peer_out && strchr(rl->peer_out, '@'))
		return peer_to_bridge(out, strchr(rl->peer_out, '@') + 1);
	return 0;
}

/* MTU and flags of a link that is there; IFF_UP last, after the addresses. */
static int change_link(struct nl_sock *sk, NetDeviceEntry *nd, bool flags)
{
	const unsigned int settable = IFF_UP | IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI |
				      IFF_MULTICAST;
	struct rtnl_link *l = NULL, *change = rtnl_link_alloc();
	int err = -1;

	if (!change || rtnl_link_get_kernel(sk, nd->ifindex, NULL, &l)) {
		pr_err("net device %s (ifindex %u) is not in the new namespace\n", nd->name,
		       nd->ifindex);
		goto out;
	}
	if (flags) {
		rtnl_link_set_flags(change, nd->flags & settable);
		rtnl_link_unset_flags(change, ~nd->flags & settable);
	} else if (rtnl_link_get_mtu(l) != nd->mtu) {
		rtnl_link_set_mtu(change, nd->mtu);
	} else {
		err = 0;
		goto out;
	}
	err = rtnl_link_change(sk, l, change, 0);
	if (err)
		pr_err("cannot set the %s of %s: %s\n", flags ? "flags" : "MTU", nd->name,
		       nl_geterror(err));
out:
	if (l)
		rtnl_link_put(l);
	if (change)
		rtnl_link_put(change);
	return err ? -1 : 0;
}

static int restore_links(struct nl_sock *sk, int host_ns)
{
	size_t i;

	for (i = 0; i < rst_nr_links; i++) {
		struct rst_link *rl = &rst_links[i];

		if (rl->nd->type == ND_TYPE__LOOPBACK ? change_link(sk, rl->nd, false) :
		    !rl->created && make_veth(sk, rl, host_ns))
			return -1;
	}
	for (i = 0; i < rst_nr_links; i++) {
		NetDeviceEntry *nd = rst_links[i].nd;

		if (restore_dev_conf(nd->name, nd->conf4, nd->n_conf4, nd->conf6, nd->n_conf6))
			return -1;
	}
	return 0;
}

static int link_flags_of(struct nl_sock *sk, bool loopback)
{
	size_t i;

	for (i = 0; i < rst_nr_links; i++)
		if ((rst_links[i].nd->type == ND_TYPE__LOOPBACK) == loopback &&
		    change_link(sk, rst_links[i].nd, true))
			return -1;
	return 0;
}

static bool oper_up(struct nl_sock *sk, u32 ifindex)
{
	struct rtnl_link *l = NULL;
	bool up;

	if (rtnl_link_get_kernel(sk, ifindex, NULL, &l))
		return false;
	up = rtnl_link_get_operstate(l) == IF_OPER_UP;
	rtnl_link_put(l);
	return up;
}

/*
 * A pair inside that is up gets its carrier a moment later, and then the
 * kernel runs duplicate address detection again on its IPv6 addresses
 * (at once, from a work item): wait for that while detection is still off.
 */
static void wait_carriers(struct nl_sock *sk)
{
	u64 deadline = now_us() + 2000000;
	bool waited = false;
	size_t i;

	for (i = 0; i < rst_nr_links; i++) {
		NetDeviceEntry *nd = rst_links[i].nd;

		if (nd->type != ND_TYPE__VETH || rst_links[i].peer_out || !(nd->flags & IFF_UP) ||
		    !(link_by_index(nd->peer_ifindex)->nd->flags & IFF_UP))
			continue;
		while (!oper_up(sk, nd->ifindex) && now_us() < deadline)
			usleep(2000);
		waited = true;
	}
	if (waited)
		usleep(20000);
}

static int link_flags(struct nl_sock *sk)
{
	if (link_flags_of(sk, false))
		return -1;
	wait_carriers(sk);
	return 0;
}

/* In a child of criu that joined the new namespace. */
static int restore_inside(int host_ns)
{
	NetnsEntry *ne = rst_netns;
	struct nl_sock *sk = rtnl_open();
	int ret = -1;

	if (!sk)
		return -1;
	if (ne && (restore_dev_conf("all", ne->all_conf4, ne->n_all_conf4, ne->all_conf6,
				    ne->n_all_conf6) ||
		   restore_dev_conf("default", ne->def_conf4, ne->n_def_conf4, ne->def_conf6,
				    ne->n_def_conf6)))
		goto out;
	if (restore_links(sk, host_ns) || link_flags_of(sk, true) ||
	    restore_net_addrs(sk, rst_id, link_flags) ||
	    restore_net_routes(sk, rst_id))
		goto out;
	ret = 0;
out:
	nl_socket_free(sk);
	return ret;
}

int restore_netns_from_criu(pid_t root)
{
	int host_ns, status, ret = -1;
	char path[64];
	pid_t child;

	if (!(restore_ns_flags() & CLONE_NEWNET))
		return 0;
	host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	host_sk = rtnl_open();
	if (host_ns < 0 || !host_sk)
		goto out;
	child = fork();
	if (child == 0) {
		int fd;

		log_set_pid();
		snprintf(path, sizeof(path), "/proc/%d/ns/net", root);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			pr_perror("cannot join the new net namespace of pid %d", root);
			_exit(1);
		}
		_exit(restore_inside(host_ns) ? 1 : 0);
	}
	if (child > 0 && xwaitpid(child, &status, 0) == child && WIFEXITED(status) &&
	    !WEXITSTATUS(status))
		ret = 0;
	else
		pr_err("the net namespace of pid %d could not be restored\n", root);
out:
	if (host_sk)
		nl_socket_free(host_sk);
	host_sk = NULL;
	if (host_ns >= 0)
		close(host_ns);
	return ret;
}

/* In the root, inside: the devices are there; its inet sockets come next. */
int restore_netns(void)
{
	return isk_open_in_netns();
}
