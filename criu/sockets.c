// SPDX-License-Identifier: GPL-2.0
/*
 * What every kind of socket shares: SOL_SOCKET options (sk_opts_entry)
 * and the messages waiting in a receive queue (sk-queues.img).
 *
 * A queue is copied without consuming it: with SO_PEEK_OFF set, each
 * recvmsg(MSG_PEEK) returns the next message (or run of stream bytes)
 * after the ones already peeked.  It is done on criu's own copy of the
 * task's descriptor; the tree is frozen, so nobody reads meanwhile.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "image.h"
#include "sk-packet.pb-c.h"
#include "sockets.h"

/* The largest message we copy: unix datagrams are bounded by SO_SNDBUF. */
#define SK_QBUF_SIZE (8 << 20)
/* Room for the control data of one message: up to SCM_MAX_FD fds and creds. */
#define SK_CBUF_SIZE 4096

static struct cr_img *queues_img;

/* Close the fds a peek with a control buffer installed; say if any came. */
static bool drop_rights(struct msghdr *mh)
{
	struct cmsghdr *c;
	bool any = false;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		int *fds = (int *)CMSG_DATA(c);
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++)
			close(fds[i]);
		any = true;
	}
	return any || (mh->msg_flags & MSG_CTRUNC);
}

static int write_packet(u32 id, const void *data, size_t len, unsigned int flags,
			const struct sockaddr_un *from, socklen_t flen)
{
	SkPacketEntry pe = SK_PACKET_ENTRY__INIT;

	if (!queues_img) {
		queues_img = open_image(CR_FD_SK_QUEUES, O_DUMP);
		if (!queues_img)
			return -1;
	}
	pe.id_for = id;
	pe.length = len;
	if (flags & SKQ_SENDERS) {
		size_t off = offsetof(struct sockaddr_un, sun_path);

		pe.has_sender = true;
		pe.sender.len = flen > off ? flen - off : 0;
		/* a path as unix_diag names it, without its NUL */
		if (pe.sender.len && from->sun_path[0])
			pe.sender.len = strnlen(from->sun_path, pe.sender.len);
		pe.sender.data = (u8 *)from->sun_path;
	}
	pe.has_pending = pe.pending = (flags & SKQ_PENDING) != 0;
	if (pb_write(queues_img, &pe) || (len && img_write_raw(queues_img, data, len)))
		return -1;
	return 0;
}

/* Peek every message; returns the number or -1. */
static int peek_all(int sk, int type, unsigned int flags, u32 id, char *buf, char *cbuf,
		    bool *in_flight)
{
	/* a stream's 0 is its end; a shut seqpacket says 0 when empty, too */
	bool zero_is_end = type == SOCK_STREAM ||
			   (type == SOCK_SEQPACKET && (flags & SKQ_RCV_SHUT));
	int nr = 0;

	for (;;) {
		struct sockaddr_un from;
		struct iovec iov = { buf, SK_QBUF_SIZE };
		struct msghdr mh = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = SK_CBUF_SIZE,
		};
		ssize_t n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EAGAIN)
			return nr;
		if (n < 0) {
			pr_perror("cannot peek into the queue of socket %u", id);
			return -1;
		}
		if (drop_rights(&mh)) {
			*in_flight = true;
			return nr;
		}
		if (n == 0 && zero_is_end)
			return nr;
		if (mh.msg_flags & MSG_TRUNC) {
			pr_err("socket %u: a queued message is larger than %d bytes\n", id,
			       SK_QBUF_SIZE);
			return -1;
		}
		if (write_packet(id, buf, n, flags, &from, mh.msg_namelen))
			return -1;
		pr_debug("socket %u: %zd bytes queued\n", id, n);
		nr++;
	}
}

int dump_sk_queue(int sk, u32 id, int type, unsigned int flags, bool *in_flight)
{
	char *buf = NULL, *cbuf = NULL;
	int zero = 0, old = -1, ret = -1;
	socklen_t len = sizeof(old);

	*in_flight = false;
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, &len) ||
	    setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero))) {
		pr_perror("cannot set SO_PEEK_OFF on socket %u", id);
		return -1;
	}
	buf = xmalloc(SK_QBUF_SIZE);
	cbuf = xmalloc(SK_CBUF_SIZE);
	if (buf && cbuf) {
		ret = peek_all(sk, type, flags, id, buf, cbuf, in_flight);
		if (ret >= 0) {
			pr_info("socket %u: %d queued messages\n", id, ret);
			ret = 0;
		}
	}
	/* the task may use a peek offset of its own */
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old))) {
		pr_perror("cannot put SO_PEEK_OFF of socket %u back", id);
		ret = -1;
	}
	free(buf);
	free(cbuf);
	return ret;
}

int sk_queue_dump_fini(void)
{
	int ret = 0;

	if (queues_img && close_image(queues_img))
		ret = -1;
	queues_img = NULL;
	return ret;
}

/* ---- restore ---- */

static LIST_HEAD(sk_packets);

static struct sk_packet *take_packet(SkPacketEntry *pe)
{
	struct sk_packet *p;

	if (pe->length > SK_QBUF_SIZE || pe->sender.len > USK_NAME_MAX) {
		pr_err("sk-queues.img: a message of %u bytes for socket %u\n", pe->length,
		       pe->id_for);
		return NULL;
	}
	p = xzalloc(sizeof(*p) + pe->length);
	if (!p)
		return NULL;
	p->id_for = pe->id_for;
	p->len = pe->length;
	p->pending = pe->has_pending && pe->pending;
	p->has_sender = pe->has_sender;
	p->sender_len = pe->sender.len;
	memcpy(p->sender, pe->sender.data, pe->sender.len);
	return p;
}

int collect_sk_queues(void)
{
	struct cr_img *img = open_image(CR_FD_SK_QUEUES, O_RSTR | O_OPT);
	int ret;

	if (!img)
		return -1;
	for (;;) {
		SkPacketEntry *pe;
		struct sk_packet *p;

		ret = pb_read_one_eof(img, (void **)&pe, &sk_packet_entry__descriptor);
		if (ret <= 0)
			break;
		if (pe->n_scm) {
			pr_err("sk-queues.img: a message of socket %u carries control data, "
			       "which is not supported\n", pe->id_for);
			pb_free(pe);
			ret = -1;
			break;
		}
		p = take_packet(pe);
		pb_free(pe);
		if (!p) {
			ret = -1;
			break;
		}
		list_add_tail(&p->list, &sk_packets);
		if (p->len && img_read_raw(img, p->data, p->len)) {
			ret = -1;
			break;
		}
	}
	close_image(img);
	return ret < 0 ? -1 : 0;
}

struct sk_packet *sk_queue_next(u32 id, bool pending, struct sk_packet *prev)
{
	struct list_head *l;

	for (l = prev ? prev->list.next : sk_packets.next; l != &sk_packets; l = l->next) {
		struct sk_packet *p = list_entry(l, struct sk_packet, list);

		if (p->id_for == id && p->pending == pending)
			return p;
	}
	return NULL;
}

size_t sk_queue_bytes(u32 id, bool pending)
{
	struct sk_packet *p = NULL;
	size_t n = 0;

	while ((p = sk_queue_next(id, pending, p)))
		n += p->len;
	return n;
}

int send_sk_packet(int from, const struct sk_packet *p, const struct sockaddr *to,
		   socklen_t tolen)
{
	/* one send per message keeps datagram and seqpacket boundaries */
	ssize_t n = sendto(from, p->data, p->len, MSG_DONTWAIT | MSG_NOSIGNAL, to, tolen);

	if (n != (ssize_t)p->len) {
		if (n >= 0)
			errno = EAGAIN;
		pr_perror("cannot queue %u bytes for socket %u again", p->len, p->id_for);
		return -1;
	}
	return 0;
}

int restore_sk_queue(int peer, u32 id, bool pending)
{
	struct sk_packet *p = NULL;

	while ((p = sk_queue_next(id, pending, p)))
		if (send_sk_packet(peer, p, NULL, 0))
			return -1;
	return 0;
}

/* ---- options ---- */

static int get_int(int sk, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	if (getsockopt(sk, SOL_SOCKET, opt, val, &len)) {
		pr_perror("cannot read socket option %d", opt);
		return -1;
	}
	return 0;
}

static int get_tmo(int sk, int opt, u64 *sec, u64 *usec)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(sk, SOL_SOCKET, opt, &tv, &len)) {
		pr_perror("cannot read socket timeout %d", opt);
		return -1;
	}
	*sec = tv.tv_sec;
	*usec = tv.tv_usec;
	return 0;
}

/* An option the socket's family may not have: 1 with *has set, 1 without, 0 on error. */
static int get_opt_if(int sk, int opt, int *val, protobuf_c_boolean *has)
{
	socklen_t len = sizeof(*val);

	*val = 0;
	*has = !getsockopt(sk, SOL_SOCKET, opt, val, &len);
	if (*has || errno == EOPNOTSUPP || errno == ENOPROTOOPT)
		return 1;
	pr_perror("cannot read socket option %d", opt);
	return 0;
}

int dump_sk_opts(int sk, SkOptsEntry *o)
{
	int snd, rcv, cred, sec, prio, lowat;

	if (get_int(sk, SO_SNDBUF, &snd) || get_int(sk, SO_RCVBUF, &rcv) ||
	    get_tmo(sk, SO_SNDTIMEO, &o->so_snd_tmo_sec, &o->so_snd_tmo_usec) ||
	    get_tmo(sk, SO_RCVTIMEO, &o->so_rcv_tmo_sec, &o->so_rcv_tmo_usec) ||
	    get_int(sk, SO_PRIORITY, &prio) || get_int(sk, SO_RCVLOWAT, &lowat))
		return -1;
	o->so_sndbuf = snd;
	o->so_rcvbuf = rcv;
	/* recent kernels know these only on unix and netlink sockets */
	if (!get_opt_if(sk, SO_PASSCRED, &cred, &o->has_so_passcred) ||
	    !get_opt_if(sk, SO_PASSSEC, &sec, &o->has_so_passsec))
		return -1;
	o->so_passcred = cred;
	o->so_passsec = sec;
	o->has_so_priority = o->has_so_rcvlowat = true;
	o->so_priority = prio;
	o->so_rcvlowat = lowat;
	return 0;
}

static int set_int(int sk, int opt, int val, const char *what)
{
	if (setsockopt(sk, SOL_SOCKET, opt, &val, sizeof(val))) {
		pr_perror("cannot set %s to %d", what, val);
		return -1;
	}
	return 0;
}

/*
 * getsockopt shows twice what was asked.  SO_*BUFFORCE (CAP_NET_ADMIN)
 * may go beyond net.core.[wr]mem_max; without it the plain option does.
 */
static int set_buf(int sk, int opt, int force, u32 want, const char *what)
{
	int val = want / 2, got;

	if (setsockopt(sk, SOL_SOCKET, force, &val, sizeof(val)) &&
	    set_int(sk, opt, val, what))
		return -1;
	if (get_int(sk, opt, &got))
		return -1;
	if ((u32)got != want)
		pr_warn("socket %s is %d, was %u (limited by net.core.*mem_max?)\n", what, got,
			want);
	return 0;
}

int restore_sk_bufs(int sk, SkOptsEntry *o)
{
	return set_buf(sk, SO_SNDBUF, SO_SNDBUFFORCE, o->so_sndbuf, "SO_SNDBUF") ||
	       set_buf(sk, SO_RCVBUF, SO_RCVBUFFORCE, o->so_rcvbuf, "SO_RCVBUF") ? -1 : 0;
}

static int set_tmo(int sk, int opt, u64 sec, u64 usec, const char *what)
{
	struct timeval tv = { .tv_sec = sec, .tv_usec = usec };

	if (setsockopt(sk, SOL_SOCKET, opt, &tv, sizeof(tv))) {
		pr_perror("cannot set %s", what);
		return -1;
	}
	return 0;
}

int restore_sk_opts(int sk, SkOptsEntry *o)
{
	if (set_tmo(sk, SO_SNDTIMEO, o->so_snd_tmo_sec, o->so_snd_tmo_usec, "SO_SNDTIMEO") ||
	    set_tmo(sk, SO_RCVTIMEO, o->so_rcv_tmo_sec, o->so_rcv_tmo_usec, "SO_RCVTIMEO"))
		return -1;
	if (o->has_so_passcred && o->so_passcred && set_int(sk, SO_PASSCRED, 1, "SO_PASSCRED"))
		return -1;
	if (o->has_so_passsec && o->so_passsec && set_int(sk, SO_PASSSEC, 1, "SO_PASSSEC"))
		return -1;
	if (o->has_so_priority && o->so_priority &&
	    set_int(sk, SO_PRIORITY, o->so_priority, "SO_PRIORITY"))
		return -1;
	if (o->has_so_rcvlowat && o->so_rcvlowat > 1 &&
	    set_int(sk, SO_RCVLOWAT, o->so_rcvlowat, "SO_RCVLOWAT"))
		return -1;
	return 0;
}
