// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets that no kind took: refused with their family named, so the
 * user learns what it was (a packet socket, AF_VSOCK, ...), not only
 * "socket:[INODE]".  Packet sockets (AF_PACKET) are not supported: their
 * rings, fanout groups and bound devices are all state of their own.
 */
#include <stdio.h>
#include <sys/socket.h>

#include "sockets.h"

static const char *const family_names[] = {
	[AF_UNIX] = "AF_UNIX", [AF_INET] = "AF_INET", [AF_AX25] = "AF_AX25",
	[AF_IPX] = "AF_IPX", [AF_APPLETALK] = "AF_APPLETALK", [AF_X25] = "AF_X25",
	[AF_INET6] = "AF_INET6", [AF_DECnet] = "AF_DECnet", [AF_KEY] = "AF_KEY",
	[AF_NETLINK] = "AF_NETLINK", [AF_PACKET] = "AF_PACKET", [AF_RDS] = "AF_RDS",
	[AF_PPPOX] = "AF_PPPOX", [AF_LLC] = "AF_LLC", [AF_IB] = "AF_IB", [AF_MPLS] = "AF_MPLS",
	[AF_CAN] = "AF_CAN", [AF_TIPC] = "AF_TIPC", [AF_BLUETOOTH] = "AF_BLUETOOTH",
	[AF_IUCV] = "AF_IUCV", [AF_RXRPC] = "AF_RXRPC", [AF_ISDN] = "AF_ISDN",
	[AF_PHONET] = "AF_PHONET", [AF_IEEE802154] = "AF_IEEE802154", [AF_CAIF] = "AF_CAIF",
	[AF_ALG] = "AF_ALG", [AF_NFC] = "AF_NFC", [AF_VSOCK] = "AF_VSOCK", [AF_KCM] = "AF_KCM",
	[AF_QIPCRTR] = "AF_QIPCRTR", [AF_SMC] = "AF_SMC", [AF_XDP] = "AF_XDP",
	[45] = "AF_MCTP",
};

static const char *family_name(int family)
{
	if (family >= 0 && family < (int)ARRAY_SIZE(family_names) && family_names[family])
		return family_names[family];
	return "unknown";
}

static const char *type_name(int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_RAW:
		return "raw";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_RDM:
		return "rdm";
	case SOCK_PACKET:
		return "packet";
	}
	return "unknown type";
}

static int sk_int(int sk, int opt)
{
	socklen_t len = sizeof(int);
	int val;

	return getsockopt(sk, SOL_SOCKET, opt, &val, &len) ? -1 : val;
}

void refuse_socket(const struct fd_parms *p)
{
	int family = p->lfd >= 0 ? sk_int(p->lfd, SO_DOMAIN) : -1;
	int type = p->lfd >= 0 ? sk_int(p->lfd, SO_TYPE) : -1;
	int proto = p->lfd >= 0 ? sk_int(p->lfd, SO_PROTOCOL) : -1;

	if (family < 0) {
		pr_err("unsupported: pid %d fd %d is a socket (%s) of a family criu cannot ask "
		       "about\n", p->pid, p->fd, p->link);
		return;
	}
	if (family == AF_PACKET) {
		/* SO_PROTOCOL says 0 here: the ethertype is the packet socket's own */
		pr_err("unsupported: pid %d fd %d is a packet socket (%s)\n", p->pid, p->fd,
		       type_name(type));
		return;
	}
	pr_err("unsupported: pid %d fd %d is a socket of family %s (%d), %s, protocol %d\n",
	       p->pid, p->fd, family_name(family), family, type_name(type), proto);
}
