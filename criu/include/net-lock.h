/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_NET_LOCK_H
#define CR_NET_LOCK_H

/*
 * The network lock: while a tree's TCP connections are frozen (dump) and
 * until they are repaired again (restore), netfilter drops their packets,
 * so that no peer's retransmission meets a closed socket and resets the
 * connection. See Documentation/design.md, "The network lock".
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The values of inventory_entry.network_lock_method (CRIU's). */
enum network_lock_method {
	NETWORK_LOCK_IPTABLES = 0,
	NETWORK_LOCK_NFTABLES = 1,
	NETWORK_LOCK_SKIP = 2,
};
/* opts.network_lock_method before --network-lock: nftables if built in */
#define NETWORK_LOCK_AUTO (-1)

/* Packets with this mark pass the lock (CRIU's value, for tools that know it). */
#define NETWORK_LOCK_MARK 0xC114

/* --network-lock ARG: the method, or -1 for an unknown name. */
int network_lock_parse(const char *arg);
const char *network_lock_name(int method);

/* Dump: the root of the tree (to tell whether it has a net namespace of its own). */
void network_lock_set_root(pid_t pid);
/*
 * Dump: one connection to lock. Addresses are 4 (AF_INET) or 16 (AF_INET6)
 * bytes in network order, ports in host order, as the socket sees them
 * (src = local end). Before network_lock() they are collected; after it
 * each is locked at once.
 */
int network_lock_add(int family, const void *src, uint16_t sport, const void *dst,
		     uint16_t dport);
/* Dump: lock what was added (or the tree's whole net namespace). Before the first TCP_REPAIR. */
int network_lock(void);
/* Remove the lock of this dump (failed dump, --leave-running) or of the images (restore). */
int network_unlock(void);
/* What inventory.img records: the method, and the run id naming the lock (NULL if none). */
int network_lock_method(void);
const char *network_lock_run_id(void);

/*
 * Restore: the lock the dump left, from inventory.img. has_method false
 * (images of an old CRIU) means iptables, as CRIU assumes; run_id NULL
 * means the dump locked nothing. network_unlock() at the end removes it.
 */
int network_lock_restore_start(bool has_method, uint32_t method, const char *run_id);

#endif
