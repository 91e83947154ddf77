// SPDX-License-Identifier: GPL-2.0
/*
 * Addresses, routes and rules of a net namespace of the tree's own, in
 * CRIU's raw images: what `ip addr save`, `ip route save`, `ip -6 route
 * save` and `ip rule save` write (a u32 magic, then the kernel's netlink
 * messages as they came), so `ip ... restore` and `ip ... showdump` read
 * them too.  Dumped and restored over rtnetlink with libnl, no `ip` run.
 */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/route/rtnl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "net-ns.h"

/* the magics iproute2 puts first in its save files */
#define IFADDR_SAVE_MAGIC	0x47361222
#define ROUTE_SAVE_MAGIC	0x45311224
#define RULE_SAVE_MAGIC		0x71706986

struct raw_img {
	int type;		/* CR_FD_* */
	u32 magic;
	int get, family;	/* the dump request */
	int new_type;		/* what each entry must be */
	const char *what;
};

static const struct raw_img raw_ifaddr = { CR_FD_IFADDR, IFADDR_SAVE_MAGIC, RTM_GETADDR,
					   AF_UNSPEC, RTM_NEWADDR, "address" };
static const struct raw_img raw_route = { CR_FD_ROUTE, ROUTE_SAVE_MAGIC, RTM_GETROUTE, AF_INET,
					  RTM_NEWROUTE, "IPv4 route" };
static const struct raw_img raw_route6 = { CR_FD_ROUTE6, ROUTE_SAVE_MAGIC, RTM_GETROUTE,
					   AF_INET6, RTM_NEWROUTE, "IPv6 route" };
/* `ip rule save` saves IPv4 rules only */
static const struct raw_img raw_rule = { CR_FD_RULE, RULE_SAVE_MAGIC, RTM_GETRULE, AF_INET,
					 RTM_NEWRULE, "rule" };

/* ---- one request, its answer ---- */

static int got_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	*(int *)arg = e->error;
	return NL_STOP;
}

static int got_ack(struct nl_msg *msg, void *arg)
{
	(void)msg;
	*(int *)arg = 0;
	return NL_STOP;
}

int nl_request(struct nl_sock *sk, struct nl_msg *msg)
{
	struct nl_cb *cb = nl_cb_clone(nl_socket_get_cb(sk));
	int err = 1, ret;

	if (!cb)
		return -ENOMEM;
	nlmsg_hdr(msg)->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	ret = nl_send_auto(sk, msg);
	if (ret >= 0) {
		nl_cb_err(cb, NL_CB_CUSTOM, got_error, &err);
		nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, got_ack, &err);
		while (err == 1 && (ret = nl_recvmsgs(sk, cb)) >= 0)
			;
	}
	nl_cb_put(cb);
	if (err == 1) {
		pr_err("rtnetlink: no answer: %s\n", nl_geterror(ret));
		return -EIO;
	}
	return err;
}

/* ---- dump ---- */

struct dump_ctx {
	const struct raw_img *r;
	struct cr_img *img;
	int err;
	unsigned int n;
};

/* `ip route save` keeps the main table and no cached routes */
static bool keep_route(struct nlmsghdr *h)
{
	struct rtmsg *rt = nlmsg_data(h);
	struct nlattr *tb[RTA_MAX + 1];
	u32 table = rt->rtm_table;

	if (nlmsg_parse(h, sizeof(*rt), tb, RTA_MAX, NULL) < 0)
		return false;
	if (tb[RTA_TABLE])
		table = nla_get_u32(tb[RTA_TABLE]);
	return table == RT_TABLE_MAIN && !(rt->rtm_flags & RTM_F_CLONED);
}

static int dump_msg(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);

	if (h->nlmsg_type != d->r->new_type)
		return NL_OK;
	if (d->r->new_type == RTM_NEWROUTE && !keep_route(h))
		return NL_OK;
	if (img_write_raw(d->img, h, h->nlmsg_len))
		d->err = -1;
	d->n++;
	return NL_OK;
}

static int dump_raw(struct nl_sock *sk, const struct raw_img *r, u32 id)
{
	struct dump_ctx d = { .r = r };
	struct nl_cb *cb = NULL;
	int ret = -1, err;

	d.img = open_image(r->type, O_DUMP, (unsigned long)id);
	if (!d.img || img_write_raw(d.img, &r->magic, sizeof(r->magic)))
		goto out;
	cb = nl_cb_clone(nl_socket_get_cb(sk));
	if (!cb)
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_msg, &d);
	err = nl_rtgen_request(sk, r->get, r->family, NLM_F_DUMP);
	if (err >= 0)
		err = nl_recvmsgs(sk, cb);
	if (err < 0) {
		pr_err("cannot list the %ss of the net namespace: %s\n", r->what, nl_geterror(err));
		goto out;
	}
	pr_info("net namespace %u: %u %s(s) in %s\n", id, d.n, r->what, d.img->name);
	ret = d.err;
out:
	if (cb)
		nl_cb_put(cb);
	if (close_image(d.img))
		ret = -1;
	return ret;
}

int dump_net_routes(struct nl_sock *sk, u32 id)
{
	return dump_raw(sk, &raw_ifaddr, id) || dump_raw(sk, &raw_route, id) ||
	       dump_raw(sk, &raw_route6, id) || dump_raw(sk, &raw_rule, id) ? -1 : 0;
}

/* ---- restore ---- */

struct raw_entries {
	char *buf;
	size_t len;
	struct nlmsghdr **msgs;
	int n;
};

static void free_entries(struct raw_entries *e)
{
	free(e->buf);
	free(e->msgs);
}

/* The whole image, split into its messages; a missing one is empty. */
static int read_entries(const struct raw_img *r, u32 id, struct raw_entries *e)
{
	struct cr_img *img = open_image(r->type, O_RSTR | O_OPT, (unsigned long)id);
	size_t off, size = 0;
	ssize_t n;
	int ret = -1;

	memset(e, 0, sizeof(*e));
	if (!img)
		return -1;
	if (empty_image(img)) {
		close_image(img);
		return 0;
	}
	do {
		char *p = size - e->len < 4096 ? xrealloc(e->buf, size = size * 2 + 8192) : e->buf;

		if (!p)
			goto out;
		e->buf = p;
		n = read(img_raw_fd(img), e->buf + e->len, size - e->len);
		if (n < 0) {
			pr_perror("cannot read %s", img->name);
			goto out;
		}
		e->len += n;
	} while (n > 0);
	if (e->len < 4 || *(u32 *)e->buf != r->magic) {
		pr_err("%s: no iproute2 save magic 0x%08x at offset 0\n", img->name, r->magic);
		goto out;
	}
	for (off = 4; off < e->len; off += NLMSG_ALIGN(e->msgs[e->n - 1]->nlmsg_len)) {
		struct nlmsghdr *h = (struct nlmsghdr *)(e->buf + off), **m;

		if (e->len - off < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_HDRLEN ||
		    h->nlmsg_len > e->len - off || h->nlmsg_type != r->new_type) {
			pr_err("%s: no %s message at offset %zu\n", img->name, r->what, off);
			goto out;
		}
		m = xrealloc(e->msgs, (e->n + 1) * sizeof(*m));
		if (!m)
			goto out;
		e->msgs = m;
		e->msgs[e->n++] = h;
	}
	ret = 0;
out:
	close_image(img);
	return ret;
}

/*
 * Send one saved message as a request to make what it describes: 0, or
 * a negative errno.  What exists already (lo's address, the routes the
 * kernel made for the addresses) is fine.
 */
static int replay(struct nl_sock *sk, struct nlmsghdr *h)
{
	struct nl_msg *msg = nlmsg_alloc_simple(h->nlmsg_type, NLM_F_REQUEST | NLM_F_ACK |
						NLM_F_CREATE | NLM_F_EXCL);
	struct nlmsghdr *m;
	int err = -ENOMEM;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, nlmsg_data(h), nlmsg_datalen(h), NLMSG_ALIGNTO) < 0)
		goto out;
	m = nlmsg_hdr(msg);
	/* flags the kernel sets on what it reports and refuses in a request */
	if (m->nlmsg_type == RTM_NEWROUTE)
		((struct rtmsg *)nlmsg_data(m))->rtm_flags &=
			~(RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD | RTNH_F_TRAP);
	/* a rule of priority 0 is reported without one; unsaid, it would get a new one */
	if (m->nlmsg_type == RTM_NEWRULE &&
	    !nlmsg_find_attr(m, sizeof(struct fib_rule_hdr), FRA_PRIORITY) &&
	    nla_put_u32(msg, FRA_PRIORITY, 0) < 0)
		goto out;
	err = nl_request(sk, msg);
out:
	nlmsg_free(msg);
	return err == -EEXIST ? 0 : err;
}

static void describe(struct nlmsghdr *h, char *buf, size_t len)
{
	if (h->nlmsg_type == RTM_NEWADDR) {
		struct ifaddrmsg *a = nlmsg_data(h);

		snprintf(buf, len, "family %d /%d on ifindex %d", a->ifa_family, a->ifa_prefixlen,
			 a->ifa_index);
	} else if (h->nlmsg_type == RTM_NEWROUTE) {
		struct rtmsg *rt = nlmsg_data(h);

		snprintf(buf, len, "family %d to /%d type %d", rt->rtm_family, rt->rtm_dst_len,
			 rt->rtm_type);
	} else {
		struct fib_rule_hdr *fr = nlmsg_data(h);

		snprintf(buf, len, "family %d table %d action %d", fr->family, fr->table,
			 fr->action);
	}
}

/*
 * Every entry; a route through a gateway that another route makes
 * reachable may have to wait for it, so what fails is tried again as
 * long as something else succeeds.
 */
static int replay_all(struct nl_sock *sk, const struct raw_img *r, u32 id)
{
	struct raw_entries e;
	int i, left, before, err = 0;
	char what[96];

	if (read_entries(r, id, &e))
		return -1;
	left = e.n;
	do {
		before = left;
		for (i = 0; i < e.n; i++) {
			if (!e.msgs[i])
				continue;
			err = replay(sk, e.msgs[i]);
			if (err)
				continue;
			e.msgs[i] = NULL;
			left--;
		}
	} while (left && left < before);
	for (i = 0; i < e.n; i++) {
		if (!e.msgs[i])
			continue;
		describe(e.msgs[i], what, sizeof(what));
		err = replay(sk, e.msgs[i]);
		pr_err("cannot restore the %s (%s) of net namespace %u: %s\n", r->what, what, id,
		       strerror(-err));
		break;
	}
	pr_info("net namespace %u: %d %s(s) restored\n", id, e.n - left, r->what);
	free_entries(&e);
	return left ? -1 : 0;
}

struct dad_saved {
	int ifindex;	/* 0: "all" */
	int old;
};

/* No duplicate address detection for the restored IPv6 addresses: a
 * tentative address cannot be bound, and the tree's sockets come next. */
static int dad_off(struct raw_entries *e, struct dad_saved *s, int max)
{
	char name[IF_NAMESIZE];
	int i, j, n = 0;

	for (i = 0; i < e->n; i++) {
		struct ifaddrmsg *a = nlmsg_data(e->msgs[i]);

		if (a->ifa_family != AF_INET6)
			continue;
		if (n == 0) {
			if (set_accept_dad("all", 0, &s[0].old))
				return -1;
			s[n++].ifindex = 0;
		}
		for (j = 1; j < n && s[j].ifindex != (int)a->ifa_index; j++)
			;
		if (j < n || n == max)
			continue;
		if (!if_indextoname(a->ifa_index, name)) {
			pr_perror("an IPv6 address is on ifindex %d, which is not there",
				  a->ifa_index);
			return -1;
		}
		if (set_accept_dad(name, 0, &s[n].old))
			return -1;
		s[n++].ifindex = a->ifa_index;
	}
	return n;
}

static int dad_back(struct dad_saved *s, int n)
{
	char name[IF_NAMESIZE];
	int ret = 0;

	while (n-- > 0) {
		const char *dev;

		if (s[n].old < 1)
			continue;
		dev = s[n].ifindex ? if_indextoname(s[n].ifindex, name) : "all";
		if (!dev || set_accept_dad(dev, s[n].old, NULL))
			ret = -1;
	}
	return ret;
}

int restore_net_addrs(struct nl_sock *sk, u32 id, int (*links_up)(struct nl_sock *sk))
{
	struct dad_saved saved[64];
	struct raw_entries e;
	int n, ret;

	if (read_entries(&raw_ifaddr, id, &e))
		return -1;
	n = dad_off(&e, saved, ARRAY_SIZE(saved));
	free_entries(&e);
	if (n < 0)
		return -1;
	/*
	 * On links still down, an address added without detection is never
	 * tentative, not even once the link is up and has a carrier.
	 */
	ret = replay_all(sk, &raw_ifaddr, id);
	if (!ret)
		ret = links_up(sk);
	if (dad_back(saved, n))
		ret = -1;
	return ret;
}

int restore_net_routes(struct nl_sock *sk, u32 id)
{
	return replay_all(sk, &raw_route, id) || replay_all(sk, &raw_route6, id) ||
	       replay_all(sk, &raw_rule, id) ? -1 : 0;
}
