// SPDX-License-Identifier: GPL-2.0
/*
 * AF_INET and AF_INET6 sockets: TCP listeners, unconnected or bound TCP
 * sockets, UDP sockets bound or connected, and (sk-tcp.c) established
 * TCP connections.  What a socket is (state, addresses, ports, backlog,
 * queue lengths) is asked of the kernel with inet_diag (sk-diag.c) once
 * per dump; a descriptor is matched to its socket by inode.  Sockets that
 * inet_diag does not list (unbound ones, a TCP socket bound but never
 * listening or connected) are read from the socket itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cr_options.h"
#include "files.h"
#include "mount.h"
#include "namespaces.h"
#include "sockets.h"
#include "util.h"

static LIST_HEAD(isk_infos);
static bool isk_collected;

static const char *tcp_state_name(u32 state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "established", [TCP_SYN_SENT] = "SYN_SENT",
		[TCP_SYN_RECV] = "SYN_RECV", [TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TCP_FIN_WAIT2] = "FIN_WAIT2", [TCP_TIME_WAIT] = "TIME_WAIT",
		[TCP_CLOSE] = "closed", [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_LAST_ACK] = "LAST_ACK", [TCP_LISTEN] = "listening",
		[TCP_CLOSING] = "CLOSING",
	};

	return state < ARRAY_SIZE(names) && names[state] ? names[state] : "unknown";
}

static const char *proto_name(u32 proto)
{
	return proto == IPPROTO_TCP ? "TCP" : proto == IPPROTO_UDP ? "UDP" : "inet";
}

/* "1.2.3.4:80" or "[::1]:80" */
static const char *addr_str(u32 family, const u32 *addr, u32 port)
{
	static char buf[2][INET6_ADDRSTRLEN + 16];
	static int which;
	char *b = buf[which ^= 1], a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(b, sizeof(buf[0]), family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return b;
}

static bool is_inet_sk(const struct fd_parms *p)
{
	int dom;
	socklen_t len = sizeof(dom);

	if (!S_ISSOCK(p->st.st_mode) || p->lfd < 0)
		return false;
	return !getsockopt(p->lfd, SOL_SOCKET, SO_DOMAIN, &dom, &len) &&
	       (dom == AF_INET || dom == AF_INET6);
}

/*
 * inet_diag answers for the requester's net namespace: for a tree with a
 * net namespace of its own, criu asks from a thread that joins it (which
 * needs CAP_SYS_ADMIN over it) and ends there, so that criu need not come
 * back, which a rootless criu could not into the host's.  A tree has one.
 */
static ino_t isk_netns;

struct netns_ask {
	int nsfd;
	int ret, err;
};

static void *collect_thread(void *arg)
{
	struct netns_ask *a = arg;

	if (setns(a->nsfd, CLONE_NEWNET)) {
		a->err = errno;
		return NULL;
	}
	a->ret = collect_isk_infos(&isk_infos);
	return NULL;
}

static int collect_in_netns(pid_t pid, int fd)
{
	struct netns_ask a = { .ret = -1 };
	struct stat mine, theirs;
	char path[64];
	pthread_t t;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat("/proc/self/ns/net", &mine) || stat(path, &theirs)) {
		pr_perror("cannot stat the net namespace of pid %d", pid);
		return -1;
	}
	if (isk_collected) {
		if (theirs.st_ino == isk_netns)
			return 0;
		pr_err("unsupported: pid %d fd %d is an inet socket in a second net namespace "
		       "of the tree\n", pid, fd);
		return -1;
	}
	isk_netns = theirs.st_ino;
	if (mine.st_ino == theirs.st_ino)
		return collect_isk_infos(&isk_infos);
	a.nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (a.nsfd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	pr_debug("listing inet sockets in net:[%lu]\n", (unsigned long)theirs.st_ino);
	errno = pthread_create(&t, NULL, collect_thread, &a);
	if (errno)
		pr_perror("cannot start a thread to list the inet sockets of pid %d", pid);
	else if (!pthread_join(t, NULL) && a.err) {
		errno = a.err;
		pr_perror("pid %d fd %d: cannot enter the net namespace of the tree to list its "
			  "inet sockets", pid, fd);
	}
	close(a.nsfd);
	return a.ret;
}

static struct isk_info *find_isk(u32 ino)
{
	struct isk_info *i;

	list_for_each_entry(i, &isk_infos, list)
		if (i->ino == ino)
			return i;
	return NULL;
}

/* A socket inet_diag does not list: not in any hash, so not connected. */
static int isk_from_socket(struct fd_parms *p, struct isk_info *i, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(i, 0, sizeof(*i));
	i->ino = p->st.st_ino;
	i->state = TCP_CLOSE;
	if (getsockname(p->lfd, (struct sockaddr *)&ss, &len)) {
		pr_perror("pid %d fd %d: cannot read the socket's address", p->pid, p->fd);
		return -1;
	}
	i->family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		i->sport = ntohs(s->sin_port);
		i->src[0] = s->sin_addr.s_addr;
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		i->sport = ntohs(s->sin6_port);
		memcpy(i->src, &s->sin6_addr, 16);
	}
	i->proto = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	return 0;
}

/* What we cannot restore, refused by name; 0 if we can. */
static int check_isk(const struct fd_parms *p, const struct isk_info *i, int type)
{
	const char *pn = proto_name(i->proto);

	if (i->proto == IPPROTO_UDP) {
		if (i->state != TCP_CLOSE && i->state != TCP_ESTABLISHED)
			goto refuse;
		if (i->rqueue) {
			pr_err("unsupported: pid %d fd %d is a UDP socket (%s) with %u bytes of "
			       "datagrams queued\n", p->pid, p->fd,
			       addr_str(i->family, i->src, i->sport), i->rqueue);
			return -1;
		}
		return 0;
	}
	if (i->proto != IPPROTO_TCP || type != SOCK_STREAM)
		goto refuse;
	switch (i->state) {
	case TCP_CLOSE:
		return 0;
	case TCP_LISTEN:
		if (!i->rqueue)
			return 0;
		pr_err("unsupported: pid %d fd %d is a TCP listening socket (%s) with %u "
		       "connections not yet accepted\n", p->pid, p->fd,
		       addr_str(i->family, i->src, i->sport), i->rqueue);
		return -1;
	case TCP_ESTABLISHED:
		if (opts.tcp_established || opts.tcp_close)
			return 0;
		pr_err("unsupported: pid %d fd %d is an established TCP connection (%s to %s); "
		       "--tcp-established dumps it\n", p->pid, p->fd,
		       addr_str(i->family, i->src, i->sport),
		       addr_str(i->family, i->dst, i->dport));
		return -1;
	}
refuse:
	pr_err("unsupported: pid %d fd %d is a socket (%s, %s, %s)\n", p->pid, p->fd, pn,
	       tcp_state_name(i->state), addr_str(i->family, i->src, i->sport));
	return -1;
}

static int get_opt(int sk, int level, int opt, int *val, const char *what)
{
	socklen_t len = sizeof(*val);

	if (getsockopt(sk, level, opt, val, &len)) {
		pr_perror("cannot read %s", what);
		return -1;
	}
	return 0;
}

/* SO_BINDTODEVICE and an attached classic BPF filter. */
static int dump_dev_filter(int sk, SkOptsEntry *o)
{
	char dev[IFNAMSIZ + 1] = "";
	socklen_t len = IFNAMSIZ;
	struct sock_filter *f;
	socklen_t n = 0;

	if (getsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, dev, &len)) {
		pr_perror("cannot read SO_BINDTODEVICE");
		return -1;
	}
	if (dev[0])
		o->so_bound_dev = xstrdup(dev);
	/* the length is counted in instructions here */
	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, NULL, &n)) {
		pr_perror("cannot read SO_GET_FILTER");
		return -1;
	}
	if (!n)
		return 0;
	f = xmalloc(n * sizeof(*f));
	if (!f || getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, f, &n)) {
		pr_perror("cannot read the socket filter");
		free(f);
		return -1;
	}
	o->n_so_filter = n;
	o->so_filter = (uint64_t *)f;
	return 0;
}

static int dump_inet_opts(int sk, InetSkEntry *ie, SkOptsEntry *o, IpOptsEntry *ip)
{
	int ra, rp, ka, bc, fb, tr, nd = 0, cnt = 0, idle = 0, intvl = 0;
	struct linger l;
	socklen_t len = sizeof(l);

	if (dump_sk_opts(sk, o) || dump_dev_filter(sk, o) ||
	    get_opt(sk, SOL_SOCKET, SO_REUSEADDR, &ra, "SO_REUSEADDR") ||
	    get_opt(sk, SOL_SOCKET, SO_REUSEPORT, &rp, "SO_REUSEPORT") ||
	    get_opt(sk, SOL_SOCKET, SO_KEEPALIVE, &ka, "SO_KEEPALIVE") ||
	    get_opt(sk, SOL_SOCKET, SO_BROADCAST, &bc, "SO_BROADCAST") ||
	    get_opt(sk, SOL_IP, IP_FREEBIND, &fb, "IP_FREEBIND") ||
	    get_opt(sk, SOL_IP, IP_TRANSPARENT, &tr, "IP_TRANSPARENT"))
		return -1;
	if (getsockopt(sk, SOL_SOCKET, SO_LINGER, &l, &len)) {
		pr_perror("cannot read SO_LINGER");
		return -1;
	}
	if (ie->proto == IPPROTO_TCP &&
	    (get_opt(sk, SOL_TCP, TCP_NODELAY, &nd, "TCP_NODELAY") ||
	     get_opt(sk, SOL_TCP, TCP_KEEPCNT, &cnt, "TCP_KEEPCNT") ||
	     get_opt(sk, SOL_TCP, TCP_KEEPIDLE, &idle, "TCP_KEEPIDLE") ||
	     get_opt(sk, SOL_TCP, TCP_KEEPINTVL, &intvl, "TCP_KEEPINTVL")))
		return -1;
	o->has_reuseaddr = o->has_so_reuseport = o->has_so_keepalive = o->has_so_broadcast = true;
	o->reuseaddr = ra;
	o->so_reuseport = rp;
	o->so_keepalive = ka;
	o->so_broadcast = bc;
	if (ie->proto == IPPROTO_TCP) {
		o->has_tcp_keepcnt = o->has_tcp_keepidle = o->has_tcp_keepintvl = true;
		o->tcp_keepcnt = cnt;
		o->tcp_keepidle = idle;
		o->tcp_keepintvl = intvl;
		ie->has_tcp_nodelay = true;
		ie->tcp_nodelay = nd;
	}
	ip->has_freebind = ip->has_transparent = true;
	ip->freebind = fb;
	ip->transparent = tr;
	ie->ip_opts = ip;
	ie->has_linger = true;
	ie->linger = l.l_onoff ? (u32)l.l_linger + 1 : 0;
	return 0;
}

static void *memdup(const void *src, size_t len)
{
	void *p = xmalloc(len);

	return p ? memcpy(p, src, len) : NULL;
}

static int fill_isk(struct fd_parms *p, struct isk_info *i, InetSkEntry *ie, int type)
{
	int n = i->family == AF_INET6 ? 4 : 1;

	ie->ino = i->ino;
	ie->family = i->family;
	ie->type = type;
	ie->proto = i->proto;
	ie->state = i->state;
	ie->src_port = i->sport;
	ie->dst_port = i->dport;
	ie->flags = p->flags;
	ie->backlog = i->state == TCP_LISTEN ? i->wqueue : 0;
	ie->n_src_addr = n;
	ie->src_addr = memdup(i->src, n * sizeof(u32));
	ie->n_dst_addr = n;
	ie->dst_addr = memdup(i->dst, n * sizeof(u32));
	if (i->family == AF_INET6) {
		int v6 = i->v6only;

		if (!i->has_v6only && get_opt(p->lfd, SOL_IPV6, IPV6_V6ONLY, &v6, "IPV6_V6ONLY"))
			return -1;
		ie->has_v6only = true;
		ie->v6only = v6;
	}
	if (i->shutdown) {
		ie->has_shutdown = true;
		ie->shutdown = i->shutdown;
	}
	return ie->src_addr && ie->dst_addr ? 0 : -1;
}

static void free_isk_entry(InetSkEntry *ie)
{
	free(ie->src_addr);
	free(ie->dst_addr);
	free(ie->opts->so_bound_dev);
	free(ie->opts->so_filter);
}

static int dump_isk(struct fd_parms *p, u32 id)
{
	InetSkEntry ie = INET_SK_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry o = SK_OPTS_ENTRY__INIT;
	IpOptsEntry ip = IP_OPTS_ENTRY__INIT;
	struct isk_info own, *i;
	int type, ret = -1;

	if (collect_in_netns(p->pid, p->fd))
		return -1;
	isk_collected = true;
	if (get_opt(p->lfd, SOL_SOCKET, SO_TYPE, &type, "SO_TYPE"))
		return -1;
	i = find_isk(p->st.st_ino);
	if (!i) {
		if (isk_from_socket(p, &own, type))
			return -1;
		i = &own;
	}
	if (check_isk(p, i, type))
		return -1;
	ie.id = id;
	ie.fown = &fown;
	ie.opts = &o;
	if (fill_isk(p, i, &ie, type) || dump_fown(p, &fown) ||
	    dump_inet_opts(p->lfd, &ie, &o, &ip))
		goto out;
	if (i->state == TCP_ESTABLISHED && i->proto == IPPROTO_TCP && !opts.tcp_close &&
	    dump_tcp_stream(p->lfd, p->pid, p->fd, &ie))
		goto out;
	fe.type = FD_TYPES__INETSK;
	fe.id = id;
	fe.isk = &ie;
	pr_info("pid %d fd %d: %s socket %u, %s, %s, peer %s, backlog %u\n", p->pid, p->fd,
		proto_name(i->proto), i->ino, tcp_state_name(i->state),
		addr_str(i->family, i->src, i->sport), addr_str(i->family, i->dst, i->dport),
		ie.backlog);
	ret = write_file_entry(&fe);
out:
	free_isk_entry(&ie);
	return ret;
}

static int isk_dump_fini(void)
{
	struct isk_info *i, *n;

	list_for_each_entry_safe(i, n, &isk_infos, list) {
		list_del(&i->list);
		free(i);
	}
	isk_collected = false;
	return 0;
}

/* ---- restore ---- */

/* Established connections: made again once every other socket is bound. */
struct isk_rst {
	struct list_head list;
	FileEntry *fe;
};

static LIST_HEAD(isk_repairs);

static int set_opt(int sk, int level, int opt, int val, const char *what)
{
	if (setsockopt(sk, level, opt, &val, sizeof(val))) {
		pr_perror("cannot set %s to %d", what, val);
		return -1;
	}
	return 0;
}

socklen_t isk_addr(InetSkEntry *ie, bool dst, struct sockaddr_storage *ss)
{
	const u32 *a = dst ? ie->dst_addr : ie->src_addr;
	size_t n = dst ? ie->n_dst_addr : ie->n_src_addr;
	u32 port = dst ? ie->dst_port : ie->src_port;

	memset(ss, 0, sizeof(*ss));
	if (ie->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		if (n >= 1)
			s->sin_addr.s_addr = a[0];
		return sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		if (n >= 4)
			memcpy(&s->sin6_addr, a, 16);
		return sizeof(*s);
	}
}

static bool any_addr(InetSkEntry *ie)
{
	size_t i;

	for (i = 0; i < ie->n_src_addr; i++)
		if (ie->src_addr[i])
			return false;
	return !ie->src_port;
}

/*
 * The dumped tree's sockets may still be closing (its tasks exit after
 * the dump, criu's copies at its exit): wait a little for the port.
 */
static int bind_isk(int sk, InetSkEntry *ie)
{
	struct sockaddr_storage ss;
	socklen_t len = isk_addr(ie, false, &ss);
	int tries;

	for (tries = 0;; tries++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (!bind(sk, (struct sockaddr *)&ss, len))
			return 0;
		if (errno != EADDRINUSE || tries >= 200)
			break;
		nanosleep(&ts, NULL);
	}
	pr_perror("cannot bind %s socket %u to %s", proto_name(ie->proto), ie->ino,
		  addr_str(ie->family, ie->src_addr, ie->src_port));
	return -1;
}

/* What must be set before bind. */
static int isk_pre_bind(int sk, InetSkEntry *ie)
{
	SkOptsEntry *o = ie->opts;
	IpOptsEntry *ip = ie->ip_opts;

	if (restore_sk_bufs(sk, o))
		return -1;
	if (ie->family == AF_INET6 && ie->has_v6only &&
	    set_opt(sk, SOL_IPV6, IPV6_V6ONLY, ie->v6only, "IPV6_V6ONLY"))
		return -1;
	if (o->has_reuseaddr && o->reuseaddr &&
	    set_opt(sk, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"))
		return -1;
	if (o->has_so_reuseport && o->so_reuseport &&
	    set_opt(sk, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"))
		return -1;
	if (o->so_bound_dev && setsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, o->so_bound_dev,
					  strlen(o->so_bound_dev))) {
		pr_perror("cannot bind socket %u to device %s", ie->ino, o->so_bound_dev);
		return -1;
	}
	if (ip && ip->has_freebind && ip->freebind &&
	    set_opt(sk, SOL_IP, IP_FREEBIND, 1, "IP_FREEBIND"))
		return -1;
	if (ip && ip->has_transparent && ip->transparent &&
	    set_opt(sk, SOL_IP, IP_TRANSPARENT, 1, "IP_TRANSPARENT (needs CAP_NET_ADMIN)"))
		return -1;
	return 0;
}

static int isk_filter(int sk, SkOptsEntry *o)
{
	struct sock_fprog prog = {
		.len = o->n_so_filter,
		.filter = (struct sock_filter *)o->so_filter,
	};

	if (!o->n_so_filter)
		return 0;
	if (setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog))) {
		pr_perror("cannot attach the socket filter");
		return -1;
	}
	return 0;
}

/* What is set once the socket is bound, connected or listening. */
static int isk_post(int sk, InetSkEntry *ie)
{
	SkOptsEntry *o = ie->opts;

	if (restore_sk_opts(sk, o) || isk_filter(sk, o))
		return -1;
	if (o->has_so_broadcast && o->so_broadcast &&
	    set_opt(sk, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST"))
		return -1;
	if (o->has_so_keepalive && o->so_keepalive &&
	    set_opt(sk, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"))
		return -1;
	if (ie->has_linger && ie->linger) {
		struct linger l = { 1, ie->linger - 1 };

		if (setsockopt(sk, SOL_SOCKET, SO_LINGER, &l, sizeof(l))) {
			pr_perror("cannot set SO_LINGER");
			return -1;
		}
	}
	if (ie->proto != IPPROTO_TCP)
		return 0;
	if ((o->has_tcp_keepcnt && o->tcp_keepcnt &&
	     set_opt(sk, SOL_TCP, TCP_KEEPCNT, o->tcp_keepcnt, "TCP_KEEPCNT")) ||
	    (o->has_tcp_keepidle && o->tcp_keepidle &&
	     set_opt(sk, SOL_TCP, TCP_KEEPIDLE, o->tcp_keepidle, "TCP_KEEPIDLE")) ||
	    (o->has_tcp_keepintvl && o->tcp_keepintvl &&
	     set_opt(sk, SOL_TCP, TCP_KEEPINTVL, o->tcp_keepintvl, "TCP_KEEPINTVL")))
		return -1;
	if (ie->has_tcp_nodelay && ie->tcp_nodelay &&
	    set_opt(sk, SOL_TCP, TCP_NODELAY, 1, "TCP_NODELAY"))
		return -1;
	return 0;
}

static int isk_shutdown(int sk, InetSkEntry *ie)
{
	int how;

	if (!ie->has_shutdown || !ie->shutdown)
		return 0;
	how = ie->shutdown == 3 ? SHUT_RDWR : ie->shutdown == 1 ? SHUT_RD : SHUT_WR;
	if (shutdown(sk, how) && errno != ENOTCONN) {
		pr_perror("cannot shut socket %u down", ie->ino);
		return -1;
	}
	return 0;
}

/* Listening, bound, connected UDP, or an established one restored closed. */
static int open_plain(int sk, InetSkEntry *ie)
{
	bool est = ie->state == TCP_ESTABLISHED;

	if (isk_pre_bind(sk, ie))
		return -1;
	if (est && ie->proto == IPPROTO_TCP) {
		pr_info("TCP socket %u: restored closed (--tcp-close)\n", ie->ino);
		return isk_post(sk, ie);
	}
	if (!any_addr(ie) && bind_isk(sk, ie))
		return -1;
	if (est) {
		struct sockaddr_storage ss;
		socklen_t len = isk_addr(ie, true, &ss);

		if (connect(sk, (struct sockaddr *)&ss, len)) {
			pr_perror("cannot connect UDP socket %u to %s", ie->ino,
				  addr_str(ie->family, ie->dst_addr, ie->dst_port));
			return -1;
		}
	}
	if (ie->state == TCP_LISTEN && listen(sk, ie->backlog)) {
		pr_perror("cannot listen on TCP socket %u", ie->ino);
		return -1;
	}
	return isk_shutdown(sk, ie) || isk_post(sk, ie) ? -1 : 0;
}

static bool has_stream(InetSkEntry *ie)
{
	char name[64];

	snprintf(name, sizeof(name), image_name_fmt(CR_FD_TCP_STREAM), (unsigned long)ie->ino);
	return !faccessat(get_image_dir_fd(), name, F_OK, 0);
}

static int make_isk(FileEntry *fe, int *fd)
{
	InetSkEntry *ie = fe->isk;
	struct isk_rst *r;
	int sk;

	if (!ie || (ie->family != AF_INET && ie->family != AF_INET6) ||
	    (ie->type != SOCK_STREAM && ie->type != SOCK_DGRAM) || !ie->opts) {
		pr_err("files.img: file %u is not an inet socket we can make\n", fe->id);
		return -1;
	}
	sk = socket(ie->family, ie->type | SOCK_CLOEXEC, ie->proto);
	if (sk < 0) {
		pr_perror("cannot create a %s socket", proto_name(ie->proto));
		return -1;
	}
	if (ie->state == TCP_ESTABLISHED && ie->proto == IPPROTO_TCP && !opts.tcp_close &&
	    has_stream(ie)) {
		/* bound and connected once every listener is (anchors_done) */
		r = xzalloc(sizeof(*r));
		if (!r)
			goto err;
		r->fe = fe;
		list_add_tail(&r->list, &isk_repairs);
	} else if (open_plain(sk, ie)) {
		goto err;
	}
	if (fcntl(sk, F_SETFL, ie->flags & (O_NONBLOCK | O_ASYNC))) {
		pr_perror("cannot set the flags of socket %u", ie->ino);
		goto err;
	}
	if (restore_fown(sk, ie->fown))
		goto err;
	*fd = sk;
	return 0;
err:
	close(sk);
	return -1;
}

static int make_repaired(void)
{
	struct isk_rst *r;
	int ret = 0;

	list_for_each_entry(r, &isk_repairs, list) {
		InetSkEntry *ie = r->fe->isk;
		int sk = anchor_fd(r->fe->id);

		if (sk < 0) {
			pr_err("TCP socket %u: no anchor for file %u\n", ie->ino, r->fe->id);
			ret = -1;
		}
		if (ret || isk_pre_bind(sk, ie) || restore_tcp_stream(sk, ie)) {
			ret = -1;
			break;
		}
	}
	if (tcp_restore_finish(!ret))
		ret = -1;
	list_for_each_entry(r, &isk_repairs, list) {
		int sk = anchor_fd(r->fe->id);

		if (!ret && (isk_shutdown(sk, r->fe->isk) || isk_post(sk, r->fe->isk)))
			ret = -1;
	}
	while (!list_empty(&isk_repairs)) {
		r = list_first_entry(&isk_repairs, struct isk_rst, list);
		list_del(&r->list);
		free(r);
	}
	/* the lock stays until the whole restore is done (cr-restore.c) */
	return ret;
}

/*
 * A tree with a net namespace of its own: that namespace is made with the
 * root task, so criu holds a stand-in at each socket's anchor, and the root
 * makes the sockets once it is in the namespace with loopback up (before it
 * installs its descriptors and forks), each at the number of its stand-in.
 */
static LIST_HEAD(isk_deferred);

static bool in_own_netns(void)
{
	return restore_ns_flags() & CLONE_NEWNET;
}

static int open_isk(FileEntry *fe, int *fd)
{
	struct isk_rst *r;

	if (!in_own_netns())
		return make_isk(fe, fd);
	r = xzalloc(sizeof(*r));
	if (!r)
		return -1;
	r->fe = fe;
	list_add_tail(&r->list, &isk_deferred);
	*fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("cannot open a stand-in for socket %u", fe->isk ? fe->isk->ino : 0);
		return -1;
	}
	return 0;
}

static int isk_anchors_done(void)
{
	return in_own_netns() ? 0 : make_repaired();
}

/*
 * With the tree's own mounts criu opened the anchors after the fork and
 * handed them over (mount-rst.c): the root has their stand-ins but not the
 * list criu made; every socket anchor it holds is one.
 */
static int collect_handed_isks(void)
{
	u32 id, n = file_id_limit();

	if (!list_empty(&isk_deferred) || !mounts_in_images())
		return 0;
	for (id = 1; id < n; id++) {
		FileEntry *fe = find_file_entry(id);
		struct isk_rst *r;

		if (!fe || fe->type != FD_TYPES__INETSK || anchor_fd(id) < 0)
			continue;
		r = xzalloc(sizeof(*r));
		if (!r)
			return -1;
		r->fe = fe;
		list_add_tail(&r->list, &isk_deferred);
	}
	return 0;
}

int isk_open_in_netns(void)
{
	struct isk_rst *r;

	if (collect_handed_isks())
		return -1;
	list_for_each_entry(r, &isk_deferred, list) {
		int at = anchor_fd(r->fe->id), sk;

		if (at < 0 || make_isk(r->fe, &sk))
			return -1;
		if (dup2(sk, at) < 0) {
			pr_perror("cannot put socket %u at fd %d", r->fe->isk->ino, at);
			close(sk);
			return -1;
		}
		close(sk);
		pr_debug("socket %u made in the tree's net namespace at fd %d\n",
			 r->fe->isk->ino, at);
	}
	return make_repaired();
}

static int isk_collect(void)
{
	return 0;
}

const struct fd_kind inet_sk_kind = {
	.name = "inet socket",
	.type = FD_TYPES__INETSK,
	.match = is_inet_sk,
	.dump = dump_isk,
	.dump_fini = isk_dump_fini,
	.collect = isk_collect,
	.open = open_isk,
	.anchors_done = isk_anchors_done,
};
