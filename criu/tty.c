// SPDX-License-Identifier: GPL-2.0
/*
 * Terminals: pty pairs whose master and slave are both in the tree.
 * Every open description gets a tty_file_entry (file_entry.tty) that
 * points at a tty_info_entry of its side (tty-info.img: one for the
 * master, one for the slave of each pair) and at a reg entry with its
 * path.  tty-data.img keeps the bytes queued in either direction
 * (tty-queue.c); sessions and /dev/tty are in tty-ctty.c.
 *
 * A terminal from outside the tree (a slave whose master we do not hold,
 * a vt, a serial line) is not ours: --shell-job dumps it as a file by
 * path, otherwise files.c refuses it with that hint.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "files.h"
#include "image.h"
#include "proc_parse.h"
#include "regfile.pb-c.h"
#include "tty.h"
#include "tty.pb-c.h"
#include "util.h"

#define KERNEL_NCCS 19 /* c_cc entries of the kernel's struct termios */

/*
 * The directory of the slaves, from a master's path (/dev/ptmx serves
 * the devpts at /dev/pts, /X/pts/ptmx its own) or from a slave's.
 */
void pts_dir_of(const char *path, bool master, char *out, size_t len)
{
	size_t n;
	char *slash;

	snprintf(out, len, "%s", path);
	slash = strrchr(out, '/');
	if (!slash) {
		snprintf(out, len, "/dev/pts");
		return;
	}
	*slash = '\0';
	n = strlen(out);
	if (master && (n < 4 || strcmp(out + n - 4, "/pts")))
		snprintf(out + n, len - n, "/pts");
}

/* ---- dump ---- */

LIST_HEAD(dump_ptys);
static bool ptys_scanned;
static u32 next_info_id = 1;
static struct cr_img *info_img, *data_img;

static int add_dump_pty(pid_t pid, int fd, const char *link)
{
	struct dump_pty *d;
	struct stat st;
	int lfd, peer, index;

	lfd = get_task_fd(pid, fd);
	if (lfd < 0)
		return -1;
	peer = open_peer(lfd, O_PATH);
	if (ioctl(lfd, TIOCGPTN, &index) || peer < 0 || fstat(peer, &st)) {
		pr_perror("pid %d fd %d: cannot find the slave of pty master %s", pid, fd, link);
		close_safe(&peer);
		close(lfd);
		return -1;
	}
	close(peer);
	list_for_each_entry(d, &dump_ptys, list)
		if (d->index == index && d->devpts == st.st_dev) {
			close(lfd); /* the same master, through another fd */
			return 0;
		}
	d = xzalloc(sizeof(*d));
	if (!d) {
		close(lfd);
		return -1;
	}
	d->lfd = lfd;
	d->index = index;
	d->devpts = st.st_dev;
	pts_dir_of(link, true, d->pts_dir, sizeof(d->pts_dir));
	list_add_tail(&d->list, &dump_ptys);
	pr_debug("pid %d fd %d: pty master of %s/%d\n", pid, fd, d->pts_dir, index);
	return 0;
}

/* Find every pty master of the tree: a slave is ours only if its master is. */
int scan_masters(void)
{
	struct pstree_item *it;

	if (ptys_scanned)
		return 0;
	ptys_scanned = true;
	for_each_item(it) {
		char path[300], link[PATH_MAX];
		struct dirent *de;
		DIR *dir;

		if (it->state == TASK_DEAD)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", it->pid);
		dir = opendir(path);
		if (!dir) {
			pr_perror("cannot open %s", path);
			return -1;
		}
		while ((de = readdir(dir))) {
			struct stat st;
			ssize_t n;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/fd/%s", it->pid, de->d_name);
			if (stat(path, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != PTMX_RDEV)
				continue;
			n = readlink(path, link, sizeof(link) - 1);
			link[n > 0 ? n : 0] = '\0';
			if (add_dump_pty(it->pid, atoi(de->d_name), link)) {
				closedir(dir);
				return -1;
			}
		}
		closedir(dir);
	}
	return scan_orphan_slaves();
}

struct dump_pty *find_dump_pty(dev_t devpts, int index)
{
	struct dump_pty *d;

	list_for_each_entry(d, &dump_ptys, list)
		if (d->index == index && (!devpts || d->devpts == devpts))
			return d;
	return NULL;
}

/* A session or group id as criu sees it, as the tree sees it; 0: not in the tree. */
static u32 tree_id(pid_t real, bool group)
{
	struct pstree_item *it;

	if (real <= 0)
		return 0;
	for_each_item(it) {
		struct proc_pid_stat st;

		if (it->state == TASK_DEAD || parse_pid_stat(it->pid, 0, &st))
			continue;
		if (!group && st.sid == real)
			return it->sid;
		if (group && st.pgid == real)
			return it->pgid;
	}
	return 0;
}

int write_info(TtyInfoEntry *e)
{
	e->id = next_info_id++;
	if (!info_img && !(info_img = open_image(CR_FD_TTY_INFO, O_DUMP)))
		return -1;
	return pb_write(info_img, e);
}

static void termios_to_entry(const struct termios *t, TermiosEntry *e, u32 *cc)
{
	int i;

	e->c_iflag = t->c_iflag;
	e->c_oflag = t->c_oflag;
	e->c_cflag = t->c_cflag;
	e->c_lflag = t->c_lflag;
	e->c_line = t->c_line;
	e->c_ispeed = cfgetispeed(t);
	e->c_ospeed = cfgetospeed(t);
	for (i = 0; i < KERNEL_NCCS; i++)
		cc[i] = t->c_cc[i];
	e->n_c_cc = KERNEL_NCCS;
	e->c_cc = cc;
}

/* Write the tty_info_entry of one side; slave: a slave fd, or -1. */
int dump_info(struct dump_pty *d, bool slave, int sfd)
{
	TtyInfoEntry e = TTY_INFO_ENTRY__INIT;
	TermiosEntry te = TERMIOS_ENTRY__INIT;
	WinsizeEntry we = WINSIZE_ENTRY__INIT;
	TtyPtyEntry pe = TTY_PTY_ENTRY__INIT;
	int locked = 0, packet = 0, excl = 0;
	pid_t sid = 0, pgrp = 0;
	struct termios t;
	struct winsize ws;
	struct stat st;
	u32 cc[KERNEL_NCCS];

	if (d->info[slave])
		return 0;
	/* an orphan's lfd is its slave: no lock or packet mode to read */
	if ((!d->orphan &&
	     (ioctl(d->lfd, TIOCGPTLCK, &locked) || ioctl(d->lfd, TIOCGPKT, &packet))) ||
	    tcgetattr(d->lfd, &t) || ioctl(d->lfd, TIOCGWINSZ, &ws)) {
		pr_perror("cannot read the state of pty %d", d->index);
		return -1;
	}
	/* exclusive is per side; the rest the master shows of the slave */
	if (ioctl(slave ? (d->orphan ? d->lfd : sfd) : d->lfd, TIOCGEXCL, &excl) ||
	    (d->orphan && !slave))
		excl = 0;
	if (d->orphan && slave)
		orphan_session(d, &sid, &pgrp);
	if (slave && (d->orphan || (!ioctl(d->lfd, TIOCGSID, &sid) &&
				    !ioctl(d->lfd, TIOCGPGRP, &pgrp)))) {
		e.sid = tree_id(sid, false);
		e.pgrp = tree_id(pgrp, true);
		if (!e.sid)
			pr_warn("pty %d controls session %d, which is not in the tree\n", d->index,
				sid);
	}
	e.type = TTY_TYPE__PTY;
	e.locked = locked;
	e.exclusive = excl;
	e.packet_mode = packet;
	e.rdev = slave ? makedev(PTS_MAJOR, d->index) : PTMX_RDEV;
	termios_to_entry(&t, &te, cc);
	e.termios = &te;
	we.ws_row = ws.ws_row;
	we.ws_col = ws.ws_col;
	we.ws_xpixel = ws.ws_xpixel;
	we.ws_ypixel = ws.ws_ypixel;
	e.winsize = &we;
	pe.index = d->index;
	e.pty = &pe;
	if (slave && (d->orphan ? d->lfd : sfd) >= 0 && !fstat(d->orphan ? d->lfd : sfd, &st)) {
		e.has_uid = e.has_gid = true;
		e.uid = st.st_uid;
		e.gid = st.st_gid;
	}
	if (write_info(&e))
		return -1;
	d->info[slave] = e.id;
	pr_info("pty %d %s: info %u, sid %u pgrp %u, locked %d packet %d excl %d\n", d->index,
		slave ? "slave" : "master", e.id, e.sid, e.pgrp, locked, packet, excl);
	return 0;
}

int write_tty_file(u32 id, u32 info_id, unsigned int flags, struct fd_parms *p)
{
	TtyFileEntry te = TTY_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	u32 regf_id = new_file_id();

	if (dump_reg_file(p, regf_id) || dump_fown(p, &fown))
		return -1;
	te.id = id;
	te.tty_info_id = info_id;
	te.flags = flags;
	te.fown = &fown;
	te.has_regf_id = true;
	te.regf_id = regf_id;
	fe.type = FD_TYPES__TTY;
	fe.id = id;
	fe.tty = &te;
	return write_file_entry(&fe);
}

static int write_queue(u32 info_id, char *buf, size_t len)
{
	TtyDataEntry e = TTY_DATA_ENTRY__INIT;

	if (!len)
		return 0;
	if (!data_img && !(data_img = open_image(CR_FD_TTY_DATA, O_DUMP)))
		return -1;
	e.tty_id = info_id;
	e.data.data = (u8 *)buf;
	e.data.len = len;
	return pb_write(data_img, &e);
}

/* The bytes queued in the pair, read and put back at once. */
static int dump_queues(struct dump_pty *d, int sfd)
{
	struct tty_queues q = {};
	struct termios orig;
	int packet = 0, ret = -1;

	if (sfd < 0) {
		pr_info("pty %d is locked: its queues are not read\n", d->index);
		return 0;
	}
	if (tcgetattr(sfd, &orig) || ioctl(d->lfd, TIOCGPKT, &packet))
		return -1;
	if (take_queues(d->lfd, sfd, packet, &orig, &q) || refill(d->lfd, sfd, &orig, &q))
		goto out;
	if (q.in_len && (dump_info(d, true, sfd) || write_queue(d->info[1], q.in, q.in_len)))
		goto out;
	if (q.out_len && write_queue(d->info[0], q.out, q.out_len))
		goto out;
	pr_info("pty %d: %zu bytes queued for the slave, %zu for the master\n", d->index, q.in_len,
		q.out_len);
	ret = 0;
out:
	free_queues(&q);
	return ret;
}

int dump_pty_once(struct dump_pty *d)
{
	int sfd, ret;

	if (d->dumped)
		return 0;
	d->dumped = true;
	sfd = open_peer(d->lfd, O_RDWR | O_NONBLOCK); /* fails while locked */
	ret = dump_info(d, false, -1) || dump_queues(d, sfd);
	close_safe(&sfd);
	return ret ? -1 : 0;
}

static bool match_tty(const struct fd_parms *p)
{
	dev_t r = p->st.st_rdev;

	if (!S_ISCHR(p->st.st_mode) || p->fd < 0)
		return false;
	if (r == PTMX_RDEV)
		return true;
	if (!is_pts(r) && r != DEV_TTY_RDEV)
		return false;
	if (scan_masters())
		return true; /* dump_tty says what failed */
	if (r == DEV_TTY_RDEV)
		return ctty_inside(p->pid);
	return find_dump_pty(p->st.st_dev, minor(r)) != NULL;
}

static int dump_tty(struct fd_parms *p, u32 id)
{
	dev_t r = p->st.st_rdev;
	struct dump_pty *d;
	bool slave = is_pts(r);

	if (scan_masters())
		return -1;
	if (r == DEV_TTY_RDEV) {
		dev_t c = task_ctty(p->pid);

		d = is_pts(c) ? find_dump_pty(0, minor(c)) : NULL;
		if (!d || dump_pty_once(d) || dump_ctty_info(d))
			return -1;
		pr_debug("pid %d fd %d: /dev/tty of pty %d, file %u\n", p->pid, p->fd, d->index,
			 id);
		return write_tty_file(id, d->info[SIDE_CTTY], p->flags, p);
	}
	if (slave) {
		d = find_dump_pty(p->st.st_dev, minor(r));
	} else {
		int index = -1, peer = open_peer(p->lfd, O_PATH);
		struct stat st;

		/* the same number may exist on another devpts */
		if (peer >= 0 && !fstat(peer, &st) && !ioctl(p->lfd, TIOCGPTN, &index))
			d = find_dump_pty(st.st_dev, index);
		else
			d = NULL;
		close_safe(&peer);
	}
	if (!d) {
		pr_err("pid %d fd %d: pty %s was not found in the tree\n", p->pid, p->fd, p->link);
		return -1;
	}
	if (dump_pty_once(d) || dump_info(d, slave, p->lfd))
		return -1;
	pr_debug("pid %d fd %d: pty %d %s, file %u\n", p->pid, p->fd, d->index,
		 slave ? "slave" : "master", id);
	return write_tty_file(id, d->info[slave], p->flags, p);
}

static int tty_dump_fini(void)
{
	struct dump_pty *d, *n;
	int ret = 0;

	/* the first call comes with the tree still frozen; later ones find nothing */
	list_for_each_entry_safe(d, n, &dump_ptys, list) {
		if (d->dumped && dump_ctty_only(d))
			ret = -1;
		close(d->lfd);
		list_del(&d->list);
		free(d);
	}
	ptys_scanned = false;
	if (info_img && close_image(info_img))
		ret = -1;
	if (data_img && close_image(data_img))
		ret = -1;
	info_img = data_img = NULL;
	return ret;
}

/* ---- restore ---- */

LIST_HEAD(rst_ptys);

struct rst_pty *pty_of_info(u32 info_id, int *side)
{
	struct rst_pty *r;
	int i;

	list_for_each_entry(r, &rst_ptys, list)
		for (i = 0; i < NR_SIDES; i++)
			if (r->info[i] && r->info[i]->id == info_id) {
				*side = i;
				return r;
			}
	return NULL;
}

static const char *const side_names[NR_SIDES] = { "master", "slave", "/dev/tty" };

static int take_info(void *msg, void *arg)
{
	TtyInfoEntry *e = msg;
	struct rst_pty *r;
	int side = e->type == TTY_TYPE__CTTY ? SIDE_CTTY
		   : is_pts(e->rdev)	    ? SIDE_SLAVE
					    : SIDE_MASTER;

	(void)arg;
	if ((e->type != TTY_TYPE__PTY && e->type != TTY_TYPE__CTTY) || !e->pty) {
		pr_err("unsupported: tty-info.img: terminal %u of type %d\n", e->id, e->type);
		goto err;
	}
	list_for_each_entry(r, &rst_ptys, list)
		if (r->index == e->pty->index)
			goto found;
	r = xzalloc(sizeof(*r));
	if (!r)
		goto err;
	r->index = e->pty->index;
	r->master = -1;
	list_add_tail(&r->list, &rst_ptys);
found:
	if (r->info[side]) {
		pr_err("tty-info.img: pty %u has two %s entries\n", r->index, side_names[side]);
		goto err;
	}
	r->info[side] = e;
	return 0;
err:
	pb_free(e);
	return -1;
}

static int take_data(void *msg, void *arg)
{
	TtyDataEntry *e = msg;
	struct rst_pty *r;
	int side;
	char **buf;
	size_t *len;
	int ret = -1;

	(void)arg;
	r = pty_of_info(e->tty_id, &side);
	if (!r || side == SIDE_CTTY) {
		pr_err("tty-data.img: no terminal %u in tty-info.img\n", e->tty_id);
		goto out;
	}
	buf = side == SIDE_SLAVE ? &r->q.in : &r->q.out;
	len = side == SIDE_SLAVE ? &r->q.in_len : &r->q.out_len;
	if (*buf || e->data.len > QUEUE_MAX || !(*buf = xmalloc(e->data.len + 1)))
		goto out;
	memcpy(*buf, e->data.data, e->data.len);
	*len = e->data.len;
	ret = 0;
out:
	pb_free(e);
	return ret;
}

static int tty_collect(void)
{
	if (pb_read_all(CR_FD_TTY_INFO, O_RSTR | O_OPT, &tty_info_entry__descriptor, take_info,
			NULL))
		return -1;
	return pb_read_all(CR_FD_TTY_DATA, O_RSTR | O_OPT, &tty_data_entry__descriptor, take_data,
			   NULL);
}

static int open_ptmx(struct rst_pty *r, const char *path, int acc)
{
	char cand[3][PATH_MAX + 8];
	int i, fd = -1;

	snprintf(cand[0], sizeof(cand[0]), "%s", path ? path : "");
	snprintf(cand[1], sizeof(cand[1]), "%s", r->pts_dir);
	*strrchr(cand[1], '/') = '\0';
	strcat(cand[1], "/ptmx"); /* /dev/pts -> /dev/ptmx */
	snprintf(cand[2], sizeof(cand[2]), "%s/ptmx", r->pts_dir);
	for (i = 0; i < 3 && fd < 0; i++) {
		if (!cand[i][0])
			continue;
		fd = open(cand[i], acc | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			pr_debug("cannot open %s: %s\n", cand[i], strerror(errno));
		else
			pr_debug("pty %u: masters from %s\n", r->index, cand[i]);
	}
	if (fd < 0)
		pr_perror("cannot open a pty master for %s/%u", r->pts_dir, r->index);
	return fd;
}

/*
 * devpts hands out the lowest free number: open masters until ours comes,
 * then let the ones below go.
 */
static int make_pty(struct rst_pty *r, const char *ptmx, int acc)
{
	int *extra, nr = 0, fd = -1, n, ret = -1;
	char path[PATH_MAX + 16];
	struct stat st;
	u64 deadline;

	if (r->master >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%u", r->pts_dir, r->index);
	/* a pty of the dumped and killed tree goes away a little later */
	deadline = now_us() + 2000000;
	while (!stat(path, &st) && now_us() < deadline)
		usleep(5000);
	if (!stat(path, &st)) {
		pr_err("pts %u is taken: %s exists (restore needs that number on that devpts)\n",
		       r->index, path);
		return -1;
	}
	extra = xmalloc((r->index + 1) * sizeof(int));
	if (!extra)
		return -1;
	for (;;) {
		fd = open_ptmx(r, ptmx, acc);
		if (fd < 0)
			goto out;
		if (ioctl(fd, TIOCGPTN, &n)) {
			pr_perror("cannot read the number of a new pty");
			goto out;
		}
		if ((u32)n == r->index)
			break;
		if ((u32)n > r->index || nr > (int)r->index) {
			pr_err("pts %u is taken: devpts at %s gave %d (restore needs that "
			       "number)\n",
			       r->index, r->pts_dir, n);
			goto out;
		}
		extra[nr++] = fd;
		fd = -1;
	}
	r->master = move_to_svc(fd);
	fd = -1;
	ret = r->master < 0 ? -1 : 0;
	pr_info("pty %u made again (%d lower numbers were free)\n", r->index, nr);
out:
	close_safe(&fd);
	while (nr > 0)
		close(extra[--nr]);
	free(extra);
	return ret;
}

static int open_slave(struct rst_pty *r, FileEntry *fe, const char *path, int *fd)
{
	TtyInfoEntry *si = r->info[1];
	int unlock = 0, f;

	if (ioctl(r->master, TIOCSPTLCK, &unlock)) {
		pr_perror("cannot unlock pty %u", r->index);
		return -1;
	}
	f = open(path,
		 (fe->tty->flags & (O_ACCMODE | O_NONBLOCK | O_APPEND | O_ASYNC)) | O_NOCTTY |
			 O_CLOEXEC);
	if (f < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	if (si->has_uid && fchown(f, si->uid, si->gid))
		pr_warn("cannot give %s to %u:%u: %s\n", path, si->uid, si->gid, strerror(errno));
	if (restore_fown(f, fe->tty->fown)) {
		close(f);
		return -1;
	}
	if (r->nr_slave_ids < (int)ARRAY_SIZE(r->slave_ids))
		r->slave_ids[r->nr_slave_ids++] = fe->id;
	*fd = f;
	return 0;
}

static int open_tty(FileEntry *fe, int *fd)
{
	TtyFileEntry *t = fe->tty;
	FileEntry *rfe = t && t->has_regf_id ? find_file_entry(t->regf_id) : NULL;
	const char *path = rfe && rfe->reg ? rfe->reg->name : NULL;
	struct rst_pty *r;
	bool slave;
	int side;

	if (!t || !path) {
		pr_err("files.img: terminal file %u has no tty entry or path\n", fe->id);
		return -1;
	}
	r = pty_of_info(t->tty_info_id, &side);
	if (!r || !r->info[SIDE_MASTER] || !r->info[SIDE_SLAVE]) {
		pr_err("tty-info.img: no pty pair for file %u (%s)\n", fe->id, path);
		return -1;
	}
	if (side == SIDE_CTTY)
		return open_ctty_standin(fe, fd);
	slave = side == SIDE_SLAVE;
	if (!r->pts_dir[0])
		pts_dir_of(path, !slave, r->pts_dir, sizeof(r->pts_dir));
	if (make_pty(r, slave ? NULL : path, slave ? O_RDWR : (int)(t->flags & O_ACCMODE)))
		return -1;
	if (slave)
		return open_slave(r, fe, path, fd);
	if (r->master_given) {
		pr_err("pty %u: two descriptions of one master in the images\n", r->index);
		return -1;
	}
	if (fcntl(r->master, F_SETFL, t->flags & (O_NONBLOCK | O_APPEND | O_ASYNC))) {
		pr_perror("cannot set the flags of pty master %u", r->index);
		return -1;
	}
	if (restore_fown(r->master, t->fown))
		return -1;
	r->master_given = true;
	*fd = r->master;
	return 0;
}

static void entry_to_termios(const TermiosEntry *e, struct termios *t)
{
	size_t i;

	t->c_iflag = e->c_iflag;
	t->c_oflag = e->c_oflag;
	t->c_cflag = e->c_cflag;
	t->c_lflag = e->c_lflag;
	t->c_line = e->c_line;
	for (i = 0; i < e->n_c_cc && i < KERNEL_NCCS; i++)
		t->c_cc[i] = e->c_cc[i];
	cfsetispeed(t, e->c_ispeed);
	cfsetospeed(t, e->c_ospeed);
}

int first_slave_anchor(struct rst_pty *r)
{
	int i, fd;

	for (i = 0; i < r->nr_slave_ids; i++) {
		fd = anchor_fd(r->slave_ids[i]);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

/* Modes, size and queues first; packet mode, exclusive and lock last. */
static int setup_pty(struct rst_pty *r)
{
	TtyInfoEntry *mi = r->info[0], *si = r->info[1];
	int on = 1, sfd = -1, ret = -1, a, lock;
	struct termios t;
	struct winsize ws = {};

	if (tcgetattr(r->master, &t))
		goto err;
	if (si->termios)
		entry_to_termios(si->termios, &t);
	if (si->winsize) {
		ws.ws_row = si->winsize->ws_row;
		ws.ws_col = si->winsize->ws_col;
		ws.ws_xpixel = si->winsize->ws_xpixel;
		ws.ws_ypixel = si->winsize->ws_ypixel;
	}
	if (tcsetattr(r->master, TCSANOW, &t) || ioctl(r->master, TIOCSWINSZ, &ws))
		goto err;
	if (r->q.in_len || r->q.out_len) {
		lock = 0;
		ioctl(r->master, TIOCSPTLCK, &lock);
		sfd = open_peer(r->master, O_RDWR | O_NONBLOCK);
		if (sfd < 0 || refill(r->master, sfd, &t, &r->q))
			goto err;
	}
	if (mi->packet_mode && ioctl(r->master, TIOCPKT, &on))
		goto err;
	if (mi->exclusive && ioctl(r->master, TIOCEXCL))
		goto err;
	a = first_slave_anchor(r);
	if (si->exclusive && a >= 0 && ioctl(a, TIOCEXCL))
		goto err;
	/* a new pty starts locked */
	lock = mi->locked;
	if (ioctl(r->master, TIOCSPTLCK, &lock))
		goto err;
	pr_info("pty %u: modes set, %zu+%zu bytes queued again\n", r->index, r->q.in_len,
		r->q.out_len);
	ret = 0;
err:
	if (ret)
		pr_perror("cannot set up pty %u as it was", r->index);
	close_safe(&sfd);
	return ret;
}

static int tty_anchors_done(void)
{
	struct rst_pty *r;

	list_for_each_entry(r, &rst_ptys, list)
		if (r->master >= 0 && setup_pty(r))
			return -1;
	return send_orphan_masters();
}

const struct fd_kind tty_kind = {
	.name = "tty",
	.type = FD_TYPES__TTY,
	.match = match_tty,
	.dump = dump_tty,
	.dump_fini = tty_dump_fini,
	.collect = tty_collect,
	.open = open_tty,
	.anchors_done = tty_anchors_done,
	.task_fds_done = tty_task_fds_done,
};
