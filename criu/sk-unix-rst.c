// SPDX-License-Identifier: GPL-2.0
/*
 * Unix sockets at restore: each entry of files.img is made in criu, in
 * whatever order the anchors ask, together with what it needs: a pair at
 * once; a listener with the clients of its pending connections (which
 * connect before anyone accepts); a named connection through a temporary
 * listener bound to the accepted end's name; a datagram socket bound, its
 * queue sent again by the sockets that sent it, then connected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "files.h"
#include "image.h"
#include "sk-unix.h"
#include "sockets.h"

/* How a socket of the images is made again. */
enum usk_how {
	USK_SINGLE,	/* unconnected, maybe bound */
	USK_PAIR,	/* connected both ways, unnamed (stream) or any (dgram): socketpair */
	USK_ORPHAN,	/* connected, its peer closed */
	USK_LISTENER,	/* with the clients of its connections not yet accepted */
	USK_PENDING,	/* such a client */
	USK_CONN,	/* stream or seqpacket with a name: through a temporary listener */
	USK_DGRAM,	/* datagram, bound, or connected to a peer not connected back */
	USK_EXT,	/* the peer outside the tree of a USK_DGRAM: no socket of ours */
};

/* A UNIXSK entry of files.img. */
struct usk_rst {
	struct list_head list;
	FileEntry *fe;
	UnixSkEntry *u;
	struct usk_rst *peer;
	enum usk_how how;
	int sk;			/* criu's fd of it (above the service base), or -1 */
	bool done;		/* connected, queues filled, options set */
	bool taken;		/* handed to the anchors */
};

static LIST_HEAD(usk_rsts);

static int take_usk(void *msg, void *arg)
{
	FileEntry *fe = msg;
	struct usk_rst *r;

	(void)arg;
	if (fe->type != FD_TYPES__UNIXSK) {
		pb_free(fe);
		return 0;
	}
	r = fe->usk ? xzalloc(sizeof(*r)) : NULL;
	if (!r) {
		pr_err("files.img: file %u of type UNIXSK has no usk entry\n", fe->id);
		pb_free(fe);
		return -1;
	}
	r->fe = fe;
	r->u = fe->usk;
	r->sk = -1;
	list_add_tail(&r->list, &usk_rsts);
	return 0;
}

static struct usk_rst *find_usk_rst(u32 ino)
{
	struct usk_rst *r;

	list_for_each_entry(r, &usk_rsts, list)
		if (r->u->ino == ino)
			return r;
	return NULL;
}

/* An entry's name as sock_diag had it, for the helpers of the dump side. */
static struct usk_info *entry_info(const UnixSkEntry *u, struct usk_info *i)
{
	i->name_len = min(u->name.len, USK_NAME_MAX);
	memcpy(i->name, u->name.data, i->name_len);
	return i;
}

static const char *entry_name(const UnixSkEntry *u)
{
	static struct usk_info i;

	return usk_name(entry_info(u, &i));
}

static bool entry_anonymous(const UnixSkEntry *u)
{
	struct usk_info i;

	return usk_anonymous(entry_info(u, &i));
}

static bool same_name(const UnixSkEntry *a, const UnixSkEntry *b)
{
	return a->name.len && a->name.len == b->name.len &&
	       !memcmp(a->name.data, b->name.data, a->name.len) &&
	       !strcmp(a->name_dir ?: "", b->name_dir ?: "");
}

static enum usk_how usk_how(const struct usk_rst *r)
{
	const UnixSkEntry *u = r->u, *p = r->peer ? r->peer->u : NULL;
	struct usk_info i;

	if (u->uflags & USK_EXTERN)
		return USK_EXT;
	if (u->state == USK_LISTEN)
		return USK_LISTENER;
	if (p && p->state == USK_LISTEN)
		return USK_PENDING;
	entry_info(u, &i);
	if (u->type == SOCK_DGRAM) {
		if (p && p->peer == u->ino && !(p->uflags & USK_EXTERN))
			return USK_PAIR;
		if (!p && u->state == USK_ESTABLISHED &&
		    !usk_bound_dgram(u->type, 0, i.name, i.name_len))
			return USK_ORPHAN;
		return USK_DGRAM;
	}
	if (p)
		return entry_anonymous(u) && entry_anonymous(p) ? USK_PAIR : USK_CONN;
	return u->state == USK_ESTABLISHED ? USK_ORPHAN : USK_SINGLE;
}

static int check_rst_peer(struct usk_rst *r)
{
	UnixSkEntry *u = r->u, *p;

	if (!u->peer)
		return 0;
	r->peer = find_usk_rst(u->peer);
	p = r->peer ? r->peer->u : NULL;
	if (!p || p->type != u->type) {
		pr_err("files.img: unix socket %u is connected to socket %u, which is not in the "
		       "images\n", u->ino, u->peer);
		return -1;
	}
	if (p->peer != u->ino && p->state != USK_LISTEN && u->type != SOCK_DGRAM) {
		pr_err("files.img: unix socket %u is connected to socket %u, which is not "
		       "connected back to it\n", u->ino, u->peer);
		return -1;
	}
	return 0;
}

/* Our own look at files.img (for the peers) and sk-queues.img. */
int usk_collect(void)
{
	struct usk_rst *r;

	if (pb_read_all(CR_FD_FILES, O_RSTR, &file_entry__descriptor, take_usk, NULL))
		return -1;
	list_for_each_entry(r, &usk_rsts, list)
		if (check_rst_peer(r))
			return -1;
	list_for_each_entry(r, &usk_rsts, list)
		r->how = usk_how(r);
	return collect_sk_queues();
}

static int usk_shutdown(int sk, UnixSkEntry *u)
{
	int how;

	if (!u->has_shutdown || !u->shutdown)
		return 0;
	how = u->shutdown == 3 ? SHUT_RDWR : u->shutdown == 1 ? SHUT_RD : SHUT_WR;
	if (shutdown(sk, how)) {
		pr_perror("cannot shut unix socket %u down", u->ino);
		return -1;
	}
	return 0;
}

/* The sender's buffer must hold what it queues into its peer. */
static int grow_sndbuf(int from, SkOptsEntry *from_opts, size_t bytes)
{
	SkOptsEntry big = *from_opts;

	big.so_sndbuf = max((size_t)from_opts->so_sndbuf, 4 * bytes + (1 << 16));
	if (big.so_sndbuf > (1U << 30))
		big.so_sndbuf = 1U << 30;
	return restore_sk_bufs(from, &big);
}

static int fill_queue(int from, SkOptsEntry *from_opts, UnixSkEntry *to, bool pending)
{
	size_t bytes = sk_queue_bytes(to->id, pending);

	if (!bytes && !sk_queue_next(to->id, pending, NULL))
		return 0;
	if (grow_sndbuf(from, from_opts, bytes) || restore_sk_queue(from, to->id, pending))
		return -1;
	pr_debug("unix socket %u: %zu bytes queued again%s\n", to->ino, bytes,
		 pending ? " for its connection not yet accepted" : "");
	return restore_sk_bufs(from, from_opts);
}

static int set_made(struct usk_rst *r, int sk)
{
	r->sk = move_to_svc(sk);
	r->done = true;
	return r->sk < 0 ? -1 : 0;
}

/* The last steps of any socket: shutdown, then the options. */
static int finish(int sk, UnixSkEntry *u)
{
	return usk_shutdown(sk, u) || restore_sk_opts(sk, u->opts) ? -1 : 0;
}

/* ---- making them ---- */

static int make_usk(struct usk_rst *r);

/* Both ends at once: queues before shutdown, options last. */
static int make_pair(struct usk_rst *r)
{
	UnixSkEntry *a = r->u, *b = r->peer->u;
	int sv[2];

	if (socketpair(AF_UNIX, a->type | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("cannot create a unix %s socket pair", usk_type_name(a->type));
		return -1;
	}
	/* a datagram end may carry a name of its own: bound after the pairing */
	if (usk_bind_name(sv[0], a) || usk_bind_name(sv[1], b) ||
	    restore_sk_bufs(sv[0], a->opts) || restore_sk_bufs(sv[1], b->opts) ||
	    fill_queue(sv[1], b->opts, a, false) || fill_queue(sv[0], a->opts, b, false) ||
	    finish(sv[0], a) || finish(sv[1], b))
		goto err;
	pr_info("unix sockets %u and %u: a %s pair again\n", a->ino, b->ino,
		usk_type_name(a->type));
	if (set_made(r->peer, sv[1])) {
		close(sv[0]);
		return -1;
	}
	return set_made(r, sv[0]);
err:
	close(sv[0]);
	close(sv[1]);
	return -1;
}

/*
 * A connected socket whose peer was closed: a pair, its queue sent from
 * the other end, which is then closed as the dumped peer was (a stream
 * end then sees both directions shut, a datagram end a dead peer).
 */
static int make_named_orphan(struct usk_rst *r);

static int make_orphan(struct usk_rst *r)
{
	UnixSkEntry *u = r->u;
	int sv[2];

	if (u->type != SOCK_DGRAM && !entry_anonymous(u))
		return make_named_orphan(r);
	if (socketpair(AF_UNIX, u->type | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("cannot create a unix %s socket pair", usk_type_name(u->type));
		return -1;
	}
	if (usk_bind_name(sv[0], u) || restore_sk_bufs(sv[0], u->opts) ||
	    fill_queue(sv[1], u->opts, u, false)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	if (finish(sv[0], u)) {
		close(sv[0]);
		return -1;
	}
	pr_info("unix socket %u: connected, its peer closed\n", u->ino);
	return set_made(r, sv[0]);
}

/*
 * A named stream or seqpacket socket whose peer was closed (an accepted
 * connection whose client went away): accepted from a temporary listener
 * of its name, as make_conn does, its queue sent by the client, which is
 * then closed.
 */
static int make_named_orphan(struct usk_rst *r)
{
	UnixSkEntry *u = r->u;
	int t, cs = -1, as = -1;

	t = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);
	if (t < 0) {
		pr_perror("cannot create a unix socket");
		return -1;
	}
	if (usk_bind(t, u, true) || listen(t, 1))
		goto err;
	cs = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);
	if (cs < 0 || usk_connect_name(cs, u, u))
		goto err;
	as = accept4(t, NULL, NULL, SOCK_CLOEXEC);
	if (as < 0 || usk_unbind_temp(u)) {
		pr_perror("cannot accept a connection for unix socket %u", u->ino);
		goto err;
	}
	close(t);
	if (restore_sk_bufs(as, u->opts) || fill_queue(cs, u->opts, u, false))
		goto err_conn;
	close(cs);
	if (finish(as, u)) {
		close(as);
		return -1;
	}
	pr_info("unix socket %u: accepted again, its peer closed\n", u->ino);
	return set_made(r, as);
err:
	if (t >= 0) {
		usk_unbind_temp(u);
		close(t);
	}
err_conn:
	if (cs >= 0)
		close(cs);
	if (as >= 0)
		close(as);
	return -1;
}

static int make_single(struct usk_rst *r)
{
	int sk = usk_new(r->u, 0);

	if (sk < 0)
		return -1;
	if (usk_bind_name(sk, r->u) || finish(sk, r->u)) {
		close(sk);
		return -1;
	}
	return set_made(r, sk);
}

/* Which end of a named connection was accepted: it has the listener's name. */
static bool accepted_end(const struct usk_rst *r)
{
	bool a = entry_anonymous(r->u), b = entry_anonymous(r->peer->u);
	struct usk_rst *l;

	if (a != b)
		return !a;
	list_for_each_entry(l, &usk_rsts, list)
		if (l->how == USK_LISTENER && same_name(l->u, r->u))
			return true;
	/* no listener of that name left: the accepted socket is the younger one */
	return r->u->ino > r->peer->u->ino;
}

/*
 * A named stream or seqpacket connection: a temporary listener bound to the
 * accepted end's name (before the real listener binds it), the other end,
 * bound to its own name if it has one, connects, and the accepted socket
 * has that name as getsockname shows it.
 */
static int make_conn(struct usk_rst *r)
{
	struct usk_rst *a = accepted_end(r) ? r : r->peer, *c = a == r ? r->peer : r;
	int t, cs = -1, as = -1;

	t = socket(AF_UNIX, a->u->type | SOCK_CLOEXEC, 0);
	if (t < 0) {
		pr_perror("cannot create a unix socket");
		return -1;
	}
	if (usk_bind(t, a->u, true) || listen(t, 1))
		goto err;
	cs = usk_new(c->u, 0);
	if (cs < 0 || usk_bind_name(cs, c->u) || usk_connect_name(cs, c->u, a->u))
		goto err;
	as = accept4(t, NULL, NULL, SOCK_CLOEXEC);
	if (as < 0 || usk_unbind_temp(a->u)) {
		pr_perror("cannot accept the connection of unix socket %u", c->u->ino);
		goto err;
	}
	close(t);
	t = -1;
	if (restore_sk_bufs(as, a->u->opts) || fill_queue(cs, c->u->opts, a->u, false) ||
	    fill_queue(as, a->u->opts, c->u, false) || finish(as, a->u) || finish(cs, c->u))
		goto err;
	pr_info("unix sockets %u and %u: connected again, %u accepted\n", a->u->ino,
		c->u->ino, a->u->ino);
	if (set_made(c, cs)) {
		close(as);
		return -1;
	}
	return set_made(a, as);
err:
	if (t >= 0) {
		usk_unbind_temp(a->u);
		close(t);
	}
	if (cs >= 0)
		close(cs);
	if (as >= 0)
		close(as);
	return -1;
}

/* A client of a connection not yet accepted, connecting to its listener l. */
static int make_client(struct usk_rst *c, const UnixSkEntry *l)
{
	int sk = usk_new(c->u, SOCK_NONBLOCK);

	if (sk < 0)
		return -1;
	if (usk_bind_name(sk, c->u) || usk_connect_name(sk, c->u, l) ||
	    fill_queue(sk, c->u->opts, c->u, true) || finish(sk, c->u)) {
		close(sk);
		return -1;
	}
	return set_made(c, sk);
}

/*
 * A listener; first the named connections (and those whose peer was
 * closed) whose temporary listener needs its name, then its pending
 * connections, made again in accept order.
 */
static int make_listener(struct usk_rst *l)
{
	struct usk_rst *r;
	size_t i;
	int sk;

	list_for_each_entry(r, &usk_rsts, list)
		if ((r->how == USK_CONN || r->how == USK_ORPHAN) && !r->done &&
		    r->u->type != SOCK_DGRAM && same_name(r->u, l->u) && make_usk(r))
			return -1;
	sk = usk_new(l->u, 0);
	if (sk < 0)
		return -1;
	if (usk_bind_name(sk, l->u))
		goto err;
	if (listen(sk, l->u->backlog)) {
		pr_perror("cannot listen on unix socket %u", l->u->ino);
		goto err;
	}
	for (i = 0; i < l->u->n_icons; i++) {
		r = find_usk_rst(l->u->icons[i]);
		if (!r || r->how != USK_PENDING || r->peer != l || r->done) {
			pr_info("unix socket %u: pending connection from %u not in the images\n",
				l->u->ino, l->u->icons[i]);
			continue;
		}
		if (make_client(r, l->u))
			goto err;
	}
	if (finish(sk, l->u))
		goto err;
	pr_info("unix socket %u: listening again, %zu connections pending\n", l->u->ino,
		l->u->n_icons);
	return set_made(l, sk);
err:
	close(sk);
	return -1;
}

static int make_pending(struct usk_rst *r)
{
	if (!r->peer->done && make_usk(r->peer))
		return -1;
	if (!r->done) {
		pr_err("files.img: unix socket %u waits to be accepted by %u, which does not "
		       "list it\n", r->u->ino, r->peer->u->ino);
		return -1;
	}
	return 0;
}

/* A datagram socket created and bound, so that others may send to it. */
static int dgram_bound(struct usk_rst *r)
{
	int sk;

	if (r->sk >= 0)
		return r->sk;
	sk = usk_new(r->u, 0);
	if (sk < 0)
		return -1;
	if (usk_bind_name(sk, r->u)) {
		close(sk);
		return -1;
	}
	r->sk = move_to_svc(sk);
	return r->sk;
}

/* The socket of the tree named as a message's sender, or NULL. */
static struct usk_rst *find_sender(const struct sk_packet *p)
{
	struct usk_rst *r;

	list_for_each_entry(r, &usk_rsts, list)
		if (r->u->type == SOCK_DGRAM && r->how != USK_EXT && p->sender_len &&
		    r->u->name.len == p->sender_len &&
		    !memcmp(r->u->name.data, p->sender, p->sender_len))
			return r;
	return NULL;
}

/* A socket outside the tree (or gone) sent it: a stand-in with its name if free. */
static int stand_in(const struct sk_packet *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		pr_perror("cannot create a unix dgram socket");
		return -1;
	}
	memcpy(a.sun_path, p->sender, p->sender_len);
	/* a path is not made for it: only an abstract name, which leaves nothing */
	if (p->sender_len && !p->sender[0] &&
	    bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) +
		 p->sender_len))
		pr_warn("a message for unix socket %u: its sender's name @%.*s is taken (%m); "
			"sent unnamed\n", p->id_for, (int)p->sender_len - 1, p->sender + 1);
	return s;
}

/* Each message from its sender, as far as we can: the tree's socket of that name. */
static int fill_dgram_queue(struct usk_rst *r)
{
	struct sk_packet *p = NULL;
	struct sockaddr_un to;
	socklen_t tolen = usk_addr(r->u, &to);
	int cwd, ret = 0;

	if (!sk_queue_next(r->u->id, false, NULL))
		return 0;
	if (!r->u->name.len || !tolen) {
		pr_err("unix socket %u: messages queued, but no name to send them to\n",
		       r->u->ino);
		return -1;
	}
	if (usk_enter_dir(r->u, &cwd))
		return -1;
	while (!ret && (p = sk_queue_next(r->u->id, false, p))) {
		struct usk_rst *s = find_sender(p);
		int from = s ? (s->how == USK_DGRAM ? dgram_bound(s) :
				(s->done || !make_usk(s) ? s->sk : -1)) : stand_in(p);

		if (from < 0) {
			ret = -1;
			break;
		}
		ret = grow_sndbuf(from, s ? s->u->opts : r->u->opts, p->len) ||
		      send_sk_packet(from, p, (struct sockaddr *)&to, tolen) ||
		      (s && restore_sk_bufs(from, s->u->opts)) ? -1 : 0;
		if (!s)
			close(from);
	}
	if (usk_leave_dir(cwd))
		ret = -1;
	return ret;
}

/* Bound, its queue filled from the senders, then connected to its peer. */
static int make_dgram(struct usk_rst *r)
{
	int sk = dgram_bound(r);

	if (sk < 0 || fill_dgram_queue(r))
		return -1;
	/* the peer exists (bound) before it is connected to */
	if (r->peer && r->peer->how == USK_DGRAM ? dgram_bound(r->peer) < 0 :
	    r->peer && r->peer->how != USK_EXT && !r->peer->done && make_usk(r->peer))
		return -1;
	if (r->peer && usk_connect_name(sk, r->u, r->peer->u))
		return -1;
	if (finish(sk, r->u))
		return -1;
	r->done = true;
	pr_info("unix dgram socket %u: made again%s%s\n", r->u->ino,
		r->peer ? ", connected to " : "", r->peer ? entry_name(r->peer->u) : "");
	return 0;
}

static int make_usk(struct usk_rst *r)
{
	switch (r->how) {
	case USK_SINGLE:
		return make_single(r);
	case USK_PAIR:
		return make_pair(r);
	case USK_ORPHAN:
		return make_orphan(r);
	case USK_LISTENER:
		return make_listener(r);
	case USK_PENDING:
		return make_pending(r);
	case USK_CONN:
		return make_conn(r);
	case USK_DGRAM:
		return make_dgram(r);
	case USK_EXT:
		break;
	}
	pr_err("files.img: unix socket %u is the peer outside the tree of another, not a "
	       "file of the tree\n", r->u->ino);
	return -1;
}

int usk_open(FileEntry *fe, int *fd)
{
	struct usk_rst *r = find_usk_rst(fe->usk ? fe->usk->ino : 0);
	UnixSkEntry *u;

	if (!r) {
		pr_err("files.img: unix socket file %u has no entry\n", fe->id);
		return -1;
	}
	u = r->u;
	if (!r->done && make_usk(r))
		return -1;
	if (r->taken) {
		pr_err("files.img: unix socket %u opened twice\n", u->ino);
		return -1;
	}
	if (fcntl(r->sk, F_SETFL, u->flags & (O_NONBLOCK | O_ASYNC))) {
		pr_perror("cannot set the flags of unix socket %u", u->ino);
		return -1;
	}
	if (restore_fown(r->sk, u->fown))
		return -1;
	r->taken = true;
	*fd = r->sk;
	return 0;
}

/* Every socket is connected: the files of deleted ones can go. */
int usk_anchors_done(void)
{
	struct usk_rst *r;

	usk_unlink_bound(false);
	list_for_each_entry(r, &usk_rsts, list) {
		if (r->sk >= 0 && !r->taken) {
			pr_warn("unix socket %u was made but no descriptor took it\n", r->u->ino);
			close(r->sk);
			r->sk = -1;
		}
	}
	return 0;
}

void usk_restore_failed(void)
{
	usk_unlink_bound(true);
}

