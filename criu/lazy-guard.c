// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy-pages daemon's guard.  A uffd whose last holder exits is
 * released and its VMAs become ordinary memory: a daemon killed halfway
 * would leave the process reading zeros where its data was not loaded
 * yet.  So a second process, forked once the daemon has the uffds, holds
 * them too and learns from the daemon over a socket what changes (a fork's
 * new uffd, an mremap, a process done).  If the socket closes without the
 * daemon saying it is done, the guard poisons every page of the runs that
 * is still missing (UFFDIO_POISON: an access gets SIGBUS, even after the
 * uffd is gone), wakes the waiting threads and exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "lazy.h"
#include "lazy-internal.h"
#include "log.h"

enum { G_ADD = 1, G_REMAP, G_CLOSE, G_DONE };

struct g_msg {
	u32 type;
	int32_t idx, parent;
	u64 from, to, len;
};

struct g_task {
	int uffd;
	struct lz_ext *ext;	/* the runs as handed over, moved by mremaps */
	size_t nr;
};

static int g_sk = -1;		/* the daemon's end; -1 before the guard runs */
static pid_t g_pid;

static int g_send(struct g_msg *m, int fd)
{
	if (g_sk < 0)
		return 0;
	if (lazy_send_fd(g_sk, m, sizeof(*m), fd)) {
		pr_perror("lazy pages: the guard is gone; a daemon failure would now leave zeros");
		close_safe(&g_sk);
	}
	return 0;
}

int lz_guard_add(struct lz_task *t, struct lz_task *parent)
{
	struct g_msg m = { .type = G_ADD, .idx = t->idx, .parent = parent ? parent->idx : -1 };

	/* before the guard is forked it takes the table with it */
	return parent ? g_send(&m, t->uffd) : 0;
}

void lz_guard_remap(struct lz_task *t, u64 from, u64 to, u64 len)
{
	struct g_msg m = { G_REMAP, t->idx, -1, from, to, len };

	g_send(&m, -1);
}

void lz_guard_close(struct lz_task *t)
{
	struct g_msg m = { .type = G_CLOSE, .idx = t->idx, .parent = -1 };

	g_send(&m, -1);
}

void lz_guard_done(bool ok)
{
	struct g_msg m = { .type = G_DONE };

	if (ok)
		g_send(&m, -1);
	close_safe(&g_sk);
}

/* ---- the guard itself ---- */

static struct g_task *gt;
static size_t nr_gt;

static int g_append(int uffd, const struct lz_ext *ext, size_t nr)
{
	struct g_task *n = xrealloc(gt, (nr_gt + 1) * sizeof(*n));

	if (!n)
		return -1;
	gt = n;
	gt[nr_gt].uffd = uffd;
	gt[nr_gt].nr = nr;
	gt[nr_gt].ext = nr ? xmalloc(nr * sizeof(*ext)) : NULL;
	if (nr && !gt[nr_gt].ext)
		return -1;
	if (nr)
		memcpy(gt[nr_gt].ext, ext, nr * sizeof(*ext));
	nr_gt++;
	return 0;
}

/* Pages of [s, e) with nothing mapped get a poison marker; the rest is left. */
static u64 poison_range(int uffd, u64 s, u64 e)
{
	u64 done = 0;

	while (s < e) {
		struct cr_uffdio_poison p = { s, e - s, 0, 0 };

		if (!ioctl(uffd, CR_UFFDIO_POISON, &p)) {
			done += e - s;
			break;
		}
		if (p.updated > 0) {
			done += p.updated;
			s += p.updated;
			continue;
		}
		if (errno == ESRCH)
			break;
		if (errno == EAGAIN)
			continue;
		s += PAGE_SIZE;	/* there already (EEXIST), or not registered */
	}
	return done;
}

static void g_fail(void)
{
	u64 bytes = 0;
	size_t i, j;

	for (i = 0; i < nr_gt; i++) {
		if (gt[i].uffd < 0)
			continue;
		for (j = 0; j < gt[i].nr; j++) {
			struct uffdio_range w = { gt[i].ext[j].start,
						  gt[i].ext[j].end - gt[i].ext[j].start };

			bytes += poison_range(gt[i].uffd, gt[i].ext[j].start, gt[i].ext[j].end);
			ioctl(gt[i].uffd, UFFDIO_WAKE, &w);
		}
		close(gt[i].uffd);
	}
	pr_err("lazy pages: the daemon died before every page was in: %llu MiB not loaded are "
	       "poisoned (the process gets SIGBUS there)\n", (unsigned long long)bytes >> 20);
}

static void g_remap(struct g_task *t, u64 from, u64 to, u64 len)
{
	size_t i;

	/* a coarse view is enough: only the start of each run moves with it */
	for (i = 0; i < t->nr; i++) {
		struct lz_ext *x = &t->ext[i];

		if (x->start >= from && x->start < from + len) {
			u64 e = min(x->end, from + len);

			x->end = e - from + to;
			x->start = x->start - from + to;
		}
	}
}

static int g_recv(struct g_msg *m, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(g_sk, &h, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != sizeof(*m))
		return -1;
	c = CMSG_FIRSTHDR(&h);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static void __attribute__((noreturn)) guard_main(void)
{
	struct g_msg m;
	int fd;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	prctl(PR_SET_NAME, "criu-lazy-guard");
	while (!g_recv(&m, &fd)) {
		if (m.type == G_DONE)
			exit(0);
		if (m.type == G_ADD && m.parent >= 0 && (size_t)m.parent < nr_gt) {
			if (g_append(fd, gt[m.parent].ext, gt[m.parent].nr))
				break;
		} else if (fd >= 0) {
			close(fd);
		}
		if (m.idx < 0 || (size_t)m.idx >= nr_gt)
			continue;
		if (m.type == G_REMAP)
			g_remap(&gt[m.idx], m.from, m.to, m.len);
		if (m.type == G_CLOSE)
			close_safe(&gt[m.idx].uffd);
	}
	g_fail();
	exit(1);
}

/* Once the daemon has every uffd of the restore: fork the guard. */
int lz_guard_start(struct lz_task **tasks, size_t nr)
{
	int sk[2];
	size_t i;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk)) {
		pr_perror("lazy pages: cannot make the guard's socket");
		return -1;
	}
	for (i = 0; i < nr; i++)
		if (g_append(tasks[i]->uffd, tasks[i]->ext, tasks[i]->nr))
			return -1;
	g_pid = fork();
	if (g_pid < 0) {
		pr_perror("lazy pages: cannot fork the guard");
		return -1;
	}
	if (g_pid == 0) {
		close(sk[0]);
		g_sk = sk[1];
		guard_main();
	}
	close(sk[1]);
	g_sk = sk[0];
	pr_info("lazy pages: guard pid %d\n", g_pid);
	return 0;
}
