/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_NET_NS_H
#define CR_NET_NS_H

#include <stdbool.h>
#include <netlink/netlink.h>

#include "netdev.pb-c.h"
#include "util.h"

/*
 * The parts of a net namespace of the tree's own.  Everything here runs
 * in a child of criu that joined the namespace, with an rtnetlink socket
 * of that namespace.
 */

/* net-route.c: ifaddr, route, route6 and rule images (iproute2's save format) */
int dump_net_routes(struct nl_sock *sk, u32 id);
/*
 * The addresses, IPv6 ones without duplicate address detection; then
 * links_up() sets the flags of the links (but loopback, which is up
 * before: on a loopback going up the kernel makes ::1 itself).
 */
int restore_net_addrs(struct nl_sock *sk, u32 id, int (*links_up)(struct nl_sock *sk));
/* Routes and rules, once the links are up. */
int restore_net_routes(struct nl_sock *sk, u32 id);
/* Send one request and wait for its answer: 0 or a negative errno. */
int nl_request(struct nl_sock *sk, struct nl_msg *msg);

/* net-sysctl.c: ipv4/ipv6 conf of a device ("all", "default" or a name) */
int dump_dev_conf(const char *dev, SysctlEntry ***conf4, size_t *n4, SysctlEntry ***conf6,
		  size_t *n6);
void free_dev_conf(SysctlEntry **conf4, size_t n4, SysctlEntry **conf6, size_t n6);
/* Writes only the values that differ from what the kernel has now. */
int restore_dev_conf(const char *dev, SysctlEntry **conf4, size_t n4, SysctlEntry **conf6,
		     size_t n6);
/* ipv6 conf NAME/accept_dad: read into *old and set to val (old NULL: just set) */
int set_accept_dad(const char *dev, int val, int *old);

#endif
