// SPDX-License-Identifier: GPL-2.0
/*
 * criu lazy-pages: takes the userfaultfds of a `restore --lazy-pages`,
 * answers missing-page faults from the pages images, pushes everything
 * else in large chunks in the background, and exits when every page is in
 * (Documentation/design.md, "Lazy restore").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "cr_options.h"
#include "image.h"
#include "lazy.h"
#include "lazy-internal.h"
#include "log.h"
#include "page-xfer.h"
#include "util.h"

#define PUSH_CHUNK	(4ULL << 20)	/* background copy per turn */
#define FAULT_AHEAD	(16 * PAGE_SIZE)	/* a fault also brings the pages after it */
#define MSGS_PER_READ	64

static struct lz_task **tasks;
static size_t nr_tasks;
static struct lz_stats stats;

/* ---- pending extents: sorted, disjoint ---- */

static int ext_insert(struct lz_task *t, size_t at, struct lz_ext e)
{
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct lz_ext *n = xrealloc(t->ext, cap * sizeof(*n));

		if (!n)
			return -1;
		t->ext = n;
		t->cap = cap;
	}
	memmove(t->ext + at + 1, t->ext + at, (t->nr - at) * sizeof(*t->ext));
	t->ext[at] = e;
	t->nr++;
	t->left += e.end - e.start;
	return 0;
}

static void ext_remove(struct lz_task *t, size_t at)
{
	t->left -= t->ext[at].end - t->ext[at].start;
	memmove(t->ext + at, t->ext + at + 1, (t->nr - at - 1) * sizeof(*t->ext));
	t->nr--;
}

/* The first extent that ends after addr. */
static size_t ext_find(struct lz_task *t, u64 addr)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->ext[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* [s, e) is no longer to be filled: loaded, dropped or unmapped. */
int lz_cut(struct lz_task *t, u64 s, u64 e)
{
	size_t i = ext_find(t, s);

	while (i < t->nr && t->ext[i].start < e) {
		struct lz_ext x = t->ext[i];

		ext_remove(t, i);
		if (x.end > e && ext_insert(t, i, (struct lz_ext){ e, x.end, x.off + e - x.start }))
			return -1;
		if (x.start < s) {
			if (ext_insert(t, i, (struct lz_ext){ x.start, s, x.off }))
				return -1;
			i++;
		}
		if (x.end > e)
			break;
	}
	return 0;
}

/* mremap moved [from, from + len) to to: its pending pages went along. */
static int lz_move(struct lz_task *t, u64 from, u64 to, u64 len)
{
	struct lz_ext *moved = NULL;
	size_t n = 0, i;
	int ret = -1;

	for (i = ext_find(t, from); i < t->nr && t->ext[i].start < from + len; i++) {
		struct lz_ext *m = xrealloc(moved, (n + 1) * sizeof(*m));
		u64 s = max(t->ext[i].start, from), e = min(t->ext[i].end, from + len);

		if (!m)
			goto out;
		moved = m;
		moved[n++] = (struct lz_ext){ s - from + to, e - from + to,
					      t->ext[i].off + s - t->ext[i].start };
	}
	if (lz_cut(t, from, from + len) || lz_cut(t, to, to + len))
		goto out;
	for (i = 0; i < n; i++)
		if (ext_insert(t, ext_find(t, moved[i].start), moved[i]))
			goto out;
	ret = 0;
out:
	free(moved);
	return ret;
}

/* ---- filling ---- */

/*
 * UFFDIO_COPY of [addr, addr + len) from the image.  Returns the bytes
 * settled from addr on (copied, or a page found there already), 0 to try
 * again after the events are read (EAGAIN), -1 when the process is gone.
 */
static long lz_copy(struct lz_task *t, u64 addr, u64 len, u64 off)
{
	struct uffdio_copy c = { .dst = addr, .src = (u64)(unsigned long)(t->src->map + off),
				 .len = len };

	if (off + len > t->src->len) {
		pr_err("lazy pages: pid %d: pages at %llx are past the end of pages-%u.img\n",
		       t->pid, (unsigned long long)addr, t->src->id);
		return -1;
	}
	if (!ioctl(t->uffd, UFFDIO_COPY, &c))
		return len;
	if ((long long)c.copy > 0)
		return c.copy;
	switch (errno) {
	case EEXIST:	/* the process had it (a zero page it read before registering) */
		return PAGE_SIZE;
	case EAGAIN:	/* an event is in flight: read it first */
		return 0;
	case ENOENT:	/* not one registered VMA (split, unmapped): page by page */
		if (len > PAGE_SIZE)
			return lz_copy(t, addr, PAGE_SIZE, off);
		pr_debug("lazy pages: pid %d: %llx is not registered any more\n", t->pid,
			 (unsigned long long)addr);
		return PAGE_SIZE;
	case ESRCH:
		return -1;
	}
	pr_perror("lazy pages: pid %d: UFFDIO_COPY at %llx", t->pid, (unsigned long long)addr);
	return -1;
}

/* A fault on a page that is not (or no longer) in the image: zeros. */
static int lz_zero(struct lz_task *t, u64 addr)
{
	struct uffdio_zeropage z = { .range = { addr, PAGE_SIZE } };
	struct uffdio_range w = { addr, PAGE_SIZE };

	if (!ioctl(t->uffd, UFFDIO_ZEROPAGE, &z))
		return 1;
	if (errno == EAGAIN)
		return 0;
	/* filled meanwhile, or unmapped: wake whoever waits */
	if (ioctl(t->uffd, UFFDIO_WAKE, &w) && errno != ENOENT && errno != ESRCH)
		pr_perror("lazy pages: pid %d: UFFDIO_WAKE at %llx", t->pid,
			  (unsigned long long)addr);
	return errno == ESRCH ? -1 : 1;
}

/* Fill from addr, up to len, within the pending extent i. */
static long fill_at(struct lz_task *t, size_t i, u64 addr, u64 len)
{
	struct lz_ext *x = &t->ext[i];
	long n;

	len = min(len, x->end - addr);
	n = lz_copy(t, addr, len, x->off + addr - x->start);
	if (n > 0 && lz_cut(t, addr, addr + n))
		return -1;
	return n;
}

/* A missing-page fault: its page and a few after it, or zeros. */
static int on_fault(struct lz_task *t, u64 addr)
{
	size_t i;
	long n;

	addr &= PAGE_MASK;
	i = ext_find(t, addr);
	if (i < t->nr && t->ext[i].start <= addr) {
		n = fill_at(t, i, addr, FAULT_AHEAD);
		if (n > 0)
			stats.fault_bytes += n;
	} else {
		n = lz_zero(t, addr);
		stats.zero_faults += n > 0;
	}
	stats.faults++;
	if (n == 0)
		return lz_retry_later(t, addr);
	return n < 0 ? -1 : 0;
}

static struct lz_task *new_task(pid_t pid, int uffd, struct lz_src *src)
{
	struct lz_task *t = xzalloc(sizeof(*t)), **n;

	if (!t)
		return NULL;
	n = xrealloc(tasks, (nr_tasks + 1) * sizeof(*n));
	if (!n) {
		free(t);
		return NULL;
	}
	tasks = n;
	t->idx = nr_tasks;
	tasks[nr_tasks++] = t;
	t->pid = pid;
	t->uffd = uffd;
	t->src = src;
	return t;
}

/* A fork: the child has the parent's pending pages, and a uffd of its own. */
static int on_fork(struct lz_task *t, int ufd)
{
	struct lz_task *c = new_task(0, ufd, t->src);
	size_t i;

	if (!c) {
		close(ufd);
		return -1;
	}
	c->pid = -t->pid;	/* not known: the parent's, negated, in the log */
	for (i = 0; i < t->nr; i++)
		if (ext_insert(c, i, t->ext[i]))
			return -1;
	pr_info("lazy pages: pid %d forked; its child has %llu bytes to come\n", t->pid,
		(unsigned long long)c->left);
	return lz_guard_add(c, t);
}

static int on_msg(struct lz_task *t, struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		return on_fault(t, m->arg.pagefault.address);
	case UFFD_EVENT_FORK:
		return on_fork(t, (int)m->arg.fork.ufd);
	case UFFD_EVENT_REMAP:
		pr_debug("lazy pages: pid %d: mremap %llx -> %llx (%llu)\n", t->pid,
			 (unsigned long long)m->arg.remap.from, (unsigned long long)m->arg.remap.to,
			 (unsigned long long)m->arg.remap.len);
		lz_guard_remap(t, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		return lz_move(t, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		/* dropped by the process: what it reads there now is not the image's */
		pr_debug("lazy pages: pid %d: %s %llx-%llx\n", t->pid,
			 m->event == UFFD_EVENT_REMOVE ? "dropped" : "unmapped",
			 (unsigned long long)m->arg.remove.start,
			 (unsigned long long)m->arg.remove.end);
		return lz_cut(t, m->arg.remove.start, m->arg.remove.end);
	}
	pr_warn("lazy pages: pid %d: unexpected uffd event %u\n", t->pid, m->event);
	return 0;
}

/* Every message the uffd has; -1 when the process is gone or a step failed. */
static int drain(struct lz_task *t)
{
	struct uffd_msg m[MSGS_PER_READ];
	ssize_t n;
	int i;

	for (;;) {
		n = read(t->uffd, m, sizeof(m));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1;
		for (i = 0; i < n / (ssize_t)sizeof(m[0]); i++)
			if (on_msg(t, &m[i]))
				return -1;
	}
}

/* One background chunk of the lowest pending pages of t. */
static int push(struct lz_task *t)
{
	long n;

	if (!t->nr)
		return 0;
	n = fill_at(t, 0, t->ext[0].start, PUSH_CHUNK);
	if (n > 0)
		stats.push_bytes += n;
	return n < 0 ? -1 : 0;
}

static void task_done(struct lz_task *t, bool gone)
{
	if (gone && t->left)
		pr_info("lazy pages: pid %d is gone with %llu bytes not loaded\n", t->pid,
			(unsigned long long)t->left);
	else
		pr_info("lazy pages: pid %d has all its pages\n", t->pid);
	/* closing it (here and in the guard) unregisters every VMA: ordinary memory again */
	lz_guard_close(t);
	close_safe(&t->uffd);
	t->nr = 0;
	t->left = 0;
}

static bool work_left(void)
{
	size_t i;

	for (i = 0; i < nr_tasks; i++)
		if (tasks[i]->uffd >= 0 && tasks[i]->nr)
			return true;
	return false;
}

static int serve(void)
{
	struct pollfd *pf = NULL;
	size_t i, turn = 0;
	u64 t0 = now_us();
	int ret = -1;

	for (;;) {
		size_t n = 0;

		for (i = 0; i < nr_tasks; i++)
			if (tasks[i]->uffd >= 0 && !tasks[i]->nr && !tasks[i]->nr_retry)
				task_done(tasks[i], false);
		free(pf);
		pf = xzalloc((nr_tasks + 1) * sizeof(*pf));
		if (!pf)
			goto out;
		for (i = 0; i < nr_tasks; i++)
			if (tasks[i]->uffd >= 0)
				pf[n++] = (struct pollfd){ tasks[i]->uffd, POLLIN, 0 };
		if (!n)
			break;
		if (poll(pf, n, work_left() ? 0 : -1) < 0 && errno != EINTR) {
			pr_perror("lazy pages: poll");
			goto out;
		}
		for (i = 0; i < nr_tasks; i++) {
			struct lz_task *t = tasks[i];

			if (t->uffd >= 0 && (drain(t) || lz_retry(t)))
				task_done(t, true);
		}
		for (i = 0; i < nr_tasks; i++) {
			struct lz_task *t = tasks[(turn + i) % nr_tasks];

			if (t->uffd >= 0 && t->nr) {
				if (push(t))
					task_done(t, true);
				turn = (turn + i + 1) % nr_tasks;
				break;
			}
		}
	}
	ret = 0;
	pr_info("lazy pages: done in %llu ms: %llu faults (%llu zero), %llu MiB on faults, "
		"%llu MiB pushed\n", (unsigned long long)(now_us() - t0) / 1000,
		(unsigned long long)stats.faults, (unsigned long long)stats.zero_faults,
		(unsigned long long)stats.fault_bytes >> 20,
		(unsigned long long)stats.push_bytes >> 20);
out:
	free(pf);
	return ret;
}

/* ---- what a fault left to do later (EAGAIN) ---- */

int lz_retry_later(struct lz_task *t, u64 addr)
{
	u64 *n = xrealloc(t->retry, (t->nr_retry + 1) * sizeof(*n));

	if (!n)
		return -1;
	t->retry = n;
	t->retry[t->nr_retry++] = addr;
	return 0;
}

int lz_retry(struct lz_task *t)
{
	size_t nr = t->nr_retry, i;
	u64 *addrs = t->retry;

	t->retry = NULL;
	t->nr_retry = 0;
	for (i = 0; i < nr; i++)
		if (on_fault(t, addrs[i])) {
			free(addrs);
			return -1;
		}
	free(addrs);
	return 0;
}

/* ---- taking the tasks ---- */

/* Each pages image once; tasks keep pointers to them, so never moved. */
static struct lz_src **sources;
static size_t nr_sources;

static struct lz_src *map_source(u32 id)
{
	struct lz_src *s = xzalloc(sizeof(*s));
	struct cr_img *img;
	struct stat st;

	if (!s)
		return NULL;
	img = open_image(CR_FD_PAGES, O_RSTR, (unsigned long)id);
	if (!img)
		goto err;
	if (fstat(img_raw_fd(img), &st)) {
		pr_perror("lazy pages: cannot stat pages-%u.img", id);
		goto err;
	}
	s->id = id;
	s->len = st.st_size;
	s->map = st.st_size ? mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, img_raw_fd(img), 0)
			    : NULL;
	if (s->map == MAP_FAILED) {
		pr_perror("lazy pages: cannot map pages-%u.img", id);
		goto err;
	}
	/* the kernel reads ahead while the first faults come */
	posix_fadvise(img_raw_fd(img), 0, 0, POSIX_FADV_WILLNEED);
	close_image(img);
	return s;
err:
	if (img)
		close_image(img);
	free(s);
	return NULL;
}

static struct lz_src *get_source(u32 id)
{
	struct lz_src **n;
	size_t i;

	for (i = 0; i < nr_sources; i++)
		if (sources[i]->id == id)
			return sources[i];
	n = xrealloc(sources, (nr_sources + 1) * sizeof(*n));
	if (!n)
		return NULL;
	sources = n;
	sources[nr_sources] = map_source(id);
	return sources[nr_sources] ? sources[nr_sources++] : NULL;
}

static int recv_hdr(int sk, struct lazy_hdr *h, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	*fd = -1;
	if (recvmsg(sk, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL) != sizeof(*h)) {
		pr_perror("lazy pages: the restore went away");
		return -1;
	}
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (h->pid && *fd < 0) {
		pr_err("lazy pages: pid %d came without its userfaultfd\n", h->pid);
		return -1;
	}
	return 0;
}

static int take_task(int sk, struct lazy_hdr *h, int fd)
{
	size_t len = (size_t)h->nr_runs * sizeof(struct lazy_run);
	struct lazy_run *runs = len ? xmalloc(len) : NULL;
	struct lz_src *src = get_source(h->pages_id);
	struct lz_task *t;
	size_t i;
	int ret = -1;

	if ((len && !runs) || !src || (len && read_all(sk, runs, len) != (ssize_t)len)) {
		pr_err("lazy pages: cannot take pid %d\n", h->pid);
		goto out;
	}
	t = new_task(h->pid, fd, src);
	if (!t)
		goto out;
	fd = -1;
	for (i = 0; i < h->nr_runs; i++)
		if (runs[i].addr & ~PAGE_MASK || runs[i].len & ~PAGE_MASK ||
		    ext_insert(t, t->nr, (struct lz_ext){ runs[i].addr, runs[i].addr + runs[i].len,
							   runs[i].off }))
			goto out;
	pr_info("lazy pages: pid %d (host %d): %u runs, %llu MiB from pages-%u.img\n", h->pid,
		h->host_pid, h->nr_runs, (unsigned long long)t->left >> 20, h->pages_id);
	ret = lz_guard_add(t, NULL);
out:
	if (fd >= 0)
		close(fd);
	free(runs);
	return ret;
}

static int take_tasks(int sk)
{
	int32_t st = -1;
	struct lazy_hdr h;
	int fd;

	for (;;) {
		if (recv_hdr(sk, &h, &fd))
			return -1;
		if (!h.pid)
			break;
		if (take_task(sk, &h, fd))
			goto answer;
	}
	st = lz_guard_start(tasks, nr_tasks);
answer:
	if (send(sk, &st, sizeof(st), MSG_NOSIGNAL) != sizeof(st))
		pr_perror("lazy pages: cannot answer the restore");
	return st ? -1 : 0;
}

/* ---- the socket ---- */

static int listen_socket(char *path, size_t size)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int sk;

	if (lazy_socket_path(a.sun_path, sizeof(a.sun_path)))
		return -1;
	snprintf(path, size, "%s", a.sun_path);
	unlink(a.sun_path);
	sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0 || bind(sk, (struct sockaddr *)&a, sizeof(a)) || listen(sk, 1)) {
		pr_perror("lazy pages: cannot listen on %s", a.sun_path);
		if (sk >= 0)
			close(sk);
		return -1;
	}
	return sk;
}

int cr_lazy_pages(void)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lsk, sk, ret;

	if (open_image_dir(opts.imgs_dir, false))
		return -1;
	lsk = listen_socket(path, sizeof(path));
	if (lsk < 0)
		return -1;
	pr_info("lazy pages: listening on %s\n", path);
	if (opts.daemon_mode && cr_daemonize("lazy pages"))
		return -1;
	if (opts.status_fd >= 0) {
		if (write(opts.status_fd, "", 1) != 1)
			pr_warn("lazy pages: cannot write to --status-fd %d\n", opts.status_fd);
		close(opts.status_fd);
	}
	do
		sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
	while (sk < 0 && errno == EINTR);
	close(lsk);
	unlink(path);
	if (sk < 0) {
		pr_perror("lazy pages: cannot accept the restore");
		return -1;
	}
	ret = take_tasks(sk);
	close(sk);
	if (ret)
		return -1;
	ret = serve();
	lz_guard_done(ret == 0);
	return ret;
}
