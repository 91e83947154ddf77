// SPDX-License-Identifier: GPL-2.0
/*
 * A net namespace of the tree's own: only loopback, its flags read over
 * rtnetlink from a child of criu inside it, and brought up again by the
 * root of the restored tree, which then makes the tree's inet sockets
 * there (sk-inet.c).  One kind of the table in namespaces.c.
 */
#include <linux/if_arp.h>
#include <linux/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_options.h"
#include "external.h"
#include "image.h"
#include "namespaces.h"
#include "netdev.pb-c.h"
#include "sockets.h"

static NetDeviceEntry **rst_netdevs;
static int ext_netns_fd = -1;	/* --inherit-fd of an external namespace */
static size_t rst_nr_netdevs;

struct link_rec {
	int ifindex;
	unsigned int flags, mtu, arptype;
	char name[IFNAMSIZ];
};

static void send_link(struct nl_object *obj, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)obj;
	struct link_rec r;

	memset(&r, 0, sizeof(r));
	r.ifindex = rtnl_link_get_ifindex(l);
	r.flags = rtnl_link_get_flags(l);
	r.mtu = rtnl_link_get_mtu(l);
	r.arptype = rtnl_link_get_arptype(l);
	snprintf(r.name, sizeof(r.name), "%s", rtnl_link_get_name(l) ?: "?");
	write_all(*(int *)arg, &r, sizeof(r));
}

/* Every link of the namespace, through rtnetlink. */
static int net_answer(int out)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	int ret = -1;

	if (!sk || nl_connect(sk, NETLINK_ROUTE) ||
	    rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache))
		goto out;
	nl_cache_foreach(cache, send_link, &out);
	ret = 0;
out:
	if (cache)
		nl_cache_free(cache);
	if (sk)
		nl_socket_free(sk);
	return ret;
}

/* --external net[INO]:NAME: the namespace is the caller's; only its name is kept */
static int dump_ext_netns(pid_t pid, u32 id, NetnsEntry *ne)
{
	char path[64], key[64];
	const char *name;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &st)) {
		pr_perror("cannot stat %s", path);
		return -1;
	}
	snprintf(key, sizeof(key), "net[%lu]", (unsigned long)st.st_ino);
	name = external_value(key);
	if (!name)
		return 0;
	ne->ext_key = (char *)(*name ? name : key);
	pr_info("net namespace %s is external, restored as %s\n", key, ne->ext_key);
	return pb_write_image(CR_FD_NETNS, &ne->base, id) ? -1 : 1;
}

int dump_netns(pid_t pid, u32 id)
{
	NetnsEntry ne = NETNS_ENTRY__INIT;
	struct link_rec recs[16];
	struct cr_img *img;
	ssize_t n;
	int i, ret;

	ret = dump_ext_netns(pid, id, &ne);
	if (ret)
		return ret < 0 ? -1 : 0;
	n = ask_in_ns(pid, "net", CLONE_NEWNET, net_answer, recs, sizeof(recs));
	if (n < 0)
		return -1;
	img = open_image(CR_FD_NETDEV, O_DUMP, (unsigned long)id);
	if (!img)
		return -1;
	ret = 0;
	for (i = 0; i < (int)(n / sizeof(recs[0])) && !ret; i++) {
		NetDeviceEntry nd = NET_DEVICE_ENTRY__INIT;

		if (recs[i].arptype != ARPHRD_LOOPBACK && (opts.empty_ns & CLONE_NEWNET)) {
			pr_info("net namespace: %s left out (--empty-ns net)\n", recs[i].name);
			continue;
		}
		if (recs[i].arptype != ARPHRD_LOOPBACK) {
			pr_err("unsupported: the net namespace of pid %d has device %s\n", pid,
			       recs[i].name);
			ret = -1;
			break;
		}
		nd.type = ND_TYPE__LOOPBACK;
		nd.ifindex = recs[i].ifindex;
		nd.mtu = recs[i].mtu;
		nd.flags = recs[i].flags;
		nd.name = recs[i].name;
		pr_info("net namespace: %s is %s\n", recs[i].name,
			recs[i].flags & IFF_UP ? "up" : "down");
		ret = pb_write(img, &nd);
	}
	if (close_image(img))
		ret = -1;
	return ret ? -1 : pb_write_image(CR_FD_NETNS, &ne.base, id);
}

/* An external namespace: the fd the caller gave for its name, or an error. */
static int prepare_ext_netns(u32 id)
{
	NetnsEntry *ne = NULL;
	int ret;

	ret = pb_read_image(CR_FD_NETNS, O_RSTR | O_OPT, (void **)&ne, &netns_entry__descriptor,
			    (unsigned long)id);
	if (ret < 0)
		return -1;
	if (!ne || !ne->ext_key) {
		if (ne)
			pb_free(ne);
		return 0;
	}
	ext_netns_fd = inherit_fd_dup(ne->ext_key);
	if (ext_netns_fd < 0)
		pr_err("the net namespace was external (%s): restore needs --inherit-fd "
		       "fd[N]:%s with a net namespace fd\n", ne->ext_key, ne->ext_key);
	pb_free(ne);
	return ext_netns_fd < 0 ? -1 : 1;
}

/* The devices of the net namespace: only loopback. */
int prepare_netns(u32 id)
{
	struct cr_img *img;
	int ret;

	ret = prepare_ext_netns(id);
	if (ret)
		return ret < 0 ? -1 : 0;
	img = open_image(CR_FD_NETDEV, O_RSTR, (unsigned long)id);
	if (!img)
		return -1;
	for (;;) {
		NetDeviceEntry *nd, **n;

		ret = pb_read_one_eof(img, (void **)&nd, &net_device_entry__descriptor);
		if (ret <= 0)
			break;
		n = xrealloc(rst_netdevs, (rst_nr_netdevs + 1) * sizeof(*n));
		if (!n) {
			pb_free(nd);
			ret = -1;
			break;
		}
		rst_netdevs = n;
		rst_netdevs[rst_nr_netdevs++] = nd;
		if (nd->type != ND_TYPE__LOOPBACK) {
			pr_err("%s: unsupported device %s of type %d\n", img->name, nd->name,
			       nd->type);
			ret = -1;
			break;
		}
	}
	close_image(img);
	return ret < 0 ? -1 : 0;
}

static int restore_loopback(void)
{
	struct nl_sock *sk = NULL;
	struct rtnl_link *lo = NULL, *change = NULL;
	size_t i;
	int ret = -1;

	for (i = 0; i < rst_nr_netdevs; i++)
		if (rst_netdevs[i]->flags & IFF_UP)
			break;
	if (i == rst_nr_netdevs)
		return 0;	/* a new namespace's loopback is down already */
	sk = nl_socket_alloc();
	change = rtnl_link_alloc();
	if (!sk || !change || nl_connect(sk, NETLINK_ROUTE) ||
	    rtnl_link_get_kernel(sk, 0, rst_netdevs[i]->name, &lo)) {
		pr_err("cannot find %s in the new net namespace\n", rst_netdevs[i]->name);
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	if (rtnl_link_change(sk, lo, change, 0)) {
		pr_err("cannot bring %s up\n", rst_netdevs[i]->name);
		goto out;
	}
	ret = 0;
out:
	if (lo)
		rtnl_link_put(lo);
	if (change)
		rtnl_link_put(change);
	if (sk)
		nl_socket_free(sk);
	return ret;
}

/* In the root: the caller's namespace replaces the new one it was cloned into. */
static int join_ext_netns(void)
{
	if (setns(ext_netns_fd, CLONE_NEWNET)) {
		pr_perror("cannot join the external net namespace");
		return -1;
	}
	close(ext_netns_fd);
	ext_netns_fd = -1;
	pr_info("in the external net namespace\n");
	return 0;
}

int restore_netns(void)
{
	if (ext_netns_fd >= 0)
		return join_ext_netns() || isk_open_in_netns() ? -1 : 0;
	return restore_loopback() || isk_open_in_netns() ? -1 : 0;
}
