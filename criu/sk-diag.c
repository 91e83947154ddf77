// SPDX-License-Identifier: GPL-2.0
/*
 * sock_diag (NETLINK_SOCK_DIAG) for unix sockets, spoken through libnl:
 * one dump request lists every unix socket of criu's net namespace with
 * its name, bound file, peer, pending connections, queue lengths and
 * shutdown bits (unix_diag).
 */
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "sockets.h"

LIST_HEAD(usk_infos);
static bool usk_collected;

bool usk_infos_collected(void)
{
	return usk_collected;
}

struct usk_info *find_usk(u32 ino)
{
	struct usk_info *u;

	list_for_each_entry(u, &usk_infos, list)
		if (u->ino == ino)
			return u;
	return NULL;
}

static void take_attrs(struct usk_info *u, struct nlattr **tb)
{
	if (tb[UNIX_DIAG_NAME]) {
		int len = min(nla_len(tb[UNIX_DIAG_NAME]), (int)USK_NAME_MAX);

		memcpy(u->name, nla_data(tb[UNIX_DIAG_NAME]), len);
		/* a path comes with its NUL; an abstract name is bytes */
		if (len && u->name[0])
			len = strnlen(u->name, len);
		u->name_len = len;
	}
	if (tb[UNIX_DIAG_VFS] && nla_len(tb[UNIX_DIAG_VFS]) >= (int)sizeof(struct unix_diag_vfs)) {
		struct unix_diag_vfs *v = nla_data(tb[UNIX_DIAG_VFS]);

		u->has_vfs = true;
		u->vfs_ino = v->udiag_vfs_ino;
		u->vfs_dev = v->udiag_vfs_dev;
	}
	if (tb[UNIX_DIAG_PEER])
		u->peer = nla_get_u32(tb[UNIX_DIAG_PEER]);
	if (tb[UNIX_DIAG_ICONS] && nla_len(tb[UNIX_DIAG_ICONS]) >= (int)sizeof(u32)) {
		u->icons = xmalloc(nla_len(tb[UNIX_DIAG_ICONS]));
		if (u->icons) {
			u->nr_icons = nla_len(tb[UNIX_DIAG_ICONS]) / sizeof(u32);
			memcpy(u->icons, nla_data(tb[UNIX_DIAG_ICONS]), u->nr_icons * sizeof(u32));
		}
	}
	if (tb[UNIX_DIAG_RQLEN] &&
	    nla_len(tb[UNIX_DIAG_RQLEN]) >= (int)sizeof(struct unix_diag_rqlen)) {
		struct unix_diag_rqlen *r = nla_data(tb[UNIX_DIAG_RQLEN]);

		u->rqueue = r->udiag_rqueue;
		u->wqueue = r->udiag_wqueue;
	}
	if (tb[UNIX_DIAG_SHUTDOWN])
		u->shutdown = nla_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
}

/* libnl calls this for each socket of the dump */
static int diag_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	struct unix_diag_msg *m;
	struct usk_info *u;

	(void)arg;
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || nlmsg_datalen(h) < (int)sizeof(*m))
		return NL_SKIP;
	if (nlmsg_parse(h, sizeof(*m), tb, UNIX_DIAG_MAX, NULL))
		return NL_STOP;
	m = nlmsg_data(h);
	u = xzalloc(sizeof(*u));
	if (!u)
		return NL_STOP;
	u->ino = m->udiag_ino;
	u->type = m->udiag_type;
	u->state = m->udiag_state;
	u->fd = u->keep = -1;
	take_attrs(u, tb);
	list_add_tail(&u->list, &usk_infos);
	return NL_OK;
}

/* The listener whose connection not yet accepted has client ino, or NULL. */
struct usk_info *find_usk_listener(u32 ino)
{
	struct usk_info *u;
	u32 i;

	list_for_each_entry(u, &usk_infos, list)
		for (i = 0; i < u->nr_icons; i++)
			if (u->icons[i] == ino)
				return u;
	return NULL;
}

/*
 * One NETLINK_SOCK_DIAG dump request; cb is called for each answer.
 * Answers for criu's own net namespace only.
 */
int sock_diag_dump(const void *req, size_t len, int (*cb)(struct nl_msg *, void *), void *arg,
		   const char *what)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	int err = -NLE_NOMEM;

	if (!sk)
		goto out;
	err = nl_connect(sk, NETLINK_SOCK_DIAG);
	if (err)
		goto out;
	nl_socket_disable_auto_ack(sk);
	nl_socket_enable_msg_peek(sk);
	msg = nlmsg_alloc_simple(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP);
	err = -NLE_NOMEM;
	if (!msg || nlmsg_append(msg, (void *)req, len, NLMSG_ALIGNTO))
		goto out;
	err = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, cb, arg);
	if (!err)
		err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_recvmsgs_default(sk);
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	if (err < 0) {
		pr_err("cannot list %s with sock_diag: %s\n", what, nl_geterror(err));
		return -1;
	}
	return 0;
}

/* Every unix socket of criu's net namespace, through sock_diag. */
int collect_usk_infos(void)
{
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = ~0U,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
			      UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN,
		.udiag_cookie = { ~0U, ~0U },
	};

	if (sock_diag_dump(&req, sizeof(req), diag_msg, NULL, "unix sockets"))
		return -1;
	usk_collected = true;
	return 0;
}

void free_usk_infos(void)
{
	struct usk_info *u, *n;

	list_for_each_entry_safe(u, n, &usk_infos, list) {
		list_del(&u->list);
		if (u->keep >= 0)
			close(u->keep);
		free(u->icons);
		free(u);
	}
	usk_collected = false;
}

/* ---- inet_diag: TCP and UDP, IPv4 and IPv6 ---- */

static int inet_diag_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[INET_DIAG_MAX + 1];
	struct list_head *head = arg;
	struct inet_diag_msg *m;
	struct isk_info *i;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || nlmsg_datalen(h) < (int)sizeof(*m))
		return NL_SKIP;
	if (nlmsg_parse(h, sizeof(*m), tb, INET_DIAG_MAX, NULL))
		return NL_STOP;
	m = nlmsg_data(h);
	i = xzalloc(sizeof(*i));
	if (!i)
		return NL_STOP;
	i->ino = m->idiag_inode;
	i->family = m->idiag_family;
	i->state = m->idiag_state;
	i->sport = ntohs(m->id.idiag_sport);
	i->dport = ntohs(m->id.idiag_dport);
	memcpy(i->src, m->id.idiag_src, sizeof(i->src));
	memcpy(i->dst, m->id.idiag_dst, sizeof(i->dst));
	i->ifindex = m->id.idiag_if;
	i->rqueue = m->idiag_rqueue;
	i->wqueue = m->idiag_wqueue;
	if (tb[INET_DIAG_SHUTDOWN])
		i->shutdown = nla_get_u8(tb[INET_DIAG_SHUTDOWN]);
	if (tb[INET_DIAG_SKV6ONLY]) {
		i->has_v6only = true;
		i->v6only = nla_get_u8(tb[INET_DIAG_SKV6ONLY]);
	}
	if (tb[INET_DIAG_PROTOCOL])
		i->proto = nla_get_u8(tb[INET_DIAG_PROTOCOL]);
	list_add_tail(&i->list, head);
	return NL_OK;
}

int collect_isk_infos(struct list_head *head)
{
	static const int families[] = { AF_INET, AF_INET6 };
	static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct isk_info *i;
	size_t f, p;

	for (f = 0; f < ARRAY_SIZE(families); f++)
		for (p = 0; p < ARRAY_SIZE(protos); p++) {
			struct inet_diag_req_v2 req = {
				.sdiag_family = families[f],
				.sdiag_protocol = protos[p],
				.idiag_states = ~0U,
			};
			struct list_head *last = head->prev;

			if (sock_diag_dump(&req, sizeof(req), inet_diag_msg, head,
					   "inet sockets"))
				return -1;
			/* the protocol attribute is not sent by older kernels */
			for (i = list_entry(last->next, struct isk_info, list); &i->list != head;
			     i = list_entry(i->list.next, struct isk_info, list))
				i->proto = protos[p];
		}
	return 0;
}
