// SPDX-License-Identifier: GPL-2.0
/*
 * Established TCP connections (--tcp-established), through TCP_REPAIR.
 *
 * Dump: criu's own copy of the socket is put in repair mode while the
 * tree is frozen; in that mode the socket sends nothing (no ACK, no
 * window update, no FIN or RST when it is closed) and shows its
 * sequence numbers, both queues (MSG_PEEK), the options negotiated at
 * the handshake and the window.  If the tree is killed, criu's copy,
 * closed last, takes the connection away silently; if it runs on (-R,
 * or a failed dump), repair mode is switched off before it resumes.
 *
 * Restore: a fresh socket in repair mode gets the sequence numbers,
 * is bound, "connected" (repair mode skips the handshake), given the
 * options, the receive queue, the window and the sent part of the send
 * queue; repair mode off; then the unsent part is sent normally.
 *
 * A peer outside the tree may send during the frozen time and get a
 * reset: the network lock (net-lock.c, --network-lock) is taken before
 * the first socket goes into repair mode and released after restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cr_options.h"
#include "image.h"
#include "net-lock.h"
#include "sockets.h"
#include "tcp-stream.pb-c.h"
#include "util.h"

/* criu's copies of the sockets put in repair mode by this dump */
struct repaired_sk {
	struct list_head list;
	int sk;
	u32 ino;
};

static LIST_HEAD(repaired_sks);
static bool net_locked;

static int repair_on(int sk, pid_t pid, int fd, u32 ino)
{
	struct repaired_sk *r;
	int on = TCP_REPAIR_ON;

	if (setsockopt(sk, SOL_TCP, TCP_REPAIR, &on, sizeof(on))) {
		char path[64], ns[64] = "?";
		int err = errno;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		n = readlink(path, ns, sizeof(ns) - 1);
		ns[n > 0 ? n : 1] = 0;
		errno = err;
		if (err == EPERM)
			pr_err("pid %d fd %d: TCP_REPAIR needs CAP_NET_ADMIN in the user namespace "
			       "that owns the socket's net namespace (%s), which criu lacks\n",
			       pid, fd, ns);
		else
			pr_perror("pid %d fd %d: cannot set TCP_REPAIR", pid, fd);
		return -1;
	}
	r = xzalloc(sizeof(*r));
	if (r)
		r->sk = fcntl(sk, F_DUPFD_CLOEXEC, 0);
	if (!r || r->sk < 0) {
		int off = TCP_REPAIR_OFF;

		pr_perror("cannot keep socket %u", ino);
		setsockopt(sk, SOL_TCP, TCP_REPAIR, &off, sizeof(off));
		free(r);
		return -1;
	}
	r->ino = ino;
	list_add_tail(&r->list, &repaired_sks);
	return 0;
}

void tcp_dump_finish(bool resume)
{
	struct repaired_sk *r, *n;
	int off = TCP_REPAIR_OFF;

	list_for_each_entry_safe(r, n, &repaired_sks, list) {
		if (resume && setsockopt(r->sk, SOL_TCP, TCP_REPAIR, &off, sizeof(off)))
			pr_perror("cannot take TCP socket %u out of repair mode", r->ino);
		/* killed: closing the last copy in repair mode sends nothing */
		close(r->sk);
		list_del(&r->list);
		free(r);
	}
	/* the lock itself is cr-dump's to remove (failed dump, -R) or the restore's */
	net_locked = false;
}

static int get_tcp(int sk, int opt, void *val, socklen_t len, const char *what)
{
	socklen_t l = len;

	if (getsockopt(sk, SOL_TCP, opt, val, &l)) {
		pr_perror("cannot read %s", what);
		return -1;
	}
	return 0;
}

static int set_tcp(int sk, int opt, const void *val, socklen_t len, const char *what)
{
	if (setsockopt(sk, SOL_TCP, opt, val, len)) {
		pr_perror("cannot set %s", what);
		return -1;
	}
	return 0;
}

/* One queue: its sequence number, length, and bytes (peeked). */
static int read_queue(int sk, int q, u32 *seq, u32 *len, char **buf)
{
	const char *name = q == TCP_RECV_QUEUE ? "receive" : "send";
	int n = 0;
	ssize_t got;

	if (set_tcp(sk, TCP_REPAIR_QUEUE, &q, sizeof(q), "TCP_REPAIR_QUEUE") ||
	    get_tcp(sk, TCP_QUEUE_SEQ, seq, sizeof(*seq), "TCP_QUEUE_SEQ"))
		return -1;
	if (ioctl(sk, q == TCP_RECV_QUEUE ? SIOCINQ : SIOCOUTQ, &n)) {
		pr_perror("cannot read the length of the %s queue", name);
		return -1;
	}
	*len = n;
	*buf = NULL;
	if (!n)
		return 0;
	*buf = xmalloc(n);
	if (!*buf)
		return -1;
	got = recv(sk, *buf, n, MSG_PEEK | MSG_DONTWAIT);
	if (got != n) {
		if (got >= 0)
			errno = EIO;
		pr_perror("cannot peek the %u bytes of the %s queue (got %zd)", n, name, got);
		return -1;
	}
	return 0;
}

static int read_conn(int sk, TcpStreamEntry *te)
{
	struct tcp_info ti;
	struct tcp_repair_window w;
	int mss, ts, nd, cork, unsent = 0;

	memset(&ti, 0, sizeof(ti));
	if (get_tcp(sk, TCP_INFO, &ti, sizeof(ti), "TCP_INFO") ||
	    get_tcp(sk, TCP_MAXSEG, &mss, sizeof(mss), "TCP_MAXSEG") ||
	    get_tcp(sk, TCP_TIMESTAMP, &ts, sizeof(ts), "TCP_TIMESTAMP") ||
	    get_tcp(sk, TCP_REPAIR_WINDOW, &w, sizeof(w), "TCP_REPAIR_WINDOW") ||
	    get_tcp(sk, TCP_NODELAY, &nd, sizeof(nd), "TCP_NODELAY") ||
	    get_tcp(sk, TCP_CORK, &cork, sizeof(cork), "TCP_CORK"))
		return -1;
	if (ioctl(sk, SIOCOUTQNSD, &unsent)) {
		pr_perror("cannot read the unsent length of the send queue");
		return -1;
	}
	te->opt_mask = ti.tcpi_options;
	te->snd_wscale = ti.tcpi_snd_wscale;
	te->has_rcv_wscale = true;
	te->rcv_wscale = ti.tcpi_rcv_wscale;
	te->mss_clamp = mss;
	te->has_timestamp = true;
	te->timestamp = ts;
	te->has_nodelay = te->has_cork = true;
	te->nodelay = nd;
	te->cork = cork;
	te->has_unsq_len = true;
	te->unsq_len = unsent;
	te->has_snd_wl1 = te->has_snd_wnd = te->has_max_window = true;
	te->has_rcv_wnd = te->has_rcv_wup = true;
	te->snd_wl1 = w.snd_wl1;
	te->snd_wnd = w.snd_wnd;
	te->max_window = w.max_window;
	te->rcv_wnd = w.rcv_wnd;
	te->rcv_wup = w.rcv_wup;
	return 0;
}

static int write_stream(u32 ino, TcpStreamEntry *te, const char *in, const char *out)
{
	struct cr_img *img = open_image(CR_FD_TCP_STREAM, O_DUMP, (unsigned long)ino);
	int ret = -1;

	if (!img)
		return -1;
	if (!pb_write(img, te) && (!te->inq_len || !img_write_raw(img, in, te->inq_len)) &&
	    (!te->outq_len || !img_write_raw(img, out, te->outq_len)))
		ret = 0;
	if (close_image(img))
		ret = -1;
	return ret;
}

int dump_tcp_stream(int sk, pid_t pid, int fd, InetSkEntry *ie)
{
	TcpStreamEntry te = TCP_STREAM_ENTRY__INIT;
	char *in = NULL, *out = NULL;
	int ret = -1;

	/* from here until the restore, no packet of this connection may pass */
	if (network_lock_add(ie->family, ie->src_addr, ie->src_port, ie->dst_addr, ie->dst_port))
		return -1;
	if (!net_locked) {
		if (network_lock())
			return -1;
		net_locked = true;
	}
	if (repair_on(sk, pid, fd, ie->ino))
		return -1;
	if (read_queue(sk, TCP_RECV_QUEUE, &te.inq_seq, &te.inq_len, &in) ||
	    read_queue(sk, TCP_SEND_QUEUE, &te.outq_seq, &te.outq_len, &out) ||
	    read_conn(sk, &te))
		goto out;
	if (te.unsq_len > te.outq_len)
		te.unsq_len = te.outq_len;
	pr_info("pid %d fd %d: TCP stream %u: in %u bytes to seq %u, out %u bytes (%u unsent) "
		"to seq %u, options %#x, mss %u, wscale %u/%u\n", pid, fd, ie->ino, te.inq_len,
		te.inq_seq, te.outq_len, te.unsq_len, te.outq_seq, te.opt_mask, te.mss_clamp,
		te.snd_wscale, te.rcv_wscale);
	ret = write_stream(ie->ino, &te, in, out);
out:
	free(in);
	free(out);
	return ret;
}

/* ---- restore ---- */

static int read_stream(u32 ino, TcpStreamEntry **te, char **in, char **out)
{
	struct cr_img *img = open_image(CR_FD_TCP_STREAM, O_RSTR, (unsigned long)ino);
	int ret = -1;

	*in = *out = NULL;
	*te = NULL;
	if (!img)
		return -1;
	if (pb_read_one(img, (void **)te, &tcp_stream_entry__descriptor) < 0)
		goto out;
	if ((*te)->inq_len > (64U << 20) || (*te)->outq_len > (64U << 20) ||
	    ((*te)->has_unsq_len && (*te)->unsq_len > (*te)->outq_len)) {
		pr_err("tcp-stream-%x.img: queue lengths out of range\n", ino);
		goto out;
	}
	*in = xmalloc((*te)->inq_len + 1);
	*out = xmalloc((*te)->outq_len + 1);
	if (*in && *out && !img_read_raw(img, *in, (*te)->inq_len) &&
	    !img_read_raw(img, *out, (*te)->outq_len))
		ret = 0;
out:
	close_image(img);
	return ret;
}

static int set_seq(int sk, int q, u32 seq)
{
	return set_tcp(sk, TCP_REPAIR_QUEUE, &q, sizeof(q), "TCP_REPAIR_QUEUE") ||
	       set_tcp(sk, TCP_QUEUE_SEQ, &seq, sizeof(seq), "TCP_QUEUE_SEQ") ? -1 : 0;
}

static int set_conn_opts(int sk, TcpStreamEntry *te)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	o[n].opt_code = TCPOPT_MAXSEG;
	o[n++].opt_val = te->mss_clamp;
	if (te->opt_mask & TCPI_OPT_WSCALE) {
		o[n].opt_code = TCPOPT_WINDOW;
		o[n++].opt_val = te->snd_wscale | (te->rcv_wscale << 16);
	}
	if (te->opt_mask & TCPI_OPT_SACK) {
		o[n].opt_code = TCPOPT_SACK_PERMITTED;
		o[n++].opt_val = 0;
	}
	if (te->opt_mask & TCPI_OPT_TIMESTAMPS) {
		o[n].opt_code = TCPOPT_TIMESTAMP;
		o[n++].opt_val = 0;
	}
	if (set_tcp(sk, TCP_REPAIR_OPTIONS, o, n * sizeof(o[0]), "TCP_REPAIR_OPTIONS"))
		return -1;
	if (te->has_timestamp && (te->opt_mask & TCPI_OPT_TIMESTAMPS) &&
	    set_tcp(sk, TCP_TIMESTAMP, &te->timestamp, sizeof(te->timestamp), "TCP_TIMESTAMP"))
		return -1;
	return 0;
}

static int set_window(int sk, TcpStreamEntry *te)
{
	struct tcp_repair_window w = {
		.snd_wl1 = te->snd_wl1, .snd_wnd = te->snd_wnd, .max_window = te->max_window,
		.rcv_wnd = te->rcv_wnd, .rcv_wup = te->rcv_wup,
	};

	if (!te->has_snd_wl1)
		return 0;
	return set_tcp(sk, TCP_REPAIR_WINDOW, &w, sizeof(w), "TCP_REPAIR_WINDOW");
}

/* Write len bytes into a queue; repair mode takes them in pieces. */
static int fill(int sk, int q, const char *buf, u32 len, const char *what)
{
	u32 done = 0;

	if (len && q >= 0 && set_tcp(sk, TCP_REPAIR_QUEUE, &q, sizeof(q), "TCP_REPAIR_QUEUE"))
		return -1;
	while (done < len) {
		ssize_t n = send(sk, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			pr_perror("cannot queue %u bytes of the %s queue again (%u done)", len,
				  what, done);
			return -1;
		}
		done += n;
	}
	return 0;
}

static int connect_repaired(int sk, InetSkEntry *ie, TcpStreamEntry *te, const char *in,
			    const char *out)
{
	struct sockaddr_storage src, dst;
	socklen_t slen = isk_addr(ie, false, &src), dlen = isk_addr(ie, true, &dst);
	u32 sent = te->outq_len - (te->has_unsq_len ? te->unsq_len : 0);

	/* writing a queue moves its sequence number on to the dumped one */
	if (set_seq(sk, TCP_RECV_QUEUE, te->inq_seq - te->inq_len) ||
	    set_seq(sk, TCP_SEND_QUEUE, te->outq_seq - te->outq_len))
		return -1;
	if (bind(sk, (struct sockaddr *)&src, slen)) {
		pr_perror("cannot bind TCP socket %u", ie->ino);
		return -1;
	}
	if (connect(sk, (struct sockaddr *)&dst, dlen)) {
		pr_perror("cannot connect TCP socket %u in repair mode", ie->ino);
		return -1;
	}
	if (set_conn_opts(sk, te) || fill(sk, TCP_RECV_QUEUE, in, te->inq_len, "receive") ||
	    set_window(sk, te) || fill(sk, TCP_SEND_QUEUE, out, sent, "send"))
		return -1;
	return 0;
}

/* Connected in repair mode, waiting for every other end to be (tcp_restore_finish). */
struct pending_sk {
	struct list_head list;
	int sk;
	u32 ino;
	u32 sndbuf;		/* the dumped SO_SNDBUF, raised meanwhile */
	TcpStreamEntry *te;
	char *out;
};

static LIST_HEAD(pending_sks);

static void free_pending(struct pending_sk *p)
{
	list_del(&p->list);
	pb_free(p->te);
	free(p->out);
	free(p);
}

/*
 * The send buffer must hold the whole queue with the kernel's overhead
 * per packet: raised while it is filled (beyond net.core.wmem_max only
 * with CAP_NET_ADMIN), put back to the dumped size after.
 */
static int sndbuf_for(int sk, u32 bytes)
{
	long want = 4L * bytes + (1 << 16);
	int val;

	if (!bytes)
		return 0;
	val = want > (1L << 30) ? 1 << 30 : (int)want;
	val /= 2;
	if (setsockopt(sk, SOL_SOCKET, SO_SNDBUFFORCE, &val, sizeof(val)) &&
	    setsockopt(sk, SOL_SOCKET, SO_SNDBUF, &val, sizeof(val))) {
		pr_perror("cannot raise SO_SNDBUF to %d", val * 2);
		return -1;
	}
	return 0;
}

int restore_tcp_stream(int sk, InetSkEntry *ie)
{
	struct pending_sk *p;
	TcpStreamEntry *te;
	char *in, *out;
	int on = TCP_REPAIR_ON;

	if (read_stream(ie->ino, &te, &in, &out))
		goto err;
	if (set_tcp(sk, TCP_REPAIR, &on, sizeof(on), "TCP_REPAIR")) {
		if (errno == EPERM)
			pr_err("TCP socket %u: TCP_REPAIR needs CAP_NET_ADMIN in the user "
			       "namespace that owns criu's net namespace\n", ie->ino);
		goto err;
	}
	if (sndbuf_for(sk, te->outq_len) || connect_repaired(sk, ie, te, in, out))
		goto err;
	p = xzalloc(sizeof(*p));
	if (!p)
		goto err;
	p->sk = sk;
	p->ino = ie->ino;
	p->sndbuf = ie->opts->so_sndbuf;
	p->te = te;
	p->out = out;
	list_add_tail(&p->list, &pending_sks);
	free(in);
	return 0;
err:
	pb_free(te);
	free(in);
	free(out);
	return -1;
}

/*
 * Out of repair mode only once every end is connected again: leaving it
 * sends a window probe, which an end not made yet would answer with a
 * reset.
 */
static int finish_one(struct pending_sk *p)
{
	TcpStreamEntry *te = p->te;
	int on = 1, off = TCP_REPAIR_OFF;

	if (set_tcp(p->sk, TCP_REPAIR, &off, sizeof(off), "TCP_REPAIR off"))
		return -1;
	/* the unsent tail goes out as any new data would */
	if (te->has_unsq_len &&
	    fill(p->sk, -1, p->out + te->outq_len - te->unsq_len, te->unsq_len, "send (unsent)"))
		return -1;
	if (te->outq_len) {
		int half = p->sndbuf / 2;

		if (setsockopt(p->sk, SOL_SOCKET, SO_SNDBUFFORCE, &half, sizeof(half)) &&
		    setsockopt(p->sk, SOL_SOCKET, SO_SNDBUF, &half, sizeof(half))) {
			pr_perror("cannot set SO_SNDBUF back to %u", p->sndbuf);
			return -1;
		}
	}
	if (te->has_nodelay && te->nodelay &&
	    set_tcp(p->sk, TCP_NODELAY, &on, sizeof(on), "TCP_NODELAY"))
		return -1;
	if (te->has_cork && te->cork && set_tcp(p->sk, TCP_CORK, &on, sizeof(on), "TCP_CORK"))
		return -1;
	pr_info("TCP socket %u: connected again, %u bytes in, %u out (%u unsent)\n", p->ino,
		te->inq_len, te->outq_len, te->has_unsq_len ? te->unsq_len : 0);
	return 0;
}

int tcp_restore_finish(bool ok)
{
	struct pending_sk *p, *n;
	int ret = ok ? 0 : -1;

	list_for_each_entry_safe(p, n, &pending_sks, list) {
		if (!ret && finish_one(p))
			ret = -1;
		free_pending(p);
	}
	return ret;
}
