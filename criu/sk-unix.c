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
#include "sk-unix.h"
#include "sockets.h"
#include "util.h"

const char *usk_type_name(u32 type)
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
const char *usk_name(const struct usk_info *u)
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
bool usk_autobound(const char *name, size_t len)
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
bool usk_bound_dgram(u32 type, u32 peer, const char *name, size_t len)
{
	return type == SOCK_DGRAM && !peer && len && !usk_autobound(name, len);
}

/* Unnamed or autobound: an address nobody asked for, ours to take again. */
bool usk_anonymous(const struct usk_info *u)
{
	return !u->name_len || usk_autobound(u->name, u->name_len);
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
	const char *t = usk_type_name(u->type);

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
	const char *t = usk_type_name(u->type);

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
	return 0;
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
	       (u->state != USK_ESTABLISHED || u->peer || usk_bound_dgram(u->type, u->peer,
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
		       "flight (SCM_RIGHTS) in its queue\n", p->pid, p->fd, usk_type_name(u->type));
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
		"pending\n", p->pid, p->fd, usk_type_name(u->type), u->ino, u->state,
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
	const char *t = usk_type_name(u->type);

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
	       "outside the tree is connected\n", u->pid, u->fd, usk_type_name(u->type),
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
	       u->pid, u->fd, usk_type_name(u->type), l->ino, usk_name(l));
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
			pr_err("unsupported: pid %d fd %d is a unix %s socket with file "
			       "descriptors in flight (SCM_RIGHTS) to a connection not yet "
			       "accepted\n", c->pid, c->fd, usk_type_name(c->type));
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

const struct fd_kind unix_sk_kind = {
	.name = "unix socket",
	.type = FD_TYPES__UNIXSK,
	.match = is_unix_sk,
	.dump = dump_usk,
	.dump_fini = usk_dump_fini,
	.collect = usk_collect,
	.open = usk_open,
	.anchors_done = usk_anchors_done,
	.restore_failed = usk_restore_failed,
};

