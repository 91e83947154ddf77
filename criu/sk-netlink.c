// SPDX-License-Identifier: GPL-2.0
/*
 * Netlink sockets (AF_NETLINK): protocol, port id, multicast groups, the
 * destination of a connected one, the NETLINK_* flags and the socket
 * options.  What a socket is comes from sock_diag (NETLINK_SOCK_DIAG with
 * an AF_NETLINK request, through libnl), asked once per dump in the
 * tree's net namespace; a descriptor is matched to its socket by inode.
 * sock_diag lists bound sockets and those with groups; one it does not
 * list must be unbound (getsockname says so) and is made again plain.
 *
 * The port id is bound again explicitly.  The kernel does not tell an
 * autobound port from one asked for, and both are the same number
 * afterwards; if another socket holds it at restore, the restore fails
 * (a peer may know the port).  Messages waiting in the receive queue are
 * dropped with a warning: they came from the kernel, and a message queued
 * again from userspace would carry a sender port other than the kernel's
 * 0, which netlink users check; netlink is lossy anyway (ENOBUFS).
 *
 * A tree with a net namespace of its own: criu opens a placeholder as the
 * anchor, and the root, the first task in the new namespace, makes the
 * real sockets there and puts them on the anchors before any other task
 * is forked, so descriptions shared by several tasks stay shared.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/sock_diag.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "files.h"
#include "namespaces.h"
#include "pstree.h"
#include "restore.h"
#include "sk-netlink.pb-c.h"
#include "sockets.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define NL_CONNECTED 1
#define NL_MAX_GROUP_WORDS 64	/* 2048 groups; genetlink has the most */

/* One netlink socket of the namespace, as netlink_diag describes it. */
struct nlsk_info {
	struct list_head list;
	u32 ino, portid, dst_portid, dst_group;
	u8 type, protocol, state;
	u32 diag_flags;		/* NDIAG_FLAG_* */
	u32 rmem;		/* bytes in the receive queue */
	u32 n_groups;		/* words of groups[] */
	u32 groups[NL_MAX_GROUP_WORDS];
};

static LIST_HEAD(nlsk_infos);
static bool nlsk_collected;
static bool own_netns;		/* the tree's net namespace is not criu's */

static const char *proto_name(u32 proto)
{
	static const char *const names[] = {
		[NETLINK_ROUTE] = "route", [NETLINK_USERSOCK] = "usersock",
		[NETLINK_SOCK_DIAG] = "sock_diag", [NETLINK_NFLOG] = "nflog",
		[NETLINK_XFRM] = "xfrm", [NETLINK_SELINUX] = "selinux",
		[NETLINK_ISCSI] = "iscsi", [NETLINK_AUDIT] = "audit",
		[NETLINK_FIB_LOOKUP] = "fib_lookup", [NETLINK_CONNECTOR] = "connector",
		[NETLINK_NETFILTER] = "netfilter", [NETLINK_KOBJECT_UEVENT] = "kobject_uevent",
		[NETLINK_GENERIC] = "generic", [NETLINK_SCSITRANSPORT] = "scsitransport",
		[NETLINK_RDMA] = "rdma", [NETLINK_CRYPTO] = "crypto", [NETLINK_SMC] = "smc",
	};

	return proto < ARRAY_SIZE(names) && names[proto] ? names[proto] : "unknown";
}

static bool is_nlsk(const struct fd_parms *p)
{
	int dom;
	socklen_t len = sizeof(dom);

	if (!S_ISSOCK(p->st.st_mode) || p->lfd < 0)
		return false;
	return !getsockopt(p->lfd, SOL_SOCKET, SO_DOMAIN, &dom, &len) && dom == AF_NETLINK;
}

static struct nlsk_info *find_nlsk(u32 ino)
{
	struct nlsk_info *n;

	list_for_each_entry(n, &nlsk_infos, list)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void take_nl_attrs(struct nlsk_info *n, struct nlattr **tb)
{
	if (tb[NETLINK_DIAG_MEMINFO] &&
	    nla_len(tb[NETLINK_DIAG_MEMINFO]) >= (int)(sizeof(u32) * (SK_MEMINFO_RMEM_ALLOC + 1)))
		n->rmem = ((u32 *)nla_data(tb[NETLINK_DIAG_MEMINFO]))[SK_MEMINFO_RMEM_ALLOC];
	if (tb[NETLINK_DIAG_GROUPS]) {
		u32 words = nla_len(tb[NETLINK_DIAG_GROUPS]) / sizeof(u32);

		n->n_groups = min(words, (u32)NL_MAX_GROUP_WORDS);
		memcpy(n->groups, nla_data(tb[NETLINK_DIAG_GROUPS]), n->n_groups * sizeof(u32));
		/* trailing empty words say nothing */
		while (n->n_groups && !n->groups[n->n_groups - 1])
			n->n_groups--;
	}
	if (tb[NETLINK_DIAG_FLAGS])
		n->diag_flags = nla_get_u32(tb[NETLINK_DIAG_FLAGS]);
}

/* libnl calls this for each socket of the dump */
static int nl_diag_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[NETLINK_DIAG_MAX + 1];
	struct netlink_diag_msg *m;
	struct nlsk_info *n;

	(void)arg;
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || nlmsg_datalen(h) < (int)sizeof(*m))
		return NL_SKIP;
	if (nlmsg_parse(h, sizeof(*m), tb, NETLINK_DIAG_MAX, NULL))
		return NL_STOP;
	m = nlmsg_data(h);
	n = xzalloc(sizeof(*n));
	if (!n)
		return NL_STOP;
	n->ino = m->ndiag_ino;
	n->type = m->ndiag_type;
	n->protocol = m->ndiag_protocol;
	n->state = m->ndiag_state;
	n->portid = m->ndiag_portid;
	n->dst_portid = m->ndiag_dst_portid;
	n->dst_group = m->ndiag_dst_group;
	take_nl_attrs(n, tb);
	list_add_tail(&n->list, &nlsk_infos);
	return NL_OK;
}

/* Every netlink socket of criu's current net namespace. */
static int nl_diag_dump(void)
{
	struct netlink_diag_req req = {
		.sdiag_family = AF_NETLINK,
		.sdiag_protocol = NDIAG_PROTO_ALL,
		.ndiag_show = NDIAG_SHOW_MEMINFO | NDIAG_SHOW_GROUPS | NDIAG_SHOW_FLAGS,
		.ndiag_cookie = { ~0U, ~0U },
	};

	return sock_diag_dump(&req, sizeof(req), nl_diag_msg, NULL, "netlink sockets");
}

/*
 * In a child that joined the net namespace nsfd (criu may not be able to
 * come back to its own: rootless, the host's belongs to the initial user
 * namespace), the dump, sent back record by record through a pipe.
 */
static int nl_diag_dump_in(int nsfd)
{
	struct nlsk_info rec, *n;
	int p[2], status;
	pid_t child;
	ssize_t got;

	if (pipe2(p, O_CLOEXEC)) {
		pr_perror("cannot make a pipe");
		return -1;
	}
	child = fork();
	if (child == 0) {
		int ret = 1;

		close(p[0]);
		if (setns(nsfd, CLONE_NEWNET))
			pr_perror("cannot enter the net namespace of pid %d", root_item->pid);
		else if (!nl_diag_dump())
			ret = 0;
		list_for_each_entry(n, &nlsk_infos, list)
			if (!ret && write_all(p[1], n, sizeof(*n)) != sizeof(*n))
				ret = 1;
		_exit(ret);
	}
	close(p[1]);
	while (child > 0 && (got = read_all(p[0], &rec, sizeof(rec))) == sizeof(rec)) {
		n = xmalloc(sizeof(*n));
		if (!n)
			break;
		*n = rec;
		list_add_tail(&n->list, &nlsk_infos);
	}
	close(p[0]);
	if (child < 0 || xwaitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		pr_err("cannot list the netlink sockets of the net namespace of pid %d\n",
		       root_item->pid);
		return -1;
	}
	return 0;
}

/* The dump in the tree's net namespace. */
static int collect_nlsk_infos(void)
{
	char path[64];
	int theirs = -1, ret = -1;
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", root_item->pid);
	theirs = open(path, O_RDONLY | O_CLOEXEC);
	if (theirs < 0 || stat("/proc/self/ns/net", &a) || fstat(theirs, &b)) {
		pr_perror("cannot open the net namespaces of criu and of pid %d", root_item->pid);
		goto out;
	}
	own_netns = a.st_ino != b.st_ino;
	ret = own_netns ? nl_diag_dump_in(theirs) : nl_diag_dump();
out:
	if (theirs >= 0)
		close(theirs);
	nlsk_collected = !ret;
	return ret;
}

/* sock_diag lists bound sockets and those in groups: any other is unbound. */
static int unbound_nlsk(struct fd_parms *p, struct nlsk_info *n)
{
	struct sockaddr_nl a;
	socklen_t len = sizeof(a);
	int val;

	memset(n, 0, sizeof(*n));
	if (getsockname(p->lfd, (struct sockaddr *)&a, &len)) {
		pr_perror("cannot get the address of netlink socket fd %d of pid %d", p->fd,
			  p->pid);
		return -1;
	}
	if (a.nl_pid || a.nl_groups) {
		pr_err("unsupported: pid %d fd %d is a netlink socket (port %u) that sock_diag "
		       "does not show in the tree's net namespace\n", p->pid, p->fd, a.nl_pid);
		return -1;
	}
	len = sizeof(val);
	if (getsockopt(p->lfd, SOL_SOCKET, SO_PROTOCOL, &val, &len))
		return -1;
	n->protocol = val;
	n->ino = p->st.st_ino;
	n->state = 7;	/* TCP_CLOSE, as the kernel says of an unconnected socket */
	/* what the diag would have said of the flags getsockopt shows */
	if (!getsockopt(p->lfd, SOL_NETLINK, NETLINK_PKTINFO, &val, &len) && val)
		n->diag_flags |= NDIAG_FLAG_PKTINFO;
	if (!getsockopt(p->lfd, SOL_NETLINK, NETLINK_BROADCAST_ERROR, &val, &len) && val)
		n->diag_flags |= NDIAG_FLAG_BROADCAST_ERROR;
	if (!getsockopt(p->lfd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &val, &len) && val)
		n->diag_flags |= NDIAG_FLAG_NO_ENOBUFS;
	if (!getsockopt(p->lfd, SOL_NETLINK, NETLINK_CAP_ACK, &val, &len) && val)
		n->diag_flags |= NDIAG_FLAG_CAP_ACK;
	return 0;
}

static bool nl_opt(int sk, int opt)
{
	socklen_t len = sizeof(int);
	int val = 0;

	return !getsockopt(sk, SOL_NETLINK, opt, &val, &len) && val;
}

static void fill_nl_opts(int sk, const struct nlsk_info *n, NlSkOptsEntry *o)
{
	o->pktinfo = n->diag_flags & NDIAG_FLAG_PKTINFO;
	o->broadcast_error = n->diag_flags & NDIAG_FLAG_BROADCAST_ERROR;
	o->no_enobufs = n->diag_flags & NDIAG_FLAG_NO_ENOBUFS;
	o->listen_all_nsid = n->diag_flags & NDIAG_FLAG_LISTEN_ALL_NSID;
	o->cap_ack = n->diag_flags & NDIAG_FLAG_CAP_ACK;
	/* sock_diag has no bits for these two */
	o->has_ext_ack = o->has_get_strict_chk = true;
	o->ext_ack = nl_opt(sk, NETLINK_EXT_ACK);
	o->get_strict_chk = nl_opt(sk, NETLINK_GET_STRICT_CHK);
}

static int check_nlsk(const struct fd_parms *p, const struct nlsk_info *n)
{
	if (n->diag_flags & NDIAG_FLAG_CB_RUNNING) {
		pr_err("unsupported: pid %d fd %d is a netlink %s socket with a dump in progress "
		       "(the kernel holds the rest of it)\n", p->pid, p->fd,
		       proto_name(n->protocol));
		return -1;
	}
	if (n->dst_group > 32) {
		pr_err("unsupported: pid %d fd %d is a netlink %s socket connected to group %u\n",
		       p->pid, p->fd, proto_name(n->protocol), n->dst_group);
		return -1;
	}
	if (n->rmem)
		pr_warn("pid %d fd %d: netlink %s socket %u: %u bytes in its receive queue are "
			"dropped (netlink is lossy)\n", p->pid, p->fd, proto_name(n->protocol),
			n->ino, n->rmem);
	return 0;
}

/* Whether the epoll of fdinfo text fi watches the file dev:ino. */
static bool watches(const char *fi, u32 kdev, u64 ino)
{
	const char *l;

	for (l = strstr(fi, "tfd:"); l; l = strstr(l + 1, "tfd:")) {
		const char *i = strstr(l, " ino:"), *d = strstr(l, " sdev:");
		const char *eol = strchr(l, '\n');

		if (i && d && (!eol || (i < eol && d < eol)) &&
		    strtoull(i + 5, NULL, 16) == ino && strtoul(d + 6, NULL, 16) == kdev)
			return true;
	}
	return false;
}

/* Whether fd (a name in /proc/PID/fd) of pid is an epoll watching dev:ino. */
static bool epoll_fd_watches(pid_t pid, const char *fd, u32 kdev, u64 ino)
{
	char path[PATH_MAX], link[64], *fi;
	ssize_t n;
	bool ret;

	snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[eventpoll]"))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, fd);
	if (read_file(path, &fi) < 0)
		return false;
	ret = watches(fi, kdev, ino);
	free(fi);
	return ret;
}

/* An epoll of the tree watching the socket: "pid P fd N", or NULL. */
static const char *watching_epoll(const struct fd_parms *p)
{
	static char who[64];
	u32 kdev = major(p->st.st_dev) << 20 | minor(p->st.st_dev);
	struct pstree_item *it;

	for_each_item(it) {
		char path[64];
		struct dirent *de;
		DIR *d;

		if (it->state == TASK_DEAD)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", it->pid);
		d = opendir(path);
		while (d && (de = readdir(d)))
			if (epoll_fd_watches(it->pid, de->d_name, kdev, p->st.st_ino)) {
				snprintf(who, sizeof(who), "pid %d fd %d", it->pid, atoi(de->d_name));
				closedir(d);
				return who;
			}
		if (d)
			closedir(d);
	}
	return NULL;
}

/*
 * In a net namespace of the tree's own the socket is made by the root,
 * after criu has added the epoll targets on its own anchors.
 */
static int check_own_netns(const struct fd_parms *p, const struct nlsk_info *n,
			   const FownEntry *fown)
{
	const char *ep = own_netns ? watching_epoll(p) : NULL;

	if (ep) {
		pr_err("unsupported: pid %d fd %d is a netlink %s socket of the tree's own net "
		       "namespace that an epoll watches (%s)\n", p->pid, p->fd,
		       proto_name(n->protocol), ep);
		return -1;
	}
	if (own_netns && fown->pid) {
		pr_err("unsupported: pid %d fd %d is a netlink %s socket of the tree's own net "
		       "namespace with an owner (F_SETOWN %d)\n", p->pid, p->fd,
		       proto_name(n->protocol), fown->pid);
		return -1;
	}
	return 0;
}

static u32 tree_netns_id(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	return stat(path, &st) ? 0 : ns_id_of_ino(st.st_ino);
}

/*
 * A classic BPF filter (SO_ATTACH_FILTER, as udev's monitors use), one
 * sock_filter per so_filter word.  An eBPF one (SO_ATTACH_BPF) does not
 * show through SO_GET_FILTER and is not kept.
 */
static int dump_sk_filter(struct fd_parms *p, SkOptsEntry *o)
{
	socklen_t n = 0;
	struct sock_filter *f;

	if (getsockopt(p->lfd, SOL_SOCKET, SO_GET_FILTER, NULL, &n)) {
		pr_perror("cannot read the socket filter of pid %d fd %d", p->pid, p->fd);
		return -1;
	}
	if (!n)
		return 0;
	f = xmalloc(n * sizeof(*f));
	o->so_filter = xmalloc(n * sizeof(u64));
	if (!f || !o->so_filter) {
		free(f);
		return -1;
	}
	if (getsockopt(p->lfd, SOL_SOCKET, SO_GET_FILTER, f, &n)) {
		pr_perror("cannot read the socket filter of pid %d fd %d", p->pid, p->fd);
		free(f);
		return -1;
	}
	_Static_assert(sizeof(*f) == sizeof(u64), "a sock_filter is one so_filter word");
	memcpy(o->so_filter, f, n * sizeof(u64));
	o->n_so_filter = n;
	free(f);
	pr_debug("pid %d fd %d: a socket filter of %u instructions\n", p->pid, p->fd, n);
	return 0;
}

static int dump_nlsk(struct fd_parms *p, u32 id)
{
	NetlinkSkEntry ne = NETLINK_SK_ENTRY__INIT;
	NlSkOptsEntry no = NL_SK_OPTS_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	struct nlsk_info *n, unbound;
	socklen_t len = sizeof(int);
	int type, ret = -1;

	if (!nlsk_collected && collect_nlsk_infos())
		return -1;
	n = find_nlsk(p->st.st_ino);
	if (!n) {
		if (unbound_nlsk(p, &unbound))
			return -1;
		n = &unbound;
	}
	if (check_nlsk(p, n) || getsockopt(p->lfd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    dump_fown(p, &fown) || check_own_netns(p, n, &fown) || dump_sk_opts(p->lfd, &opts) ||
	    dump_sk_filter(p, &opts))
		goto err;
	fill_nl_opts(p->lfd, n, &no);
	ne.id = id;
	ne.ino = n->ino;
	ne.protocol = n->protocol;
	ne.state = n->state;
	ne.flags = p->flags;
	ne.portid = n->portid;
	ne.n_groups = n->n_groups;
	ne.groups = n->groups;
	ne.dst_portid = n->dst_portid;
	ne.dst_group = n->dst_group;
	ne.fown = &fown;
	ne.opts = &opts;
	ne.ns_id = tree_netns_id(p->pid);
	ne.has_ns_id = ne.ns_id != 0;
	ne.nl_opts = &no;
	ne.has_sk_type = true;
	ne.sk_type = type;
	fe.type = FD_TYPES__NETLINKSK;
	fe.id = id;
	fe.nlsk = &ne;
	pr_info("pid %d fd %d: netlink %s socket %u, port %u, %u group words (first %#x), "
		"%s %u/%u, flags %#x\n", p->pid, p->fd, proto_name(n->protocol), n->ino, n->portid,
		n->n_groups, n->n_groups ? n->groups[0] : 0,
		n->state == NL_CONNECTED ? "connected to" : "dst", n->dst_portid, n->dst_group,
		n->diag_flags);
	ret = write_file_entry(&fe);
err:
	free(opts.so_filter);
	return ret;
}

static int nlsk_dump_fini(void)
{
	struct nlsk_info *n, *t;

	list_for_each_entry_safe(n, t, &nlsk_infos, list) {
		list_del(&n->list);
		free(n);
	}
	nlsk_collected = own_netns = false;
	return 0;
}

/* ---- restore ---- */

static int set_nl_opt(int sk, int opt, const char *what, u32 ino)
{
	int one = 1;

	if (setsockopt(sk, SOL_NETLINK, opt, &one, sizeof(one))) {
		pr_perror("cannot set %s on netlink socket %u%s", what, ino,
			  opt == NETLINK_LISTEN_ALL_NSID ? " (needs CAP_NET_BROADCAST)" : "");
		return -1;
	}
	return 0;
}

static int restore_nl_opts(int sk, NetlinkSkEntry *ne)
{
	NlSkOptsEntry *o = ne->nl_opts;

	if (!o)
		return 0;
	if ((o->pktinfo && set_nl_opt(sk, NETLINK_PKTINFO, "NETLINK_PKTINFO", ne->ino)) ||
	    (o->broadcast_error &&
	     set_nl_opt(sk, NETLINK_BROADCAST_ERROR, "NETLINK_BROADCAST_ERROR", ne->ino)) ||
	    (o->no_enobufs && set_nl_opt(sk, NETLINK_NO_ENOBUFS, "NETLINK_NO_ENOBUFS", ne->ino)) ||
	    (o->listen_all_nsid &&
	     set_nl_opt(sk, NETLINK_LISTEN_ALL_NSID, "NETLINK_LISTEN_ALL_NSID", ne->ino)) ||
	    (o->cap_ack && set_nl_opt(sk, NETLINK_CAP_ACK, "NETLINK_CAP_ACK", ne->ino)) ||
	    (o->ext_ack && set_nl_opt(sk, NETLINK_EXT_ACK, "NETLINK_EXT_ACK", ne->ino)) ||
	    (o->get_strict_chk &&
	     set_nl_opt(sk, NETLINK_GET_STRICT_CHK, "NETLINK_GET_STRICT_CHK", ne->ino)))
		return -1;
	return 0;
}

/* The port first, then every group (bit g-1 of the bitmap is group g). */
static int bind_nlsk(int sk, NetlinkSkEntry *ne)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_pid = ne->portid };
	size_t w;
	int b;

	if (ne->portid && bind(sk, (struct sockaddr *)&a, sizeof(a))) {
		if (errno == EADDRINUSE)
			pr_err("cannot bind netlink %s socket %u to port %u again: another socket "
			       "of the net namespace holds it\n", proto_name(ne->protocol), ne->ino,
			       ne->portid);
		else
			pr_perror("cannot bind netlink %s socket %u to port %u",
				  proto_name(ne->protocol), ne->ino, ne->portid);
		return -1;
	}
	for (w = 0; w < ne->n_groups; w++)
		for (b = 0; b < 32; b++) {
			int g = w * 32 + b + 1;

			if (!(ne->groups[w] & (1U << b)))
				continue;
			if (setsockopt(sk, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g))) {
				pr_perror("cannot add netlink %s socket %u to group %d",
					  proto_name(ne->protocol), ne->ino, g);
				return -1;
			}
		}
	return 0;
}

static int connect_nlsk(int sk, NetlinkSkEntry *ne)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_pid = ne->dst_portid };

	if (ne->state != NL_CONNECTED)
		return 0;
	if (ne->dst_group > 32) {
		pr_err("files.img: netlink socket %u is connected to group %u\n", ne->ino,
		       ne->dst_group);
		return -1;
	}
	if (ne->dst_group)
		a.nl_groups = 1U << (ne->dst_group - 1);
	if (connect(sk, (struct sockaddr *)&a, sizeof(a))) {
		pr_perror("cannot connect netlink socket %u to %u/%u", ne->ino, ne->dst_portid,
			  ne->dst_group);
		return -1;
	}
	return 0;
}

static int restore_sk_filter(int sk, NetlinkSkEntry *ne)
{
	struct sock_fprog prog = { .len = ne->opts->n_so_filter };
	int ret;

	if (!prog.len)
		return 0;
	prog.filter = xmalloc(prog.len * sizeof(*prog.filter));
	if (!prog.filter)
		return -1;
	memcpy(prog.filter, ne->opts->so_filter, prog.len * sizeof(*prog.filter));
	ret = setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	if (ret)
		pr_perror("cannot attach the filter of %u instructions to netlink socket %u",
			  prog.len, ne->ino);
	free(prog.filter);
	return ret ? -1 : 0;
}

/* The socket as it was, in the caller's net namespace. */
static int make_nlsk(NetlinkSkEntry *ne, int *fd)
{
	int type = ne->has_sk_type ? (int)ne->sk_type : SOCK_RAW;
	int sk = socket(AF_NETLINK, type | SOCK_CLOEXEC, ne->protocol);

	if (sk < 0) {
		pr_perror("cannot create a netlink %s socket (protocol %u)",
			  proto_name(ne->protocol), ne->protocol);
		return -1;
	}
	if (restore_sk_bufs(sk, ne->opts) || bind_nlsk(sk, ne) || connect_nlsk(sk, ne) ||
	    restore_nl_opts(sk, ne) || restore_sk_opts(sk, ne->opts) || restore_sk_filter(sk, ne))
		goto err;
	if (fcntl(sk, F_SETFL, ne->flags & (O_NONBLOCK | O_ASYNC))) {
		pr_perror("cannot set the flags of netlink socket %u", ne->ino);
		goto err;
	}
	pr_info("netlink %s socket %u: port %u, %zu group words, %s\n", proto_name(ne->protocol),
		ne->ino, ne->portid, ne->n_groups,
		ne->state == NL_CONNECTED ? "connected" : "not connected");
	*fd = sk;
	return 0;
err:
	close(sk);
	return -1;
}

/* The sockets of the tree's own net namespace, made in the root. */
struct nlsk_later {
	struct list_head list;
	FileEntry *fe;
};

static LIST_HEAD(nlsk_laters);

static int placeholder(FileEntry *fe, int *fd)
{
	struct nlsk_later *l;

	if (fe->nlsk->fown && fe->nlsk->fown->pid) {
		pr_err("unsupported: netlink socket %u of the tree's own net namespace has an "
		       "owner (F_SETOWN)\n", fe->nlsk->ino);
		return -1;
	}
	l = xzalloc(sizeof(*l));
	if (!l)
		return -1;
	*fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (*fd < 0) {
		pr_perror("cannot create a netlink socket");
		free(l);
		return -1;
	}
	l->fe = fe;
	list_add_tail(&l->list, &nlsk_laters);
	pr_debug("netlink socket %u: made later in the tree's net namespace\n", fe->nlsk->ino);
	return 0;
}

static int open_nlsk(FileEntry *fe, int *fd)
{
	if (!fe->nlsk) {
		pr_err("files.img: file %u of type NETLINKSK has no netlink entry\n", fe->id);
		return -1;
	}
	if (restore_ns_flags() & CLONE_NEWNET)
		return placeholder(fe, fd);
	if (make_nlsk(fe->nlsk, fd))
		return -1;
	return restore_fown(*fd, fe->nlsk->fown);
}

/* The root's own descriptors of file id, from its (new) anchor. */
static int reinstall(struct pstree_item *it, u32 id, int anchor)
{
	struct task_restore *tr = rst_of(it);
	size_t i;

	for (i = 0; i < tr->nr_fds; i++) {
		FdinfoEntry *e = tr->fds[i];

		if (e->id != id)
			continue;
		if (dup3(anchor, e->fd, (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
			pr_perror("cannot install fd %u of pid %d", e->fd, it->vpid);
			return -1;
		}
	}
	return 0;
}

static int nlsk_task_fds_done(struct pstree_item *it)
{
	struct nlsk_later *l;

	if (it != root_item)
		return 0;
	list_for_each_entry(l, &nlsk_laters, list) {
		int a = anchor_fd(l->fe->id), sk;

		if (a < 0 || make_nlsk(l->fe->nlsk, &sk))
			return -1;
		if (dup3(sk, a, 0) < 0) {
			pr_perror("cannot put netlink socket %u on its anchor", l->fe->nlsk->ino);
			close(sk);
			return -1;
		}
		close(sk);
		if (restore_fown(a, l->fe->nlsk->fown) || reinstall(it, l->fe->id, a))
			return -1;
	}
	return 0;
}

const struct fd_kind netlink_sk_kind = {
	.name = "netlink socket",
	.type = FD_TYPES__NETLINKSK,
	.match = is_nlsk,
	.dump = dump_nlsk,
	.dump_fini = nlsk_dump_fini,
	.open = open_nlsk,
	.task_fds_done = nlsk_task_fds_done,
};
