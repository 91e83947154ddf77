// SPDX-License-Identifier: GPL-2.0
/*
 * Controlling terminals.  The dump finds the session of each pty of the
 * tree (TIOCGSID and TIOCGPGRP through its master, or a leader's tty_nr
 * when no fd of the slave is open) and what /dev/tty fds name; restore
 * gives the session leader its terminal before it forks the rest of the
 * session, lets a task of the foreground group take the foreground, and
 * has each task open its /dev/tty fds itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cr_options.h"
#include "files.h"
#include "restore.h"
#include "tty.h"
#include "util.h"

/* The controlling terminal of pid, from /proc/PID/stat (tty_nr). */
dev_t task_ctty(pid_t pid)
{
	char path[64], *buf = NULL, *p;
	unsigned int tty_nr = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, &buf) < 0)
		return 0;
	p = strrchr(buf, ')');
	/* ") S ppid pgrp session tty_nr" */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %u", &tty_nr) != 1)
		tty_nr = 0;
	free(buf);
	return (dev_t)tty_nr;
}

/* /dev/tty of the pair's session: what restore opens in the task itself */
int dump_ctty_info(struct dump_pty *d)
{
	TtyInfoEntry e = TTY_INFO_ENTRY__INIT;
	TtyPtyEntry pe = TTY_PTY_ENTRY__INIT;

	if (d->info[SIDE_CTTY])
		return 0;
	e.type = TTY_TYPE__CTTY;
	e.rdev = DEV_TTY_RDEV;
	pe.index = d->index;
	e.pty = &pe;
	if (write_info(&e))
		return -1;
	d->info[SIDE_CTTY] = e.id;
	pr_info("pty %d: /dev/tty info %u\n", d->index, e.id);
	return 0;
}

/*
 * Once every fd is dumped: a session leader whose terminal is the slave
 * of this pair, which no fd of the tree has open, still needs it.
 */
int dump_ctty_only(struct dump_pty *d)
{
	struct pstree_item *it;
	struct fd_parms p;
	int sfd, ret;

	if (d->info[1])
		return 0;
	for_each_item(it) {
		if (it->state == TASK_DEAD || it->vpid != it->sid ||
		    task_ctty(it->pid) != makedev(PTS_MAJOR, d->index))
			continue;
		sfd = open_peer(d->lfd, O_RDWR | O_NONBLOCK);
		memset(&p, 0, sizeof(p));
		p.pid = it->pid;
		p.fd = -1;
		p.lfd = -1;
		p.flags = O_RDWR;
		p.mnt_id = -1;
		snprintf(p.link, sizeof(p.link), "%s/%d", d->pts_dir, d->index);
		if (sfd >= 0)
			fstat(sfd, &p.st);
		pr_info("pid %d: pty %d is its controlling terminal, with no fd open\n", it->vpid,
			d->index);
		ret = dump_info(d, true, sfd) ||
		      write_tty_file(new_file_id(), d->info[1], O_RDWR, &p);
		close_safe(&sfd);
		return ret ? -1 : 0;
	}
	return 0;
}

/* /dev/tty of a task whose terminal is a pty of the tree */
bool ctty_inside(pid_t pid)
{
	dev_t c = task_ctty(pid);

	return is_pts(c) && find_dump_pty(0, minor(c));
}

/*
 * A session leader of the tree keeps its controlling terminal only if
 * that is a pty of the tree; one from outside is --shell-job's business
 * (restored without a terminal, as criu's own session has none to give).
 */
int check_cttys(void)
{
	struct pstree_item *it;

	if (scan_masters())
		return -1;
	for_each_item(it) {
		dev_t c;

		if (it->state == TASK_DEAD || it->vpid != it->sid)
			continue;
		c = task_ctty(it->pid);
		if (!c || (is_pts(c) && find_dump_pty(0, minor(c))))
			continue;
		if (opts.shell_job) {
			pr_info("pid %d: its controlling terminal %u:%u is outside the tree; "
				"restored without one\n",
				it->pid, major(c), minor(c));
			continue;
		}
		pr_err("unsupported: pid %d leads a session whose controlling terminal %u:%u is "
		       "outside the tree; try --shell-job\n",
		       it->pid, major(c), minor(c));
		return -1;
	}
	return 0;
}

/*
 * /dev/tty names the opener's controlling terminal, and criu has not the
 * tree's: the task opens it itself (tty_task_fds_done), over this.
 */
int open_ctty_standin(FileEntry *fe, int *fd)
{
	*fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("cannot open /dev/null for /dev/tty file %u", fe->id);
		return -1;
	}
	return 0;
}

/*
 * A descriptor of the task on the pair's slave.  With the tree's own mounts
 * criu opened the slaves after the fork: the root's copy of the pair does
 * not list them, but the task has them in place.
 */
static int task_slave_fd(struct pstree_item *it, struct rst_pty *r)
{
	struct task_restore *tr = rst_of(it);
	size_t i;
	int side;

	for (i = 0; i < tr->nr_fds; i++) {
		FileEntry *fe = find_file_entry(tr->fds[i]->id);

		if (fe && fe->type == FD_TYPES__TTY && fe->tty &&
		    pty_of_info(fe->tty->tty_info_id, &side) == r && side == SIDE_SLAVE)
			return tr->fds[i]->fd;
	}
	return -1;
}

/* In the session leader: the pty becomes its controlling terminal. */
static int set_ctty(struct pstree_item *it, struct rst_pty *r)
{
	char path[PATH_MAX + 16];
	int fd = first_slave_anchor(r), tmp = -1;

	if (fd < 0)
		fd = task_slave_fd(it, r);
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/%u", r->pts_dir, r->index);
		fd = tmp = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			pr_perror("pid %d: cannot open its terminal %s", it->vpid, path);
			return -1;
		}
	}
	if (ioctl(fd, TIOCSCTTY, 0)) {
		pr_perror("pid %d: cannot make pty %u its controlling terminal", it->vpid,
			  r->index);
		close_safe(&tmp);
		return -1;
	}
	close_safe(&tmp);
	pr_info("pid %d: pty %u is its controlling terminal\n", it->vpid, r->index);
	return 0;
}

/* In a task of the foreground group, which exists now that the task does. */
static int set_foreground(struct pstree_item *it, struct rst_pty *r)
{
	pid_t pgrp = r->info[1]->pgrp;
	sigset_t ttou, old;
	int fd, ret;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("pid %d: cannot open /dev/tty", it->vpid);
		return -1;
	}
	/* a background group may set it only with SIGTTOU blocked */
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	ret = ioctl(fd, TIOCSPGRP, &pgrp);
	if (ret)
		pr_perror("pid %d: cannot make group %d the foreground of pty %u", it->vpid, pgrp,
			  r->index);
	else
		pr_info("pty %u: group %d in the foreground\n", r->index, pgrp);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fd);
	return ret ? -1 : 0;
}

/* Each /dev/tty fd of the task, opened now that it has its terminal. */
static int open_dev_tty_fds(struct pstree_item *it)
{
	struct task_restore *tr = rst_of(it);
	size_t i;
	int side;

	for (i = 0; i < tr->nr_fds; i++) {
		FdinfoEntry *e = tr->fds[i];
		FileEntry *fe = find_file_entry(e->id);
		int f, cloexec = (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0;

		if (!fe || fe->type != FD_TYPES__TTY || !fe->tty ||
		    !pty_of_info(fe->tty->tty_info_id, &side) || side != SIDE_CTTY)
			continue;
		f = open("/dev/tty",
			 (fe->tty->flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY);
		if (f < 0 || dup3(f, e->fd, cloexec) != (int)e->fd) {
			pr_perror("pid %d: cannot open /dev/tty as fd %u", it->vpid, e->fd);
			if (f >= 0)
				close(f);
			return -1;
		}
		close(f);
		pr_debug("pid %d: fd %u is /dev/tty\n", it->vpid, e->fd);
	}
	return 0;
}

int tty_task_fds_done(struct pstree_item *it)
{
	struct rst_pty *r;

	list_for_each_entry(r, &rst_ptys, list) {
		TtyInfoEntry *si = r->info[1];

		if (!si || !si->sid)
			continue;
		if (si->sid == (u32)it->vpid && it->sid == it->vpid && set_ctty(it, r))
			return -1;
		if (si->pgrp && si->pgrp != si->sid && (u32)it->sid == si->sid &&
		    (u32)it->pgid == si->pgrp && set_foreground(it, r))
			return -1;
	}
	return open_dev_tty_fds(it);
}
