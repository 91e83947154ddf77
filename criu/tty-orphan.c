// SPDX-License-Identifier: GPL-2.0
/*
 * Orphan pty slaves (RPC orphan_pts_master): the slave is the tree's, its
 * master is not -- a container's console, whose master the runtime handed
 * to whoever listens on its console socket.  At dump such a slave becomes
 * a pair of the tree whose master side is read from the slave (modes,
 * size; no lock, no packet mode, no queues: those only the master shows);
 * at restore the pair is made again with the same number and, since no
 * file of the tree holds its master, the master goes to the RPC client in
 * the "orphan-pts-master" notification (SCM_RIGHTS), as runc and crun
 * expect.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "action-scripts.h"
#include "cr_options.h"
#include "files.h"
#include "tty.h"
#include "util.h"

static int add_orphan(pid_t pid, int fd, const struct stat *st, const char *link)
{
	struct dump_pty *d = xzalloc(sizeof(*d));

	if (!d)
		return -1;
	d->lfd = get_task_fd(pid, fd);
	if (d->lfd < 0) {
		free(d);
		return -1;
	}
	d->index = minor(st->st_rdev);
	d->devpts = st->st_dev;
	d->orphan = true;
	pts_dir_of(link, false, d->pts_dir, sizeof(d->pts_dir));
	list_add_tail(&d->list, &dump_ptys);
	pr_info("pid %d fd %d: pty slave %s, whose master is outside the tree (orphan)\n", pid,
		fd, link);
	return 0;
}

static int scan_task(pid_t pid)
{
	char path[300], link[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while (!ret && (de = readdir(dir))) {
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, de->d_name);
		if (stat(path, &st) || !S_ISCHR(st.st_mode) || !is_pts(st.st_rdev) ||
		    find_dump_pty(st.st_dev, minor(st.st_rdev)))
			continue;
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		ret = add_orphan(pid, atoi(de->d_name), &st, link);
	}
	closedir(dir);
	return ret;
}

/* After the masters: every slave without one, when the client takes masters. */
int scan_orphan_slaves(void)
{
	struct pstree_item *it;

	if (!opts.orphan_pts_master)
		return 0;
	for_each_item(it)
		if (it->state != TASK_DEAD && scan_task(it->pid))
			return -1;
	return 0;
}

/* The session that has the orphan as its terminal, and its foreground group. */
void orphan_session(struct dump_pty *d, pid_t *sid, pid_t *pgrp)
{
	struct pstree_item *it;

	*sid = *pgrp = 0;
	for_each_item(it) {
		char path[64], *buf = NULL, *p;
		int s, nr, tpgid;

		if (it->state == TASK_DEAD)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", it->pid);
		if (read_file(path, &buf) < 0)
			continue;
		p = strrchr(buf, ')');
		/* ") S ppid pgrp session tty_nr tpgid" */
		if (p && sscanf(p + 1, " %*c %*d %*d %d %d %d", &s, &nr, &tpgid) == 3 &&
		    s == it->pid && (dev_t)nr == makedev(PTS_MAJOR, d->index)) {
			*sid = s;
			*pgrp = tpgid > 0 ? tpgid : 0;
		}
		free(buf);
	}
}

/* Restore: masters no file of the tree took go to the client. */
int send_orphan_masters(void)
{
	struct rst_pty *r;

	list_for_each_entry(r, &rst_ptys, list) {
		if (r->master < 0 || r->master_given)
			continue;
		if (!opts.orphan_pts_master) {
			pr_err("pty %u: its master was outside the tree; only an RPC client that "
			       "sets orphan_pts_master can take it\n", r->index);
			return -1;
		}
		if (run_action_fd(ACT_ORPHAN_PTS_MASTER, 0, r->master)) {
			pr_err("pty %u: the client did not take its master\n", r->index);
			return -1;
		}
		pr_info("pty %u: its master went to the client\n", r->index);
	}
	return 0;
}
