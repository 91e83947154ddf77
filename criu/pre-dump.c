// SPDX-License-Identifier: GPL-2.0
/*
 * The keeper of write tracking between two dumps.  A userfaultfd lives
 * as long as some process holds it, and neither the target (it must not
 * see our fds) nor criu (it exits) can: pre-dump forks a small daemon
 * that holds only the uffds and a listening socket, hands them to the
 * next dump over SCM_RIGHTS and exits, or exits unused after a timeout.
 * Its abstract socket name is written into DIR/track-sock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr_options.h"
#include "dedup.h"
#include "dump-intr.h"
#include "image.h"
#include "infect.h"
#include "log.h"
#include "mem.h"
#include "mem-track.h"
#include "pre-dump.h"
#include "proc_parse.h"
#include "seize.h"
#include "stats.pb-c.h"
#include "task_state.h"

#define TRACK_SOCK_FILE	"track-sock"
#define KEEPER_MAGIC	0x7472636bU	/* "trck" */
#define KEEPER_IDLE_MS	(10 * 60 * 1000)	/* exits when unused this long */

struct keeper_hdr {
	u32 magic;
	u32 nr;
};

struct keeper_ent {
	int64_t pid;
	u64 start_time;
};

static socklen_t sock_addr(struct sockaddr_un *a, const char *name)
{
	size_t len = strlen(name);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* abstract: nothing to clean up if the keeper dies */
	memcpy(a->sun_path + 1, name, len);
	return offsetof(struct sockaddr_un, sun_path) + 1 + len;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd but the socket and the uffds (async-signal-safe only). */
static void keeper_close_rest(int sk, struct track_fd *t, size_t n)
{
	int keep[n + 1], i, last = -1;

	keep[0] = sk;
	for (i = 0; i < (int)n; i++)
		keep[i + 1] = t[i].fd;
	qsort(keep, n + 1, sizeof(int), cmp_int);
	for (i = 0; i <= (int)n; i++) {
		if (keep[i] > last + 1)
			syscall(SYS_close_range, last + 1, keep[i] - 1, 0);
		last = keep[i];
	}
	syscall(SYS_close_range, last + 1, ~0U, 0);
}

static int keeper_send(int c, struct track_fd *t, size_t n)
{
	struct keeper_hdr h = { KEEPER_MAGIC, (u32)n };
	size_t i;

	if (send(c, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h))
		return -1;
	for (i = 0; i < n; i++) {
		struct keeper_ent e = { t[i].pid, t[i].start_time };
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec iov = { &e, sizeof(e) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &t[i].fd, sizeof(int));
		if (sendmsg(c, &m, MSG_NOSIGNAL) != sizeof(e))
			return -1;
	}
	return 0;
}

static void __attribute__((noreturn)) keeper_main(int sk, struct track_fd *t, size_t n)
{
	int nul = open("/dev/null", O_RDWR);

	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	keeper_close_rest(sk, t, n);
	for (;;) {
		struct pollfd p = { sk, POLLIN, 0 };
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		int c;

		if (poll(&p, 1, KEEPER_IDLE_MS) <= 0)
			_exit(0);	/* unused: tracking is dropped */
		c = accept4(sk, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* an abstract socket has no permissions: only our user gets the fds */
		if (!getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) &&
		    (cr.uid == getuid() || cr.uid == 0) && !keeper_send(c, t, n)) {
			char b;

			/* wait until the client has them all */
			(void)!read(c, &b, 1);
			_exit(0);
		}
		close(c);
	}
}

static int write_sock_name(const char *name)
{
	int fd = openat(get_image_dir_fd(), TRACK_SOCK_FILE, O_WRONLY | O_CREAT | O_TRUNC |
			O_CLOEXEC, 0600);
	int ret = 0;

	if (fd < 0) {
		pr_perror("cannot create %s", TRACK_SOCK_FILE);
		return -1;
	}
	if (write(fd, name, strlen(name)) != (ssize_t)strlen(name)) {
		pr_perror("cannot write %s", TRACK_SOCK_FILE);
		ret = -1;
	}
	close(fd);
	return ret;
}

int keeper_start(const char *dir, struct track_fd *t, size_t n)
{
	struct sockaddr_un a;
	char name[96];
	socklen_t al;
	pid_t p;
	int sk, st;

	snprintf(name, sizeof(name), "criu-cr-track-%d-%llx", getpid(),
		 (unsigned long long)now_us());
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sk < 0) {
		pr_perror("cannot create the keeper socket");
		return -1;
	}
	al = sock_addr(&a, name);
	if (bind(sk, (struct sockaddr *)&a, al) || listen(sk, 4)) {
		pr_perror("cannot bind the keeper socket @%s", name);
		close(sk);
		return -1;
	}
	if (write_sock_name(name)) {
		close(sk);
		return -1;
	}
	p = fork();
	if (p < 0) {
		pr_perror("cannot fork the keeper");
		close(sk);
		return -1;
	}
	if (p == 0) {
		/* a grandchild: nobody waits for it, init reaps it */
		if (fork() == 0)
			keeper_main(sk, t, n);
		_exit(0);
	}
	waitpid(p, &st, 0);
	close(sk);
	pr_info("keeper @%s holds %zu uffds for %s\n", name, n, dir);
	return 0;
}

static int recv_one(int sk, struct track_fd *t)
{
	struct keeper_ent e;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &e, sizeof(e) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	if (recvmsg(sk, &m, MSG_CMSG_CLOEXEC) != sizeof(e))
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&t->fd, CMSG_DATA(cm), sizeof(int));
	t->pid = (pid_t)e.pid;
	t->start_time = e.start_time;
	return 0;
}

int keeper_fetch(int dirfd, struct track_fd **tp, size_t *np)
{
	struct keeper_hdr h;
	struct sockaddr_un a;
	struct track_fd *t = NULL;
	char name[96] = { 0 };
	ssize_t len;
	size_t i = 0;
	int fd, sk = -1;

	*np = 0;
	fd = openat(dirfd, TRACK_SOCK_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_warn("the previous dump left no %s: no write tracking to take over\n",
			TRACK_SOCK_FILE);
		return 0;
	}
	len = read(fd, name, sizeof(name) - 1);
	close(fd);
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (len <= 0 || sk < 0)
		goto lost;
	name[len] = 0;
	if (connect(sk, (struct sockaddr *)&a, sock_addr(&a, name)))
		goto lost;
	if (recv(sk, &h, sizeof(h), 0) != sizeof(h) || h.magic != KEEPER_MAGIC)
		goto lost;
	t = xzalloc(sizeof(*t) * (h.nr ? h.nr : 1));
	if (!t)
		goto err;
	for (i = 0; i < h.nr; i++)
		if (recv_one(sk, &t[i]))
			goto lost;
	(void)!write(sk, "", 1);
	close(sk);
	*tp = t;
	*np = h.nr;
	pr_info("took %u uffds from the keeper @%s\n", h.nr, name);
	return 0;
lost:
	pr_warn("the keeper @%s is gone (%s): write tracking lost, pages are copied whole\n",
		name, strerror(errno));
err:
	while (i--)
		close(t[i].fd);
	free(t);
	if (sk >= 0)
		close(sk);
	return 0;
}

/* ---- criu pre-dump ---- */

/* Frozen: a uffd for the task, its pages listed and protected. */
static int pre_dump_one(struct pstree_item *it)
{
	struct vm_area_list vl;
	struct remote_ctl rc;
	int ret = -1;

	INIT_LIST_HEAD(&vl.h);
	if (collect_vmas(it->pid, &vl))
		goto out;
	if (!exec_addr(&vl)) {
		pr_err("pid %d has no executable mapping to run syscalls from\n", it->pid);
		goto out;
	}
	if (remote_start(&rc, it, exec_addr(&vl)))
		goto out;
	ret = mem_track_task(&rc, it);
	if (remote_stop(&rc))
		ret = -1;
	if (!ret)
		ret = dump_private_pages(it, &vl, NULL, 0);
out:
	free_vmas(&vl);
	return ret;
}

static int pre_dump_all(void)
{
	struct pstree_item *it;

	for_each_item(it) {
		if (it->state == TASK_DEAD)
			continue;
		if (fill_item_ids(it) || pre_dump_one(it))
			return -1;
	}
	return 0;
}

/*
 * Frozen only to protect and list the pages; they are copied once the
 * tree runs again (see mem.c), and the keeper takes the uffds.
 */
int cr_pre_dump_tasks(pid_t pid)
{
	u64 t0, freezing = 0, frozen = 0;
	int ret = -1;

	/* SIGTERM, SIGINT, SIGHUP: the pre-dump fails at its next step, the tree resumed */
	dump_intr_begin();
	if (open_image_dir(opts.imgs_dir, true) || mem_dump_init(false, task_rss_bytes(pid)) ||
	    mem_track_prepare())
		goto out;
	vmas_read_early(pid);
	t0 = now_us();
	if (seize_tree(pid) || seccomp_suspend_tree())
		goto unseize;
	freezing = now_us() - t0;
	mem_defer_copies(true);
	ret = pre_dump_all();
	mem_defer_copies(false);
unseize:
	unseize_tree(UNSEIZE_RESUME);
	frozen = now_us() - t0;
	pr_info("pre-dump: frozen for %llu us\n", (unsigned long long)frozen);
	if (mem_copy_deferred())
		ret = -1;
	if (!ret)
		ret = write_dump_stats(freezing, frozen, false);
	if (!ret && opts.auto_dedup && dedup_parent_pages())
		ret = -1;
out:
	vmas_early_fini();
	if (mem_track_finish(ret == 0))
		ret = -1;
	mem_dump_fini();
	free_pstree();
	close_image_dir();
	pr_info(ret ? "pre-dump failed\n" : "pre-dump finished successfully\n");
	dump_intr_end();
	return ret;
}
