// SPDX-License-Identifier: GPL-2.0
/*
 * epoll.  fdinfo lists each registration ("tfd:" lines: fd number,
 * events, data and the target's inode); which open file a registration
 * is on is asked with kcmp(KCMP_EPOLL_TFD) against the files of the
 * tree, since the fd it was added through may be closed or reused.  The
 * targets may be dumped after the epoll, so the entries are written at
 * dump_fini, when every task is dumped and still frozen.  At restore
 * criu creates the epolls with the other anchors and, once every anchor
 * is open, a throwaway child puts each target at its old fd number and
 * adds it: registrations live in the shared description.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "files.h"
#include "log.h"
#include "util.h"

/* a kernel dev_t (as fdinfo prints s_dev) as stat(2) shows it */
static u64 kdev_to_st(u32 kdev)
{
	return makedev(kdev >> 20, kdev & 0xfffff);
}

struct ep_target {
	int tfd;
	u32 events;
	u64 data, pos, ino;
	u32 sdev;
};

/* an epoll seen at dump, waiting for dump_fini */
struct ep_dump {
	struct list_head list;
	u32 id;
	pid_t pid;
	int fd;
	unsigned int flags;
	size_t n;
	struct ep_target *t;
};

static LIST_HEAD(ep_dumps);

static int parse_tfd_lines(const char *fdinfo, struct ep_dump *ed)
{
	const char *l;

	for (l = fdinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		struct ep_target t, *nt;
		unsigned long long data, pos, ino;

		if (strncmp(l, "tfd:", 4))
			continue;
		if (sscanf(l, "tfd: %d events: %x data: %llx pos:%lli ino:%llx sdev:%x", &t.tfd,
			   &t.events, &data, &pos, &ino, &t.sdev) != 6) {
			pr_err("pid %d fd %d: cannot parse epoll fdinfo line '%.80s'\n", ed->pid,
			       ed->fd, l);
			return -1;
		}
		t.data = data;
		t.pos = pos;
		t.ino = ino;
		nt = xrealloc(ed->t, (ed->n + 1) * sizeof(*nt));
		if (!nt)
			return -1;
		ed->t = nt;
		ed->t[ed->n++] = t;
	}
	return 0;
}

static int dump_eventpoll(struct fd_parms *p, u32 id)
{
	struct ep_dump *ed = xzalloc(sizeof(*ed));

	if (!ed)
		return -1;
	ed->id = id;
	ed->pid = p->pid;
	ed->fd = p->fd;
	ed->flags = p->flags;
	list_add_tail(&ed->list, &ep_dumps);
	if (!p->fdinfo) {
		pr_err("pid %d fd %d: no fdinfo for the epoll\n", p->pid, p->fd);
		return -1;
	}
	if (parse_tfd_lines(p->fdinfo, ed))
		return -1;
	pr_debug("pid %d fd %d: epoll id %u with %zu targets\n", p->pid, p->fd, id, ed->n);
	return 0;
}

/* The toff-th registration with this tfd number (fdinfo's order is the kernel's). */
static int tfd_offset(const struct ep_dump *ed, size_t i)
{
	int toff = 0;
	size_t j;

	for (j = 0; j < i; j++)
		toff += ed->t[j].tfd == ed->t[i].tfd;
	return toff;
}

/* The id of the dumped file that registration i of ed is on. */
static int find_target(const struct ep_dump *ed, size_t i, u32 *id)
{
	const struct ep_target *t = &ed->t[i];
	struct kcmp_epoll_slot slot = {
		.efd = ed->fd,
		.tfd = t->tfd,
		.toff = tfd_offset(ed, i),
	};
	struct dumped_file *d;

	list_for_each_entry(d, &dumped_files, list) {
		if (d->fd < 0 || d->ino != t->ino || d->dev != kdev_to_st(t->sdev))
			continue;
		if (syscall(SYS_kcmp, d->pid, ed->pid, KCMP_EPOLL_TFD, d->fd, &slot) == 0) {
			*id = d->id;
			return 0;
		}
	}
	pr_err("unsupported: pid %d fd %d is an epoll watching tfd %d (inode %llu), which no "
	       "task of the tree has open\n",
	       ed->pid, ed->fd, t->tfd, (unsigned long long)t->ino);
	return -1;
}

static int write_eventpoll(const struct ep_dump *ed)
{
	EventpollFileEntry ee = EVENTPOLL_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	EventpollTfdEntry *te = NULL, **tp = NULL;
	int ret = -1;
	size_t i;

	if (ed->n && (!(te = xzalloc(ed->n * sizeof(*te))) || !(tp = xzalloc(ed->n * sizeof(*tp)))))
		goto out;
	for (i = 0; i < ed->n; i++) {
		const struct ep_target *t = &ed->t[i];

		eventpoll_tfd_entry__init(&te[i]);
		if (find_target(ed, i, &te[i].id))
			goto out;
		te[i].tfd = t->tfd;
		te[i].events = t->events;
		te[i].data = t->data;
		te[i].has_dev = te[i].has_inode = te[i].has_pos = true;
		te[i].dev = t->sdev;
		te[i].inode = t->ino;
		te[i].pos = t->pos;
		tp[i] = &te[i];
		pr_debug("epoll %u: tfd %d is file %u, events %#x data %#llx\n", ed->id, t->tfd,
			 te[i].id, t->events, (unsigned long long)t->data);
	}
	ee.id = ed->id;
	ee.flags = ed->flags;
	ee.fown = &fown;
	ee.n_tfd = ed->n;
	ee.tfd = tp;
	fe.type = FD_TYPES__EVENTPOLL;
	fe.id = ed->id;
	fe.epfd = &ee;
	ret = write_file_entry(&fe);
out:
	free(te);
	free(tp);
	return ret;
}

static int eventpoll_dump_fini(void)
{
	struct ep_dump *ed, *n;
	int ret = 0;

	list_for_each_entry_safe(ed, n, &ep_dumps, list) {
		/* after a failed dump only the memory is released */
		if (!ret && !files_dump_failed && write_eventpoll(ed))
			ret = -1;
		list_del(&ed->list);
		free(ed->t);
		free(ed);
	}
	return ret;
}

/* ---- restore ---- */

struct ep_rst {
	struct list_head list;
	FileEntry *fe;
};

static LIST_HEAD(ep_rsts);

static int open_eventpoll(FileEntry *fe, int *fd)
{
	EventpollFileEntry *ee = fe->epfd;
	struct ep_rst *er;

	if (!ee) {
		pr_err("files.img: file %u of type EVENTPOLL has no epoll entry\n", fe->id);
		return -1;
	}
	*fd = epoll_create1(EPOLL_CLOEXEC);
	if (*fd < 0) {
		pr_perror("cannot create epoll %u", fe->id);
		return -1;
	}
	if ((ee->flags & O_NONBLOCK) && fcntl(*fd, F_SETFL, O_NONBLOCK)) {
		pr_perror("cannot set the flags of epoll %u", fe->id);
		goto err;
	}
	er = xzalloc(sizeof(*er));
	if (!er)
		goto err;
	er->fe = fe;
	list_add_tail(&er->list, &ep_rsts);
	pr_debug("epoll %u: created, %zu targets to add\n", fe->id, ee->n_tfd);
	return 0;
err:
	close(*fd);
	return -1;
}

/*
 * In the child: every anchor it uses gets a copy above all tfd numbers,
 * so that putting a target at its tfd never closes one still needed.
 */
struct fd_copy {
	int anchor, copy;
};

static int high_copy(struct fd_copy *c, size_t *nc, int anchor, int base)
{
	size_t i;

	for (i = 0; i < *nc; i++)
		if (c[i].anchor == anchor)
			return c[i].copy;
	c[*nc].anchor = anchor;
	c[*nc].copy = fcntl(anchor, F_DUPFD_CLOEXEC, base);
	if (c[*nc].copy < 0)
		pr_perror("cannot copy anchor %d above %d", anchor, base);
	return c[(*nc)++].copy;
}

/* Did the kernel keep EPOLLWAKEUP?  It drops it without CAP_BLOCK_SUSPEND. */
static void check_wakeup(int epfd, const EventpollTfdEntry *t, u32 id)
{
	char path[64], *buf, *l;
	unsigned int tfd, events;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	if (read_file(path, &buf) < 0)
		return;
	for (l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (sscanf(l, "tfd: %u events: %x", &tfd, &events) == 2 && tfd == t->tfd &&
		    !(events & EPOLLWAKEUP))
			pr_warn("epoll %u: tfd %u lost EPOLLWAKEUP (needs CAP_BLOCK_SUSPEND)\n", id,
				t->tfd);
	free(buf);
}

static int add_targets(struct fd_copy *c, size_t *nc, int base)
{
	struct ep_rst *er;
	size_t i;

	list_for_each_entry(er, &ep_rsts, list) {
		EventpollFileEntry *ee = er->fe->epfd;
		int epfd = high_copy(c, nc, anchor_fd(er->fe->id), base);

		for (i = 0; i < ee->n_tfd; i++) {
			EventpollTfdEntry *t = ee->tfd[i];
			struct epoll_event ev = {.events = t->events, .data.u64 = t->data};
			int a = anchor_fd(t->id), tfd;

			if (a < 0) {
				pr_err("epoll %u: target file %u was not opened\n", ee->id, t->id);
				return -1;
			}
			a = high_copy(c, nc, a, base);
			if (epfd < 0 || a < 0)
				return -1;
			tfd = dup2(a, t->tfd);
			if (tfd != (int)t->tfd || epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev)) {
				pr_perror("epoll %u: cannot add file %u as tfd %u", ee->id, t->id,
					  t->tfd);
				return -1;
			}
			close(tfd);
			if (t->events & EPOLLWAKEUP)
				check_wakeup(epfd, t, ee->id);
			pr_debug("epoll %u: added file %u as tfd %u, events %#x data %#llx\n",
				 ee->id, t->id, t->tfd, t->events, (unsigned long long)t->data);
		}
	}
	return 0;
}

static int count_fds(int *base)
{
	struct ep_rst *er;
	int n = 0;
	size_t i;

	*base = svc_fd_base;
	list_for_each_entry(er, &ep_rsts, list) {
		EventpollFileEntry *ee = er->fe->epfd;

		n += 1 + ee->n_tfd;
		*base = max(*base, anchor_fd(er->fe->id) + 1);
		for (i = 0; i < ee->n_tfd; i++) {
			*base = max(*base, (int)ee->tfd[i]->tfd + 1);
			*base = max(*base, anchor_fd(ee->tfd[i]->id) + 1);
		}
	}
	return n;
}

static void free_ep_rsts(void)
{
	struct ep_rst *er, *n;

	list_for_each_entry_safe(er, n, &ep_rsts, list) {
		list_del(&er->list);
		free(er);
	}
}

static int eventpoll_anchors_done(void)
{
	struct fd_copy *c;
	size_t nc = 0;
	int status = 0, base, n;
	pid_t pid;

	if (list_empty(&ep_rsts))
		return 0;
	n = count_fds(&base);
	c = xzalloc(n * sizeof(*c));
	if (!c)
		return -1;
	pid = fork();
	if (pid < 0) {
		pr_perror("cannot fork to add epoll targets");
		free(c);
		return -1;
	}
	if (pid == 0) {
		log_set_pid();
		/* a target put at its tfd must not land on the log */
		if (log_move_fds(base)) {
			pr_perror("cannot move the log above fd %d", base);
			_exit(1);
		}
		_exit(add_targets(c, &nc, base) ? 1 : 0);
	}
	free(c);
	if (xwaitpid(pid, &status, 0) != pid) {
		pr_perror("cannot wait for the child adding epoll targets");
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
		pr_err_logged("adding the epoll targets failed\n");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		pr_err("the child adding epoll targets died (status %#x)\n", status);
		return -1;
	}
	free_ep_rsts();
	return 0;
}

static bool match_eventpoll(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
}

const struct fd_kind eventpoll_kind = {
	.name = "eventpoll",
	.type = FD_TYPES__EVENTPOLL,
	.match = match_eventpoll,
	.dump = dump_eventpoll,
	.dump_fini = eventpoll_dump_fini,
	.open = open_eventpoll,
	.anchors_done = eventpoll_anchors_done,
};
