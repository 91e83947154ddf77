// SPDX-License-Identifier: GPL-2.0
/*
 * AF_UNIX sockets: listeners bound to a path or an abstract name,
 * connected pairs with both ends in the tree (socketpair), ends whose peer
 * was closed, and unbound unconnected ones.  What a socket is (state,
 * name, peer, pending connections, queue lengths, the bound file) is
 * asked of the kernel with sock_diag (sk-diag.c) once per dump, for every
 * unix socket of the net namespace; a descriptor is matched to its socket
 * by inode.
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
#include "sk-unix.pb-c.h"
#include "sockets.h"
#include "util.h"

/* unix_diag reports socket states in TCP's numbers */
#define USK_ESTABLISHED	1
#define USK_CLOSE	7
#define USK_LISTEN	10

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
 * A datagram socket bound to a name of its own and not connected.  Once
 * another socket connects to it, unix_diag shows it "connected" too, with
 * no peer.
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

/* What we cannot restore yet, refused by name; 0 if we can. */
static int check_usk(const struct fd_parms *p, const struct usk_info *u)
{
	const struct usk_info *peer = u->peer ? find_usk(u->peer) : NULL;
	const char *t = sk_type_name(u->type);

	if (u->type != SOCK_STREAM && u->type != SOCK_DGRAM && u->type != SOCK_SEQPACKET)
		goto refuse;
	if (u->state == USK_LISTEN) {
		if (!u->rqueue && !u->nr_icons)
			return 0;
		pr_err("unsupported: pid %d fd %d is a unix listening socket with %u connections "
		       "not yet accepted\n", p->pid, p->fd, max(u->rqueue, u->nr_icons));
		return -1;
	}
	if (u->peer) {
		if (!peer || peer->peer != u->ino) {
			pr_err("unsupported: pid %d fd %d is a unix %s socket (%s) connected to "
			       "socket:[%u] (%s), which is not connected back to it\n", p->pid,
			       p->fd, t, usk_name(u), u->peer, usk_name(peer));
			return -1;
		}
		if (!anonymous(u) || !anonymous(peer)) {
			pr_err("unsupported: pid %d fd %d is a unix %s socket (%s) connected to "
			       "socket:[%u] (%s): only unnamed pairs are supported\n", p->pid,
			       p->fd, t, usk_name(u), u->peer, usk_name(peer));
			return -1;
		}
		return 0;
	}
	/* unconnected, maybe bound: datagrams from others would lose their senders */
	if ((u->state == USK_CLOSE || bound_dgram(u->type, u->peer, u->name, u->name_len)) &&
	    !u->rqueue)
		return 0;
	if (u->state == USK_ESTABLISHED) {
		/* its peer was closed: what is queued can still be read */
		if (anonymous(u))
			return 0;
		pr_err("unsupported: pid %d fd %d is a unix %s socket bound to %s whose peer is "
		       "closed\n", p->pid, p->fd, t, usk_name(u));
		return -1;
	}
refuse:
	pr_err("unsupported: pid %d fd %d is a socket (unix %s, %s, %s%s, %u bytes queued)\n",
	       p->pid, p->fd, t, sk_state_name(u->state), u->name_len ? "bound to " : "",
	       usk_name(u), u->rqueue);
	return -1;
}

static int dump_usk_queue(struct fd_parms *p, struct usk_info *u, u32 id)
{
	bool in_flight;

	if (u->state == USK_CLOSE || bound_dgram(u->type, u->peer, u->name, u->name_len)) {
		char c;

		/* rqueue is the first datagram's length, 0 for an empty one too */
		if (recv(p->lfd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN)
			return 0;
		pr_err("unsupported: pid %d fd %d is a unix %s socket (%s) with messages from "
		       "unconnected senders queued\n", p->pid, p->fd, sk_type_name(u->type),
		       usk_name(u));
		return -1;
	}
	if (u->state != USK_ESTABLISHED)
		return 0;
	if (dump_sk_queue(p->lfd, id, u->type, u->shutdown & 1, &in_flight))
		return -1;
	if (in_flight) {
		pr_err("unsupported: pid %d fd %d is a unix %s socket with file descriptors in "
		       "flight (SCM_RIGHTS) in its queue\n", p->pid, p->fd, sk_type_name(u->type));
		return -1;
	}
	return 0;
}

static int dump_usk(struct fd_parms *p, u32 id)
{
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
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
	if (check_usk(p, u))
		return -1;
	ue.id = id;
	ue.ino = u->ino;
	ue.type = u->type;
	ue.state = u->state;
	ue.flags = p->flags;
	ue.backlog = u->state == USK_LISTEN ? u->wqueue : 0;
	ue.peer = u->peer;
	ue.fown = &fown;
	ue.opts = &opts;
	ue.name.data = (u8 *)u->name;
	ue.name.len = u->name_len;
	ue.has_shutdown = u->shutdown != 0;
	ue.shutdown = u->shutdown;
	if (dump_fown(p, &fown) || dump_sk_opts(p->lfd, &opts))
		goto out;
	if (u->name_len && u->name[0] && dump_bound_file(p, u, &ue, &perms))
		goto out;
	if (dump_usk_queue(p, u, id))
		goto out;
	u->dumped = true;
	u->pid = p->pid;
	u->fd = p->fd;
	fe.type = FD_TYPES__UNIXSK;
	fe.id = id;
	fe.usk = &ue;
	pr_info("pid %d fd %d: unix %s socket %u, state %u, %s, peer %u, backlog %u\n", p->pid,
		p->fd, sk_type_name(u->type), u->ino, u->state, usk_name(u), u->peer, ue.backlog);
	ret = write_file_entry(&fe);
out:
	free(ue.name_dir);
	return ret;
}

/* A socket outside the tree connected to u (a datagram client), or NULL. */
static struct usk_info *outside_client(const struct usk_info *u)
{
	struct usk_info *c;

	list_for_each_entry(c, &usk_infos, list)
		if (c->peer == u->ino && !c->dumped)
			return c;
	return NULL;
}

/* Every peer of a dumped socket, and every socket connected to one, is in the tree. */
static int usk_dump_fini(void)
{
	struct usk_info *u, *peer;
	int ret = files_dump_failed ? -1 : 0;

	list_for_each_entry(u, &usk_infos, list) {
		if (ret || !u->dumped)
			continue;
		peer = u->peer ? find_usk(u->peer) : outside_client(u);
		if (!peer || peer->dumped)
			continue;
		if (u->peer)
			pr_err("unsupported: pid %d fd %d is a unix %s socket connected to "
			       "socket:[%u] (%s), which no process of the tree holds\n", u->pid,
			       u->fd, sk_type_name(u->type), u->peer, usk_name(peer));
		else
			pr_err("unsupported: pid %d fd %d is a unix %s socket (%s) to which "
			       "socket:[%u] (%s) outside the tree is connected\n", u->pid, u->fd,
			       sk_type_name(u->type), usk_name(u), peer->ino, usk_name(peer));
		ret = -1;
	}
	free_usk_infos();
	if (sk_queue_dump_fini())
		ret = -1;
	return files_dump_failed ? 0 : ret;
}

/* ---- restore ---- */

/* A UNIXSK entry of files.img; for a pair, the end made with its peer. */
struct usk_rst {
	struct list_head list;
	FileEntry *fe;
	int end;		/* made with the peer, not yet taken; or -1 */
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
	r->end = -1;
	list_add_tail(&r->list, &usk_rsts);
	return 0;
}

static struct usk_rst *find_usk_rst(u32 ino)
{
	struct usk_rst *r;

	list_for_each_entry(r, &usk_rsts, list)
		if (r->fe->usk->ino == ino)
			return r;
	return NULL;
}

/* Our own look at files.img (for the peers) and sk-queues.img. */
static int usk_collect(void)
{
	struct usk_rst *r, *peer;

	if (pb_read_all(CR_FD_FILES, O_RSTR, &file_entry__descriptor, take_usk, NULL))
		return -1;
	list_for_each_entry(r, &usk_rsts, list) {
		UnixSkEntry *u = r->fe->usk;

		if (!u->peer)
			continue;
		peer = find_usk_rst(u->peer);
		if (!peer || peer->fe->usk->peer != u->ino || peer->fe->usk->type != u->type) {
			pr_err("files.img: unix socket %u is connected to socket %u, which is not "
			       "its peer in the images\n", u->ino, u->peer);
			return -1;
		}
	}
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
static int fill_queue(int from, SkOptsEntry *from_opts, UnixSkEntry *to)
{
	size_t bytes = sk_queue_bytes(to->id);
	SkOptsEntry big = *from_opts;

	if (!bytes)
		return 0;
	big.so_sndbuf = max((size_t)from_opts->so_sndbuf, 4 * bytes + (1 << 16));
	if (big.so_sndbuf > (1U << 30))
		big.so_sndbuf = 1U << 30;
	if (restore_sk_bufs(from, &big) || restore_sk_queue(from, to->id))
		return -1;
	pr_debug("unix socket %u: %zu bytes queued again\n", to->ino, bytes);
	return restore_sk_bufs(from, from_opts);
}

static int bind_name(int sk, UnixSkEntry *u);

/* A connected end takes its autobound name again, if it had one. */
static int rebind(int sk, UnixSkEntry *u)
{
	if (!u->name.len)
		return 0;
	if (!autobound((char *)u->name.data, u->name.len)) {
		pr_err("files.img: connected unix socket %u has a name of its own\n", u->ino);
		return -1;
	}
	return bind_name(sk, u);
}

/* Both ends at once: queues before shutdown, options last. */
static int open_pair(struct usk_rst *r, int *fd)
{
	struct usk_rst *pr = find_usk_rst(r->fe->usk->peer);
	UnixSkEntry *a = r->fe->usk, *b = pr->fe->usk;
	int sv[2];

	if (socketpair(AF_UNIX, a->type | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("cannot create a unix %s socket pair", sk_type_name(a->type));
		return -1;
	}
	if (rebind(sv[0], a) || rebind(sv[1], b) ||
	    restore_sk_bufs(sv[0], a->opts) || restore_sk_bufs(sv[1], b->opts) ||
	    fill_queue(sv[1], b->opts, a) || fill_queue(sv[0], a->opts, b) ||
	    usk_shutdown(sv[0], a) || usk_shutdown(sv[1], b) ||
	    restore_sk_opts(sv[0], a->opts) || restore_sk_opts(sv[1], b->opts))
		goto err;
	pr->end = move_to_svc(sv[1]);
	if (pr->end < 0) {
		close(sv[0]);
		return -1;
	}
	*fd = sv[0];
	pr_info("unix sockets %u and %u: a %s pair again\n", a->ino, b->ino,
		sk_type_name(a->type));
	return 0;
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
static int open_orphan(UnixSkEntry *u, int *fd)
{
	int sv[2];

	if (socketpair(AF_UNIX, u->type | SOCK_CLOEXEC, 0, sv)) {
		pr_perror("cannot create a unix %s socket pair", sk_type_name(u->type));
		return -1;
	}
	if (rebind(sv[0], u) || restore_sk_bufs(sv[0], u->opts) || fill_queue(sv[1], u->opts, u)) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	close(sv[1]);
	if (usk_shutdown(sv[0], u) || restore_sk_opts(sv[0], u->opts)) {
		close(sv[0]);
		return -1;
	}
	*fd = sv[0];
	pr_info("unix socket %u: connected, its peer closed\n", u->ino);
	return 0;
}

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
	char path[];
};

static LIST_HEAD(bound_files);

static void remember_bound(const char *path, const char *dir)
{
	struct bound_file *b;
	struct stat st;
	size_t len = strlen(path) + (dir ? strlen(dir) + 1 : 0) + 1;

	if (stat(path, &st) || !(b = xmalloc(sizeof(*b) + len)))
		return;
	snprintf(b->path, len, "%s%s%s", dir ?: "", dir ? "/" : "", path);
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	list_add(&b->list, &bound_files);
}

static void usk_restore_failed(void)
{
	struct bound_file *b, *n;
	struct stat st;

	list_for_each_entry_safe(b, n, &bound_files, list) {
		if (!stat(b->path, &st) && st.st_dev == b->dev && st.st_ino == b->ino &&
		    !unlink(b->path))
			pr_info("removed %s, bound by this failed restore\n", b->path);
		list_del(&b->list);
		free(b);
	}
}

static int set_file_perms(const char *path, UnixSkEntry *u)
{
	FilePermsEntry *fp = u->file_perms;

	if (u->has_deleted && u->deleted) {
		/* it was bound, then its file removed: the same again */
		if (unlink(path)) {
			pr_perror("cannot remove %s", path);
			return -1;
		}
		return 0;
	}
	if (!fp)
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

static int bind_name(int sk, UnixSkEntry *u)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + u->name.len;
	bool path = u->name.data[0] != 0;
	int cwd = -1, ret = -1;

	if (u->name.len > sizeof(addr.sun_path)) {
		pr_err("unix socket %u: a name of %zu bytes\n", u->ino, u->name.len);
		return -1;
	}
	memcpy(addr.sun_path, u->name.data, u->name.len);
	if (path && u->name_dir) {
		cwd = open(".", O_PATH | O_CLOEXEC);
		if (cwd < 0 || chdir(u->name_dir)) {
			pr_perror("cannot go to %s to bind %s", u->name_dir, addr.sun_path);
			goto out;
		}
	}
	if (path && clear_stale(addr.sun_path, &addr, alen, u->type))
		goto out;
	if (bind(sk, (struct sockaddr *)&addr, alen)) {
		pr_perror("cannot bind unix socket %u to %s%s", u->ino, path ? "" : "@",
			  addr.sun_path + !path);
		goto out;
	}
	if (path)
		remember_bound(addr.sun_path, u->name_dir);
	ret = path ? set_file_perms(addr.sun_path, u) : 0;
out:
	if (cwd >= 0 && fchdir(cwd)) {
		pr_perror("cannot go back to criu's cwd");
		ret = -1;
	}
	if (cwd >= 0)
		close(cwd);
	return ret;
}

static int open_single(UnixSkEntry *u, int *fd)
{
	int sk = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);

	if (sk < 0) {
		pr_perror("cannot create a unix %s socket", sk_type_name(u->type));
		return -1;
	}
	if (restore_sk_bufs(sk, u->opts) || (u->name.len && bind_name(sk, u)))
		goto err;
	if (u->state == USK_LISTEN && listen(sk, u->backlog)) {
		pr_perror("cannot listen on unix socket %u", u->ino);
		goto err;
	}
	if (usk_shutdown(sk, u) || restore_sk_opts(sk, u->opts))
		goto err;
	*fd = sk;
	return 0;
err:
	close(sk);
	return -1;
}

static int open_usk(FileEntry *fe, int *fd)
{
	struct usk_rst *r = find_usk_rst(fe->usk ? fe->usk->ino : 0);
	UnixSkEntry *u;
	int ret;

	if (!r) {
		pr_err("files.img: unix socket file %u has no entry\n", fe->id);
		return -1;
	}
	u = r->fe->usk;
	if (r->end >= 0) {
		*fd = r->end;
		r->end = -1;
		ret = 0;
	} else if (u->peer) {
		ret = open_pair(r, fd);
	} else if (u->state == USK_ESTABLISHED &&
		   !bound_dgram(u->type, u->peer, (char *)u->name.data, u->name.len)) {
		ret = open_orphan(u, fd);
	} else {
		ret = open_single(u, fd);
	}
	if (ret)
		return -1;
	if (fcntl(*fd, F_SETFL, u->flags & (O_NONBLOCK | O_ASYNC))) {
		pr_perror("cannot set the flags of unix socket %u", u->ino);
		return -1;
	}
	return restore_fown(*fd, u->fown);
}

const struct fd_kind unix_sk_kind = {
	.name = "unix socket",
	.type = FD_TYPES__UNIXSK,
	.match = is_unix_sk,
	.dump = dump_usk,
	.dump_fini = usk_dump_fini,
	.collect = usk_collect,
	.open = open_usk,
	.restore_failed = usk_restore_failed,
};
