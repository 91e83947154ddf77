// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX sockets: listeners (with their connections not yet accepted),
 * connected stream and seqpacket sockets with both ends in the tree, named
 * or not, datagram sockets bound or connected, with their queues; ends
 * whose peer was closed; with --ext-unix-sk, datagram sockets connected to
 * a named socket outside the tree.  What a socket is (state, name, peer,
 * pending connections, queue lengths, the bound file) is asked of the
 * kernel with sock_diag (sk-diag.c) once per dump, for every unix socket of
 * the net namespace; a descriptor is matched to its socket by inode.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cr_options.h"
#include "files.h"
#include "sk-unix.pb-c.h"
#include "sockets.h"
#include "util.h"

/* unix_diag reports socket states in TCP's numbers */
#define USK_ESTABLISHED	1
#define USK_CLOSE	7
#define USK_LISTEN	10

/* unix_sk_entry.uflags: the peer outside the tree of a dumped socket */
#define USK_EXTERN	1

static const char *sk_type_name(u32 type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	}
	return "unknown-type";
}

static const char *sk_state_name(u32 state)
{
	switch (state) {
	case USK_ESTABLISHED:
		return "connected";
	case USK_CLOSE:
		return "not connected";
	case USK_LISTEN:
		return "listening";
	case 2:
		return "connecting";
	}
	return "in an unknown state";
}

/* A printable form of a socket's address. */
static const char *usk_name(const struct usk_info *u)
{
	static char buf[2][USK_NAME_MAX + 16];
	static int which;
	char *b = buf[which ^= 1];

	if (!u || !u->name_len)
		return "unnamed";
	if (u->name[0])
		snprintf(b, sizeof(buf[0]), "%s", u->name);
	else
		snprintf(b, sizeof(buf[0]), "@%.*s", (int)u->name_len - 1, u->name + 1);
	return b;
}

/* The abstract names the kernel picks (autobind): a NUL and 5 hex digits. */
static bool autobound(const char *name, size_t len)
{
	size_t i;

	if (len != 6 || name[0])
		return false;
	for (i = 1; i < len; i++)
		if (!strchr("0123456789abcdef", name[i]) || !name[i])
			return false;
	return true;
}

/*
 * A datagram socket bound to a name of its own, with no peer: a server
 * (unix_diag shows it "connected", with no peer, once a client connected
 * to it), or a client whose server is gone; both restored as a server.
 */
static bool bound_dgram(u32 type, u32 peer, const char *name, size_t len)
{
	return type == SOCK_DGRAM && !peer && len && !autobound(name, len);
}

/* Unnamed or autobound: an address nobody asked for, ours to take again. */
static bool anonymous(const struct usk_info *u)
{
	return !u->name_len || autobound(u->name, u->name_len);
}


static bool is_unix_sk(const struct fd_parms *p)
{
	int dom;
	socklen_t len = sizeof(dom);

	if (!S_ISSOCK(p->st.st_mode) || p->lfd < 0)
		return false;
	return !getsockopt(p->lfd, SOL_SOCKET, SO_DOMAIN, &dom, &len) && dom == AF_UNIX;
}

/* sock_diag answers for criu's net namespace: it must be the task's too. */
static int check_netns(pid_t pid)
{
	struct stat mine, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat("/proc/self/ns/net", &mine) || stat(path, &theirs)) {
		pr_perror("cannot stat the net namespace of pid %d", pid);
		return -1;
	}
	if (mine.st_ino != theirs.st_ino) {
		pr_err("unsupported: pid %d holds unix sockets in a net namespace of its own\n",
		       pid);
		return -1;
	}
	return 0;
}

/* The bound file: its mode and owner, or deleted if it is gone. */
static int dump_bound_file(struct fd_parms *p, struct usk_info *u, UnixSkEntry *ue,
			   FilePermsEntry *perms)
{
	char path[PATH_MAX + 64];
	struct stat st;

	if (u->name[0] != '/') {
		/* bound relative to the cwd of then; assume it is the cwd of now */
		snprintf(path, sizeof(path), "/proc/%d/cwd", p->pid);
		ue->name_dir = realpath(path, NULL);
		if (!ue->name_dir) {
			pr_perror("cannot resolve %s", path);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/root%s%s%s", p->pid, ue->name_dir ?: "",
		 ue->name_dir ? "/" : "", u->name);
	if (stat(path, &st) || !u->has_vfs || st.st_ino != u->vfs_ino ||
	    (major(st.st_dev) << 20 | minor(st.st_dev)) != u->vfs_dev) {
		if (u->name[0] != '/') {
			pr_err("unsupported: pid %d fd %d is a unix socket bound to the relative "
			       "name %s, not found from its cwd\n", p->pid, p->fd, u->name);
			return -1;
		}
		pr_info("pid %d fd %d: the file of unix socket %s is gone\n", p->pid, p->fd,
			u->name);
		ue->has_deleted = ue->deleted = true;
		return 0;
	}
	perms->mode = st.st_mode;
	perms->uid = st.st_uid;
	perms->gid = st.st_gid;
	ue->file_perms = perms;
	return 0;
}

/* Any data a client of this listener wrote that waits to be accepted. */
static bool pending_data(const struct usk_info *l)
{
	u32 i;

	for (i = 0; i < l->nr_icons; i++) {
		struct usk_info *c = find_usk(l->icons[i]);

		/* the client's send buffer is charged with what waits in the embryo */
		if (c && c->wqueue)
			return true;
	}
	return false;
}

static int check_listener(const struct fd_parms *p, const struct usk_info *u)
{
	u32 i;

	for (i = 0; i < u->nr_icons; i++) {
		if (u->icons[i])
			continue;
		pr_err("unsupported: pid %d fd %d is a unix listening socket (%s) with a "
		       "connection not yet accepted whose client was closed\n", p->pid, p->fd,
		       usk_name(u));
		return -1;
	}
	if (opts.leave_running && pending_data(u)) {
		pr_err("unsupported: pid %d fd %d is a unix listening socket (%s) with data on "
		       "connections not yet accepted: criu accepts them to read it, which "
		       "--leave-running forbids\n", p->pid, p->fd, usk_name(u));
		return -1;
	}
	return 0;
}

/* Connected to u->peer: what can be connected again; 0 if it can. */
static int check_peer(const struct fd_parms *p, const struct usk_info *u)
{
	const struct usk_info *peer = find_usk(u->peer);
	const char *t = sk_type_name(u->type);

	if (!peer) {
		pr_err("unsupported: pid %d fd %d is a unix %s socket (%s) connected to "
		       "socket:[%u], which sock_diag does not show\n", p->pid, p->fd, t,
		       usk_name(u), u->peer);
		return -1;
	}
	if (peer->peer == u->ino)
		return 0;
	/* a datagram client of a server that is not connected back: by its name */
	if (u->type == SOCK_DGRAM && peer->name_len)
		return 0;
	pr_err("unsupported: pid %d fd %d is a unix %s socket (%s) connected to socket:[%u] "
	       "(%s), which is not connected back to it\n", p->pid, p->fd, t, usk_name(u),
	       u->peer, usk_name(peer));
	return -1;
}

/* What we cannot restore, refused by name; 0 if we can.  *peer: the peer to write. */
static int check_usk(const struct fd_parms *p, const struct usk_info *u, u32 *peer)
{
	const struct usk_info *l;
	const char *t = sk_type_name(u->type);

	*peer = u->peer;
	if (u->type != SOCK_STREAM && u->type != SOCK_DGRAM && u->type != SOCK_SEQPACKET)
		goto refuse;
	if (u->state == USK_LISTEN)
		return check_listener(p, u);
	if (u->peer)
		return check_peer(p, u);
	if (u->state != USK_ESTABLISHED || u->type == SOCK_DGRAM)
		return 0;
	/* a connection not yet accepted: its peer is written as the listener */
	l = find_usk_listener(u->ino);
	if (l && l->type == u->type) {
		*peer = l->ino;
		return 0;
	}
	/* its peer was closed: what is queued can still be read */
	if (anonymous(u))
		return 0;
	pr_err("unsupported: pid %d fd %d is a unix %s socket bound to %s whose peer is "
	       "closed\n", p->pid, p->fd, t, usk_name(u));
	return -1;
refuse:
	pr_err("unsupported: pid %d fd %d is a socket (unix %s, %s, %s%s, %u bytes queued)\n",
	       p->pid, p->fd, t, sk_state_name(u->state), u->name_len ? "bound to " : "",
	       usk_name(u), u->rqueue);
	return -1;
}

/* A datagram socket not in a pair: its messages may come from anyone. */
static bool dgram_server(const struct usk_info *u)
{
	const struct usk_info *peer = u->peer ? find_usk(u->peer) : NULL;

	return u->type == SOCK_DGRAM && !(peer && peer->peer == u->ino) &&
	       (u->state != USK_ESTABLISHED || u->peer || bound_dgram(u->type, u->peer,
								      u->name, u->name_len));
}

static int dump_usk_queue(struct fd_parms *p, struct usk_info *u, u32 id)
{
	unsigned int flags = u->shutdown & 1 ? SKQ_RCV_SHUT : 0;
	bool in_flight;

	if (u->state == USK_LISTEN || (u->state == USK_CLOSE && u->type != SOCK_DGRAM))
		return 0;
	if (dgram_server(u)) {
		char c;

		/* rqueue is the first datagram's length, 0 for an empty one too */
		if (recv(p->lfd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN)
			return 0;
		if (!u->name_len) {
			pr_err("unsupported: pid %d fd %d is an unnamed unix dgram socket with "
			       "messages queued from a sender it is not paired with\n", p->pid,
			       p->fd);
			return -1;
		}
		flags |= SKQ_SENDERS;
	}
	if (dump_sk_queue(p->lfd, id, u->type, flags, &in_flight))
		return -1;
	if (in_flight) {
		pr_err("unsupported: pid %d fd %d is a unix %s socket with file descriptors in "
		       "flight (SCM_RIGHTS) in its queue\n", p->pid, p->fd, sk_type_name(u->type));
		return -1;
	}
	return 0;
}

/* A listener with data on connections not yet accepted keeps a copy for usk_dump_fini. */
static int keep_listener(struct fd_parms *p, struct usk_info *u, UnixSkEntry *ue)
{
	ue->n_icons = u->nr_icons;
	ue->icons = u->icons;
	if (!pending_data(u))
		return 0;
	u->keep = fcntl(p->lfd, F_DUPFD_CLOEXEC, 0);
	if (u->keep < 0) {
		pr_perror("cannot keep a copy of unix socket %u", u->ino);
		return -1;
	}
	return 0;
}

static int dump_usk(struct fd_parms *p, u32 id)
{
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry skopts = SK_OPTS_ENTRY__INIT;
	FilePermsEntry perms = FILE_PERMS_ENTRY__INIT;
	struct usk_info *u;
	int ret = -1;

	if (!usk_infos_collected() && (check_netns(p->pid) || collect_usk_infos()))
		return -1;
	u = find_usk(p->st.st_ino);
	if (!u) {
		pr_err("pid %d fd %d: sock_diag does not show unix socket %lu\n", p->pid, p->fd,
		       (unsigned long)p->st.st_ino);
		return -1;
	}
	if (check_usk(p, u, &ue.peer))
		return -1;
	ue.id = id;
	ue.ino = u->ino;
	ue.type = u->type;
	ue.state = u->state;
	ue.flags = p->flags;
	ue.backlog = u->state == USK_LISTEN ? u->wqueue : 0;
	ue.fown = &fown;
	ue.opts = &skopts;
	ue.name.data = (u8 *)u->name;
	ue.name.len = u->name_len;
	ue.has_shutdown = u->shutdown != 0;
	ue.shutdown = u->shutdown;
	if (dump_fown(p, &fown) || dump_sk_opts(p->lfd, &skopts))
		goto out;
	if (u->name_len && u->name[0] && dump_bound_file(p, u, &ue, &perms))
		goto out;
	if (dump_usk_queue(p, u, id) || (u->state == USK_LISTEN && keep_listener(p, u, &ue)))
		goto out;
	u->dumped = true;
	u->pid = p->pid;
	u->fd = p->fd;
	u->id = id;
	fe.type = FD_TYPES__UNIXSK;
	fe.id = id;
	fe.usk = &ue;
	pr_info("pid %d fd %d: unix %s socket %u, state %u, %s, peer %u, backlog %u, %u "
		"pending\n", p->pid, p->fd, sk_type_name(u->type), u->ino, u->state,
		usk_name(u), ue.peer, ue.backlog, u->nr_icons);
	ret = write_file_entry(&fe);
out:
	free(ue.name_dir);
	return ret;
}

/* ---- after every task: peers outside the tree, data not yet accepted ---- */

/* A socket outside the tree connected to u (a datagram client), or NULL. */
static struct usk_info *outside_client(const struct usk_info *u)
{
	struct usk_info *c;

	list_for_each_entry(c, &usk_infos, list)
		if (c->peer == u->ino && !c->dumped && c->state != USK_LISTEN)
			return c;
	return NULL;
}

/* The peer outside the tree of a datagram client, kept for its name. */
static int dump_extern_peer(struct usk_info *peer)
{
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry skopts = SK_OPTS_ENTRY__INIT;

	if (peer->dumped)
		return 0;
	if (peer->name[0] && peer->name[0] != '/') {
		pr_err("unsupported: socket:[%u] outside the tree is bound to the relative name "
		       "%s\n", peer->ino, peer->name);
		return -1;
	}
	ue.id = fe.id = new_file_id();
	ue.ino = peer->ino;
	ue.type = peer->type;
	ue.state = peer->state;
	ue.uflags = USK_EXTERN;
	ue.fown = &fown;
	ue.opts = &skopts;
	ue.name.data = (u8 *)peer->name;
	ue.name.len = peer->name_len;
	fe.type = FD_TYPES__UNIXSK;
	fe.usk = &ue;
	peer->dumped = true;
	pr_info("unix socket %u (%s) outside the tree: connected to again by its name\n",
		peer->ino, usk_name(peer));
	return write_file_entry(&fe);
}

static int check_outside_peer(struct usk_info *u)
{
	struct usk_info *peer = find_usk(u->peer);
	const char *t = sk_type_name(u->type);

	if (!peer || peer->dumped)
		return 0;
	if (opts.ext_unix_sk && u->type == SOCK_DGRAM && peer->peer != u->ino &&
	    peer->name_len)
		return dump_extern_peer(peer);
	pr_err("unsupported: pid %d fd %d is a unix %s socket connected to socket:[%u] (%s), "
	       "which no process of the tree holds%s\n", u->pid, u->fd, t, u->peer,
	       usk_name(peer), u->type == SOCK_DGRAM && peer->peer != u->ino ?
	       " (--ext-unix-sk connects it again by name)" : "");
	return -1;
}

/* Clients outside the tree, of a listener or a datagram server of the tree. */
static int check_outside_clients(struct usk_info *u)
{
	struct usk_info *c;
	u32 i;

	for (i = 0; i < u->nr_icons; i++) {
		c = find_usk(u->icons[i]);
		if (c && c->dumped)
			continue;
		if (opts.ext_unix_sk) {
			pr_warn("unix socket %u (%s): the connection from socket:[%u] outside the "
				"tree, not yet accepted, is dropped\n", u->ino, usk_name(u),
				u->icons[i]);
			continue;
		}
		pr_err("unsupported: pid %d fd %d is a unix listening socket (%s) with a "
		       "connection not yet accepted from socket:[%u] (%s), which no process of "
		       "the tree holds\n", u->pid, u->fd, usk_name(u), u->icons[i], usk_name(c));
		return -1;
	}
	if (u->state == USK_LISTEN || u->type != SOCK_DGRAM || !(c = outside_client(u)))
		return 0;
	if (opts.ext_unix_sk) {
		pr_warn("unix socket %u (%s): socket:[%u] outside the tree is connected to it; "
			"after restore it reaches the old socket no more\n", u->ino, usk_name(u),
			c->ino);
		return 0;
	}
	pr_err("unsupported: pid %d fd %d is a unix %s socket (%s) to which socket:[%u] (%s) "
	       "outside the tree is connected\n", u->pid, u->fd, sk_type_name(u->type),
	       usk_name(u), c->ino, usk_name(c));
	return -1;
}

/* The client of a connection not yet accepted: the listener is in the tree. */
static int check_pending_client(struct usk_info *u)
{
	struct usk_info *l = u->peer || u->state != USK_ESTABLISHED ? NULL :
			     find_usk_listener(u->ino);

	if (!l || l->dumped)
		return 0;
	pr_err("unsupported: pid %d fd %d is a unix %s socket whose connection to socket:[%u] "
	       "(%s) is not yet accepted, and no process of the tree holds that listener\n",
	       u->pid, u->fd, sk_type_name(u->type), l->ino, usk_name(l));
	return -1;
}

/*
 * What the clients of a listener wrote and it did not accept yet waits in
 * the queue of a socket without a file (the embryo).  The only way to it is
 * accept(): done on criu's copy once everything else is dumped, as the tree
 * is about to be killed (--leave-running was refused).  Accepted in queue
 * order, which is the order of the icons.
 */
static int dump_pending_data(struct usk_info *l)
{
	u32 i;

	for (i = 0; i < l->nr_icons; i++) {
		struct pollfd pfd = { .fd = l->keep, .events = POLLIN };
		struct usk_info *c = find_usk(l->icons[i]);
		bool in_flight;
		int s, ret;

		if (poll(&pfd, 1, 0) != 1)
			break;
		s = accept4(l->keep, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (s < 0) {
			pr_perror("cannot accept a pending connection of unix socket %u", l->ino);
			return -1;
		}
		ret = 0;
		/* a client that shut its sending side shut the embryo's receiving one */
		if (c && c->dumped && c->wqueue)
			ret = dump_sk_queue(s, c->id, l->type, SKQ_PENDING |
					    (c->shutdown & 2 ? SKQ_RCV_SHUT : 0), &in_flight);
		close(s);
		if (ret)
			return -1;
		if (c && c->dumped && c->wqueue && in_flight) {
			pr_err("unsupported: pid %d fd %d is a unix %s socket with file descriptors "
			       "in flight (SCM_RIGHTS) to a connection not yet accepted\n", c->pid,
			       c->fd, sk_type_name(c->type));
			return -1;
		}
		pr_debug("unix socket %u: pending connection %u of %u read\n", l->ino, i + 1,
			 l->nr_icons);
	}
	return 0;
}

static int usk_dump_fini(void)
{
	struct usk_info *u;
	int ret = files_dump_failed ? -1 : 0;

	list_for_each_entry(u, &usk_infos, list) {
		if (ret || !u->dumped || u->pid == 0)
			continue;
		if ((u->peer && check_outside_peer(u)) || check_outside_clients(u) ||
		    check_pending_client(u))
			ret = -1;
	}
	list_for_each_entry(u, &usk_infos, list)
		if (!ret && u->keep >= 0 && dump_pending_data(u))
			ret = -1;
	free_usk_infos();
	if (sk_queue_dump_fini())
		ret = -1;
	return files_dump_failed ? 0 : ret;
}

/* ---- restore ---- */

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

	return anonymous(entry_info(u, &i));
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
		    !bound_dgram(u->type, 0, i.name, i.name_len))
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
static int usk_collect(void)
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

/* ---- names ---- */

/*
 * A socket file left at the path by the dumped socket, which is gone,
 * refuses connections: remove it.  One that answers belongs to a live
 * socket and is left alone.
 */
static int clear_stale(const char *path, const struct sockaddr_un *addr, socklen_t alen,
		       u32 type)
{
	struct stat st;
	int s, ret;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : (pr_perror("cannot stat %s", path), -1);
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("cannot bind a unix socket to %s: it exists and is not a socket\n", path);
		return -1;
	}
	s = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		pr_perror("cannot create a socket to probe %s", path);
		return -1;
	}
	ret = connect(s, (const struct sockaddr *)addr, alen);
	close(s);
	if (ret == 0 || errno != ECONNREFUSED) {
		pr_err("cannot bind a unix socket to %s: a live socket is there\n", path);
		return -1;
	}
	if (unlink(path)) {
		pr_perror("cannot remove the stale socket file %s", path);
		return -1;
	}
	pr_info("removed the stale socket file %s\n", path);
	return 0;
}

/* The socket files this restore made, to remove them if it fails. */
struct bound_file {
	struct list_head list;
	dev_t dev;
	ino_t ino;
	bool gone;		/* removed once every anchor is open (deleted) */
	char path[];
};

static LIST_HEAD(bound_files);

static struct bound_file *remember_bound(const char *path, const char *dir)
{
	struct bound_file *b;
	struct stat st;
	size_t len = strlen(path) + (dir ? strlen(dir) + 1 : 0) + 1;

	if (stat(path, &st) || !(b = xzalloc(sizeof(*b) + len)))
		return NULL;
	snprintf(b->path, len, "%s%s%s", dir ?: "", dir ? "/" : "", path);
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	list_add(&b->list, &bound_files);
	return b;
}

static void unlink_bound(bool all)
{
	struct bound_file *b, *n;
	struct stat st;

	list_for_each_entry_safe(b, n, &bound_files, list) {
		if (!all && !b->gone)
			continue;
		if (!stat(b->path, &st) && st.st_dev == b->dev && st.st_ino == b->ino &&
		    !unlink(b->path))
			pr_info("removed %s, bound by this %s\n", b->path,
				all ? "failed restore" : "restore for a deleted socket file");
		list_del(&b->list);
		free(b);
	}
}

static int set_file_perms(const char *path, UnixSkEntry *u)
{
	FilePermsEntry *fp = u->file_perms;

	if (!fp || (u->has_deleted && u->deleted))
		return 0;
	if (chmod(path, fp->mode & 07777)) {
		pr_perror("cannot set the mode of %s", path);
		return -1;
	}
	/* owner as far as we may (rootless: only ids of our namespace) */
	if (lchown(path, fp->uid, fp->gid) && errno != EPERM && errno != EINVAL) {
		pr_perror("cannot set the owner of %s", path);
		return -1;
	}
	return 0;
}

static socklen_t usk_addr(const UnixSkEntry *u, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (u->name.len > sizeof(addr->sun_path)) {
		pr_err("unix socket %u: a name of %zu bytes\n", u->ino, u->name.len);
		return 0;
	}
	memcpy(addr->sun_path, u->name.data, u->name.len);
	return offsetof(struct sockaddr_un, sun_path) + u->name.len;
}

/* A relative name is bound and reached from its directory. */
static int enter_dir(const UnixSkEntry *u, int *cwd)
{
	*cwd = -1;
	if (!u->name_dir || !u->name.len || !u->name.data[0])
		return 0;
	*cwd = open(".", O_PATH | O_CLOEXEC);
	if (*cwd < 0 || chdir(u->name_dir)) {
		pr_perror("cannot go to %s for unix socket %u", u->name_dir, u->ino);
		return -1;
	}
	return 0;
}

static int leave_dir(int cwd)
{
	int ret = 0;

	if (cwd >= 0 && fchdir(cwd)) {
		pr_perror("cannot go back to criu's cwd");
		ret = -1;
	}
	if (cwd >= 0)
		close(cwd);
	return ret;
}

/* Bind sk to u's name; temp: for a moment only (no mode, owner), see unbind_temp. */
static int do_bind(int sk, UnixSkEntry *u, bool temp)
{
	struct sockaddr_un addr;
	socklen_t alen = usk_addr(u, &addr);
	bool path = u->name.data[0] != 0;
	struct bound_file *b;
	int cwd, ret = -1;

	if (!alen || enter_dir(u, &cwd))
		return -1;
	if (path && clear_stale(addr.sun_path, &addr, alen, u->type))
		goto out;
	if (bind(sk, (struct sockaddr *)&addr, alen)) {
		pr_perror("cannot bind unix socket %u to %s%s", u->ino, path ? "" : "@",
			  addr.sun_path + !path);
		goto out;
	}
	ret = 0;
	if (!path)
		goto out;
	b = remember_bound(addr.sun_path, u->name_dir);
	if (temp)
		goto out;
	if (b && u->has_deleted && u->deleted) {
		/* it was bound, then its file removed: once all who connect did */
		b->gone = true;
	} else {
		ret = set_file_perms(addr.sun_path, u);
	}
out:
	return leave_dir(cwd) ? -1 : ret;
}

static int unbind_temp(UnixSkEntry *u)
{
	struct sockaddr_un addr;
	int cwd, ret = 0;

	if (!u->name.data[0] || !usk_addr(u, &addr))
		return 0;
	if (enter_dir(u, &cwd))
		return -1;
	if (unlink(addr.sun_path) && errno != ENOENT) {
		pr_perror("cannot remove the temporary socket file %s", addr.sun_path);
		ret = -1;
	}
	return leave_dir(cwd) ? -1 : ret;
}

static int bind_name(int sk, UnixSkEntry *u)
{
	return u->name.len ? do_bind(sk, u, false) : 0;
}

/* Connect sk to the socket named as u. */
static int connect_name(int sk, const UnixSkEntry *from, const UnixSkEntry *u)
{
	struct sockaddr_un addr;
	socklen_t alen = usk_addr(u, &addr);
	int cwd, ret;

	if (!alen || !u->name.len || enter_dir(u, &cwd))
		return -1;
	ret = connect(sk, (struct sockaddr *)&addr, alen);
	if (ret)
		pr_perror("cannot connect unix socket %u to %s%s%s", from->ino,
			  u->uflags & USK_EXTERN ? "its peer outside the tree " : "",
			  addr.sun_path[0] ? "" : "@", addr.sun_path + !addr.sun_path[0]);
	return leave_dir(cwd) || ret ? -1 : 0;
}

static int new_usk(UnixSkEntry *u, int flags)
{
	int sk = socket(AF_UNIX, u->type | SOCK_CLOEXEC | flags, 0);

	if (sk < 0) {
		pr_perror("cannot create a unix %s socket", sk_type_name(u->type));
		return -1;
	}
	if (restore_sk_bufs(sk, u->opts)) {
		close(sk);
		return -1;
	}
	return sk;
}

/* r is made: sk is its socket, ready. */
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
		pr_perror("cannot create a unix %s socket pair", sk_type_name(a->type));
		return -1;
	}
	/* a datagram end may carry a name of its own: bound after the pairing */
	if (bind_name(sv[0], a) || bind_name(sv[1], b) ||
	    restore_sk_bufs(sv[0], a->opts) || restore_sk_bufs(sv[1], b->opts) ||
	    fill_queue(sv[1], b->opts, a, false) || fill_queue(sv[0], a->opts, b, false) ||
	    finish(sv[0], a) || finish(sv[1], b))
		goto err;
	pr_info("unix sockets %u and %u: a %s pair again\n", a->ino, b->ino,
		sk_type_name(a->type));
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
static int make_orphan(struct usk_rst *r)
{
	UnixSkEntry *u = r->u;
	int sv[2];

	if (socketpair(AF_UNIX, u->type | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("cannot create a unix %s socket pair", sk_type_name(u->type));
		return -1;
	}
	if (bind_name(sv[0], u) || restore_sk_bufs(sv[0], u->opts) ||
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

static int make_single(struct usk_rst *r)
{
	int sk = new_usk(r->u, 0);

	if (sk < 0)
		return -1;
	if (bind_name(sk, r->u) || finish(sk, r->u)) {
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
	return r->u->ino < r->peer->u->ino;
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
	if (do_bind(t, a->u, true) || listen(t, 1))
		goto err;
	cs = new_usk(c->u, 0);
	if (cs < 0 || bind_name(cs, c->u) || connect_name(cs, c->u, a->u))
		goto err;
	as = accept4(t, NULL, NULL, SOCK_CLOEXEC);
	if (as < 0 || unbind_temp(a->u)) {
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
		unbind_temp(a->u);
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
	int sk = new_usk(c->u, SOCK_NONBLOCK);

	if (sk < 0)
		return -1;
	if (bind_name(sk, c->u) || connect_name(sk, c->u, l) ||
	    fill_queue(sk, c->u->opts, c->u, true) || finish(sk, c->u)) {
		close(sk);
		return -1;
	}
	return set_made(c, sk);
}

/*
 * A listener; first the named connections whose temporary listener needs
 * its name, then its pending connections, made again in accept order.
 */
static int make_listener(struct usk_rst *l)
{
	struct usk_rst *r;
	size_t i;
	int sk;

	list_for_each_entry(r, &usk_rsts, list)
		if (r->how == USK_CONN && !r->done && same_name(r->u, l->u) && make_usk(r))
			return -1;
	sk = new_usk(l->u, 0);
	if (sk < 0)
		return -1;
	if (bind_name(sk, l->u))
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
	sk = new_usk(r->u, 0);
	if (sk < 0)
		return -1;
	if (bind_name(sk, r->u)) {
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
	if (enter_dir(r->u, &cwd))
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
	if (leave_dir(cwd))
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
	if (r->peer && connect_name(sk, r->u, r->peer->u))
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

static int open_usk(FileEntry *fe, int *fd)
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
static int usk_anchors_done(void)
{
	struct usk_rst *r;

	unlink_bound(false);
	list_for_each_entry(r, &usk_rsts, list) {
		if (r->sk >= 0 && !r->taken) {
			pr_warn("unix socket %u was made but no descriptor took it\n", r->u->ino);
			close(r->sk);
			r->sk = -1;
		}
	}
	return 0;
}

static void usk_restore_failed(void)
{
	unlink_bound(true);
}

const struct fd_kind unix_sk_kind = {
	.name = "unix socket",
	.type = FD_TYPES__UNIXSK,
	.match = is_unix_sk,
	.dump = dump_usk,
	.dump_fini = usk_dump_fini,
	.collect = usk_collect,
	.open = open_usk,
	.anchors_done = usk_anchors_done,
	.restore_failed = usk_restore_failed,
};
