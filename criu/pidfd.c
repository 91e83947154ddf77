// SPDX-License-Identifier: GPL-2.0
/*
 * pidfds (anon_inode:[pidfd]) of tasks in the tree.  fdinfo's "Pid:" line
 * names the task as criu's pid namespace sees it (-1 once reaped).  At
 * restore the task it refers to may not exist yet when the holder's fds
 * are installed, so the holder gets a stand-in there and, once every
 * task of the tree exists, opens the pidfd itself (pidfd_open on the
 * pid its own namespace gives the task) and puts it at its fd.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files.h"
#include "pidfd.pb-c.h"
#include "restore.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

static bool match_pidfd(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[pidfd]");
}

static int fdinfo_pid(const struct fd_parms *p, int *pid)
{
	const char *l = p->fdinfo ? strstr(p->fdinfo, "\nPid:") : NULL;

	if (!l) {
		pr_err("no Pid: line in the fdinfo of pidfd %d of pid %d\n", p->fd, p->pid);
		return -1;
	}
	*pid = atoi(l + 5);
	return 0;
}

static int dump_pidfd(struct fd_parms *p, u32 id)
{
	PidfdEntry pe = PIDFD_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	struct pstree_item *it;
	int pid;

	if (fdinfo_pid(p, &pid))
		return -1;
	it = pid > 0 ? pstree_find(pid) : NULL;
	if (!it) {
		pr_err("unsupported: pid %d fd %d is a pidfd of %s%d, outside the tree\n", p->pid,
		       p->fd, pid > 0 ? "pid " : "a reaped task, pid ", pid);
		return -1;
	}
	if (p->flags & PIDFD_THREAD) {
		pr_err("unsupported: pid %d fd %d is a pidfd of a thread (PIDFD_THREAD)\n", p->pid,
		       p->fd);
		return -1;
	}
	if (dump_fown(p, &fown))
		return -1;
	pe.id = id;
	pe.ino = p->st.st_ino;
	pe.flags = p->flags;
	pe.nspid = it->vpid;
	pe.fown = &fown;
	fe.type = FD_TYPES__PIDFD;
	fe.id = id;
	fe.pidfd = &pe;
	pr_debug("pid %d fd %d: pidfd of pid %d (%d in the tree)\n", p->pid, p->fd, pid, it->vpid);
	return write_file_entry(&fe);
}

/* ---- restore ---- */

/* The stand-in until the task the pidfd refers to exists. */
static int open_pidfd_anchor(FileEntry *fe, int *fd)
{
	if (!fe->pidfd) {
		pr_err("files.img: file %u of type PIDFD has no pidfd entry\n", fe->id);
		return -1;
	}
	*fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		pr_perror("cannot open /dev/null");
	return *fd < 0 ? -1 : 0;
}

static int open_own_pidfd(FileEntry *fe, int *fd)
{
	PidfdEntry *pe = fe->pidfd;

	*fd = syscall(SYS_pidfd_open, pe->nspid, pe->flags & O_NONBLOCK);
	if (*fd < 0) {
		pr_perror("cannot open a pidfd of pid %d", pe->nspid);
		return -1;
	}
	return 0;
}

static int pidfd_tree_done(struct pstree_item *it)
{
	return reopen_task_fds(it, FD_TYPES__PIDFD, open_own_pidfd);
}

const struct fd_kind pidfd_kind = {
	.name = "pidfd",
	.type = FD_TYPES__PIDFD,
	.match = match_pidfd,
	.dump = dump_pidfd,
	.open = open_pidfd_anchor,
	.tree_done = pidfd_tree_done,
};
