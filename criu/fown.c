// SPDX-License-Identifier: GPL-2.0
/*
 * The owner of an open file (F_SETOWN / F_SETOWN_EX) and the signal it
 * gets (F_SETSIG), for every kind of file.  fown_entry stores the owner
 * as the tree's pid namespace names it: pid_type is the F_OWNER_* type
 * of F_GETOWN_EX (TID 0, PID 1, PGRP 2) and pid a pid, tid or process
 * group.  The owner need not exist when a file is opened at restore, so
 * restore_fown() only sets the signal and remembers the rest; criu
 * applies every owner on the anchors once the whole tree exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "namespaces.h"
#include "proc_parse.h"
#include "pstree.h"
#include "util.h"

/* The tree's name (vpid, vtid or vpgid) of an owner criu sees as pid. */
static pid_t tree_owner(int type, pid_t pid)
{
	struct pstree_item *it;
	int i;

	for_each_item(it) {
		if (type == F_OWNER_PID && it->pid == pid)
			return it->vpid;
		if (type == F_OWNER_PGRP && getpgid(it->pid) == pid)
			return it->pgid;
		if (type != F_OWNER_TID)
			continue;
		for (i = 0; i < it->nr_threads; i++)
			if (it->threads[i].tid == pid)
				return it->threads[i].vtid;
	}
	return 0;
}

int dump_fown(struct fd_parms *p, FownEntry *fown)
{
	struct f_owner_ex ex = { 0 };
	struct proc_status st;
	int sig;

	fown->uid = fown->euid = fown->signum = fown->pid_type = fown->pid = 0;
	if (p->lfd < 0)
		return 0;	/* reached by a path: no description of its own */
	if (p->flags & O_PATH)
		return 0;	/* no owner, and fcntl() refuses to look */
	if (fcntl(p->lfd, F_GETOWN_EX, &ex)) {
		pr_perror("cannot read the owner of fd %d of pid %d", p->fd, p->pid);
		return -1;
	}
	sig = fcntl(p->lfd, F_GETSIG);
	if (sig < 0) {
		pr_perror("cannot read the signal of fd %d of pid %d", p->fd, p->pid);
		return -1;
	}
	fown->signum = sig;
	if (ex.pid <= 0)
		return 0;
	fown->pid_type = ex.type;
	fown->pid = tree_owner(ex.type, ex.pid);
	if (!fown->pid) {
		pr_warn("fd %d of pid %d is owned by %d (type %d) outside the tree: "
			"the owner is dropped\n", p->fd, p->pid, ex.pid, ex.type);
		fown->pid_type = 0;
		return 0;
	}
	/* who set the owner is not shown anywhere: take the holder's creds */
	if (!parse_pid_status(p->pid, 0, &st)) {
		fown->uid = tree_uid(st.uid[0]);
		fown->euid = tree_uid(st.uid[1]);
	}
	pr_debug("fd %d of pid %d: owner %d type %d, signal %d\n", p->fd, p->pid, fown->pid,
		 fown->pid_type, fown->signum);
	return 0;
}

/* ---- restore ---- */

struct fown_todo {
	struct list_head list;
	int fd;			/* criu's own copy of the description */
	int type;
	pid_t vpid;
};

static LIST_HEAD(fown_todos);

int restore_fown(int fd, FownEntry *fown)
{
	struct fown_todo *t;

	if (!fown)
		return 0;
	if (fown->signum && fcntl(fd, F_SETSIG, fown->signum)) {
		pr_perror("cannot set signal %u on a file", fown->signum);
		return -1;
	}
	if (!fown->pid)
		return 0;
	t = xzalloc(sizeof(*t));
	if (!t)
		return -1;
	t->fd = fcntl(fd, F_DUPFD_CLOEXEC, svc_fd_base);
	if (t->fd < 0) {
		pr_perror("cannot keep a file to set its owner");
		free(t);
		return -1;
	}
	t->type = fown->pid_type;
	t->vpid = fown->pid;
	list_add_tail(&t->list, &fown_todos);
	return 0;
}

/* The pid criu sees of an owner the tree calls vpid (tasks exist now). */
static pid_t host_owner(int type, pid_t vpid)
{
	struct pstree_item *it;

	for_each_item(it) {
		if (type == F_OWNER_PGRP && it->pgid == vpid)
			return getpgid(it->pid);
		/* only main threads exist before the restorer runs */
		if (type != F_OWNER_PGRP && it->vpid == vpid)
			return it->pid;
	}
	return 0;
}

static void drop_todo(struct fown_todo *t)
{
	close(t->fd);
	list_del(&t->list);
	free(t);
}

int restore_fowns(void)
{
	struct fown_todo *t, *n;
	int ret = 0;

	list_for_each_entry_safe(t, n, &fown_todos, list) {
		struct f_owner_ex ex = { .type = t->type, .pid = host_owner(t->type, t->vpid) };

		if (ret)
			goto next;
		if (ex.pid <= 0) {
			pr_warn("the owner %d (type %d) of a file is not in the tree: not set\n",
				t->vpid, t->type);
			goto next;
		}
		if (fcntl(t->fd, F_SETOWN_EX, &ex)) {
			pr_perror("cannot make %d (host %d, type %d) the owner of a file", t->vpid,
				  ex.pid, t->type);
			ret = -1;
			goto next;
		}
		pr_debug("owner of a file: %d (host %d, type %d)\n", t->vpid, ex.pid, t->type);
next:
		drop_todo(t);
	}
	return ret;
}
