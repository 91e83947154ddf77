// SPDX-License-Identifier: GPL-2.0
/*
 * Lazy restore, the restore's side (Documentation/design.md, "Lazy
 * restore"): private anonymous pages marked PE_LAZY are left out of the
 * premap; each process gets a userfaultfd, criu registers the VMAs that
 * hold such pages once the restorer has put them in place, and hands the
 * uffd and the list of runs to `criu lazy-pages`, which fills them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "cr_options.h"
#include "files.h"
#include "lazy.h"
#include "log.h"
#include "restore.h"
#include "shared.h"
#include "util.h"
#include "vma.h"

#define LAZY_FEATURES	(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
			 UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP | \
			 CR_UFFD_FEATURE_POISON)
#define HANDOVER_TIMEOUT_MS	10000

static int lz_sk = -1;		/* to the daemon */
static int lz_dev = -1;		/* /dev/userfaultfd, when criu may open it */
static uint64_t lz_features;	/* what UFFDIO_API grants criu */

static bool in_vma(uint64_t addr, const VmaEntry *v)
{
	return addr >= v->start && addr < v->end;
}

/*
 * Whether the VMA's pages may come later.  Not: memory a thread runs on or
 * the kernel writes into for the task (stacks, rseq areas, signal stacks):
 * a user-mode-only uffd fails kernel accesses with EFAULT, and the kernel
 * writes the rseq area before the task runs.  Not either: an mm shared
 * with other processes (vm children), locked memory (mlock faults it in).
 */
static bool lazy_vma(struct pstree_item *it, const VmaEntry *v)
{
	struct task_restore *tr = rst_of(it);
	size_t i;

	if (!opts.lazy_pages || !(v->status & VMA_ANON_PRIVATE) || !vma_can_be_lazy(v) ||
	    (v->flags & MAP_GROWSDOWN) || is_vm_child(it) || vm_threads(it) != it->nr_threads)
		return false;
	/* UFFDIO_COPY fills small pages: memory that had MADV_HUGEPAGE comes eagerly, in huge ones */
	if (v->has_madv && (v->madv & (1ULL << MADV_HUGEPAGE)))
		return false;
	for (i = 0; i < tr->nr_cores; i++) {
		CoreEntry *c = tr->cores[i];
		ThreadCoreEntry *tc = c->thread_core;

		if (c->thread_info && c->thread_info->gpregs && in_vma(c->thread_info->gpregs->sp, v))
			return false;
		if (tc && tc->rseq_entry && in_vma(tc->rseq_entry->rseq_abi_pointer, v))
			return false;
		if (tc && tc->sas && tc->sas->ss_size &&
		    tc->sas->ss_sp < v->end && tc->sas->ss_sp + tc->sas->ss_size > v->start)
			return false;
	}
	return true;
}

/* A piece of a pagemap entry inside v that the daemon fills, not the premap. */
bool lazy_piece(struct pstree_item *it, const VmaEntry *v, const PagemapEntry *pe)
{
	uint32_t fl = pe->has_flags ? pe->flags : PE_PRESENT;

	return opts.lazy_pages && (fl & PE_LAZY) && (fl & PE_PRESENT) && !(fl & PE_PARENT) &&
	       lazy_vma(it, v);
}

/*
 * A lazy piece: emptied if the slot came from the parent, so that it
 * faults.  A new slot gets its anon_vma now (one page written, dropped):
 * mremap gives an anonymous VMA that never faulted the page offset of its
 * new place, and it would merge with a neighbour the dump had apart.
 */
int lazy_skip_piece(struct pstree_item *it, u64 slot, u64 at, u64 len)
{
	if (!slot) {
		/* (a THP slot faults in a whole huge page: all of the piece is dropped) */
		*(volatile u8 *)(unsigned long)at = 0;
		slot = at;
	}
	if (madvise((void *)slot, len, MADV_DONTNEED)) {
		pr_perror("pid %d: cannot empty the lazy pages at %llx", it->vpid,
			  (unsigned long long)slot);
		return -1;
	}
	return 0;
}

/* Runs stay within one VMA: UFFDIO_COPY fills one VMA a call, and each is registered. */
static int add_run(struct lazy_run **runs, size_t *nr, uint64_t addr, uint64_t len, uint64_t off,
		   bool same_vma)
{
	struct lazy_run *n;

	if (*nr && same_vma && (*runs)[*nr - 1].addr + (*runs)[*nr - 1].len == addr &&
	    (*runs)[*nr - 1].off + (*runs)[*nr - 1].len == off) {
		(*runs)[*nr - 1].len += len;
		return 0;
	}
	n = xrealloc(*runs, (*nr + 1) * sizeof(*n));
	if (!n)
		return -1;
	n[*nr] = (struct lazy_run){ addr, len, off };
	*runs = n;
	(*nr)++;
	return 0;
}

/*
 * The runs premap.c leaves out, with their place in the pages file: the
 * same walk as its fill (entries in order, split at VMA boundaries, every
 * piece not in a parent image takes its bytes of the file).
 */
static int collect_runs(struct pstree_item *it, struct lazy_run **runs, size_t *nr)
{
	struct task_restore *tr = rst_of(it);
	MmEntry *mm = tr->mm;
	uint64_t off = 0;
	size_t pi, vi = 0, last_vi = SIZE_MAX;

	*runs = NULL;
	*nr = 0;
	for (pi = 0; pi < tr->nr_pmes; pi++) {
		PagemapEntry *pe = tr->pmes[pi];
		uint64_t addr = pe->vaddr, end = addr + (uint64_t)pe->nr_pages * PAGE_SIZE;

		if (pe->has_flags && (pe->flags & PE_PARENT))
			continue;
		while (addr < end) {
			uint64_t piece;

			while (vi < mm->n_vmas && mm->vmas[vi]->end <= addr)
				vi++;
			if (vi == mm->n_vmas || addr < mm->vmas[vi]->start)
				return -1;	/* premap.c refused it already */
			piece = min(end, mm->vmas[vi]->end) - addr;
			if (lazy_piece(it, mm->vmas[vi], pe)) {
				if (add_run(runs, nr, addr, piece, off, vi == last_vi))
					return -1;
				last_vi = vi;
			}
			off += piece;
			addr += piece;
		}
	}
	return 0;
}

/* A throwaway uffd tells what UFFDIO_API grants us (EVENT_FORK: CAP_SYS_PTRACE). */
static int new_uffd(int dev)
{
	if (dev >= 0)
		return ioctl(dev, CR_USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	return syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | CR_UFFD_USER_MODE_ONLY);
}

static int probe_features(int dev, uint64_t *features)
{
	uint64_t want[] = { LAZY_FEATURES, LAZY_FEATURES & ~UFFD_FEATURE_EVENT_FORK,
			    LAZY_FEATURES & ~(UFFD_FEATURE_EVENT_FORK | CR_UFFD_FEATURE_POISON) };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		struct uffdio_api api = { .api = UFFD_API, .features = want[i] };
		int fd = new_uffd(dev);
		int r;

		if (fd < 0)
			return -1;
		r = ioctl(fd, UFFDIO_API, &api);
		close(fd);
		if (!r) {
			*features = want[i];
			return 0;
		}
	}
	errno = EPERM;
	return -1;
}

bool lazy_pages_works(void)
{
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	uint64_t f;
	bool ok = !probe_features(dev, &f);

	if (dev >= 0)
		close(dev);
	return ok;
}

/* lazy-pages.socket in the work dir (-W, else -D), for restore and daemon alike */
int lazy_socket_path(char *buf, size_t size)
{
	const char *dir = opts.work_dir ? opts.work_dir : opts.imgs_dir;

	if (snprintf(buf, size, "%s/%s", dir, LAZY_SOCKET) >= (int)size) {
		pr_err("lazy pages: the socket path %s/%s is too long\n", dir, LAZY_SOCKET);
		return -1;
	}
	return 0;
}

/* One message with an fd (SCM_RIGHTS) if fd >= 0. */
int lazy_send_fd(int sk, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sk, &m, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int connect_daemon(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int sk;

	if (lazy_socket_path(a.sun_path, sizeof(a.sun_path)))
		return -1;
	sk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0 || connect(sk, (struct sockaddr *)&a, sizeof(a))) {
		pr_perror("lazy pages: cannot connect to the daemon at %s (is `criu lazy-pages` "
			  "running?)", a.sun_path);
		if (sk >= 0)
			close(sk);
		return -1;
	}
	return sk;
}

/* Before anything is created: the daemon is there and a uffd can be made. */
int lazy_rst_prepare(void)
{
	if (!opts.lazy_pages)
		return 0;
	lz_dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (probe_features(lz_dev, &lz_features)) {
		pr_perror("lazy pages: cannot make a userfaultfd");
		return -1;
	}
	pr_info("lazy pages: %s uffd, features %#llx%s\n",
		lz_dev >= 0 ? "a full (/dev/userfaultfd)" : "a user-mode-only",
		(unsigned long long)lz_features,
		lz_features & UFFD_FEATURE_EVENT_FORK ? "" :
		" (no fork events: a child forked before all pages are in misses them)");
	if (!(lz_features & UFFD_FEATURE_EVENT_FORK))
		pr_warn("lazy pages: no fork events without CAP_SYS_PTRACE: a child forked "
			"before every page is in reads zeros there\n");
	lz_dev = move_to_svc(lz_dev);
	lz_sk = connect_daemon();
	if (lz_sk < 0)
		return -1;
	lz_sk = move_to_svc(lz_sk);
	return lz_sk < 0 ? -1 : 0;
}

/* In the task, after its premap: its uffd (it binds the mm it is made in). */
int lazy_task_uffd(struct pstree_item *it)
{
	struct lazy_run *runs;
	size_t nr;
	int fd;

	if (!opts.lazy_pages)
		return 0;
	if (collect_runs(it, &runs, &nr))
		return -1;
	free(runs);
	if (!nr)
		return 0;
	fd = new_uffd(lz_dev);
	if (fd < 0) {
		pr_perror("pid %d: cannot make a userfaultfd", it->vpid);
		return -1;
	}
	fd = move_to_svc(fd);
	if (fd < 0)
		return -1;
	task_sync_of(it)->uffd = fd;
	pr_debug("pid %d: uffd %d for %zu lazy runs\n", it->vpid, fd, nr);
	return 0;
}

/* The tasks wait for the go: take their uffds, which the restorer closes. */
int lazy_rst_take(void)
{
	struct pstree_item *it;

	if (!opts.lazy_pages)
		return 0;
	for_each_item(it) {
		struct task_sync *ts = task_sync_of(it);
		struct uffdio_api api = { .api = UFFD_API, .features = lz_features };

		if (ts->uffd <= 0)
			continue;
		ts->lazy_fd = get_task_fd(it->pid, ts->uffd);
		if (ts->lazy_fd < 0)
			return -1;
		if (ioctl(ts->lazy_fd, UFFDIO_API, &api)) {
			pr_perror("pid %d: UFFDIO_API", it->vpid);
			return -1;
		}
	}
	return 0;
}

/* Every VMA holding a lazy run, registered for missing-page faults. */
static int register_vmas(struct pstree_item *it, int uffd, struct lazy_run *runs, size_t nr)
{
	MmEntry *mm = rst_of(it)->mm;
	size_t i, vi = 0;
	int64_t last = -1;

	for (i = 0; i < nr; i++) {
		struct uffdio_register r = { .mode = UFFDIO_REGISTER_MODE_MISSING };

		while (vi < mm->n_vmas && mm->vmas[vi]->end <= runs[i].addr)
			vi++;
		if (vi == mm->n_vmas || (int64_t)vi == last)
			continue;
		last = vi;
		r.range.start = mm->vmas[vi]->start;
		r.range.len = mm->vmas[vi]->end - mm->vmas[vi]->start;
		if (ioctl(uffd, UFFDIO_REGISTER, &r)) {
			pr_perror("pid %d: cannot register VMA %llx-%llx with its uffd", it->vpid,
				  (unsigned long long)r.range.start,
				  (unsigned long long)(r.range.start + r.range.len));
			return -1;
		}
	}
	return 0;
}

static int send_all(int sk, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = send(sk, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (const char *)buf + n;
		len -= n;
	}
	return 0;
}

static int send_task(struct lazy_hdr *h, int fd, const void *runs, size_t len)
{
	if (lazy_send_fd(lz_sk, h, sizeof(*h), fd) || send_all(lz_sk, runs, len)) {
		pr_perror("lazy pages: cannot hand pid %d over to the daemon", h->pid);
		return -1;
	}
	return 0;
}

static int wait_daemon(void)
{
	struct pollfd p = { lz_sk, POLLIN, 0 };
	int32_t st;

	if (poll(&p, 1, HANDOVER_TIMEOUT_MS) != 1 || read(lz_sk, &st, sizeof(st)) != sizeof(st)) {
		pr_err("lazy pages: the daemon did not take the tasks\n");
		return -1;
	}
	if (st) {
		pr_err("lazy pages: the daemon refused the tasks (see its log)\n");
		return -1;
	}
	return 0;
}

/*
 * Every thread waits at its rt_sigreturn, every VMA is in place: register
 * the lazy VMAs and give the uffds to the daemon, before anyone runs.
 */
int lazy_rst_handover(void)
{
	struct lazy_hdr end = { 0 };
	struct pstree_item *it;

	if (!opts.lazy_pages)
		return 0;
	for_each_item(it) {
		struct task_sync *ts = task_sync_of(it);
		struct lazy_hdr h = { it->vpid, it->pid, rst_of(it)->pages_id, 0, lz_features };
		struct lazy_run *runs;
		size_t nr;
		int ret;

		if (ts->lazy_fd <= 0)
			continue;
		if (collect_runs(it, &runs, &nr))
			return -1;
		h.nr_runs = nr;
		ret = register_vmas(it, ts->lazy_fd, runs, nr) ||
		      send_task(&h, ts->lazy_fd, runs, nr * sizeof(*runs));
		free(runs);
		if (ret)
			return -1;
		pr_info("lazy pages: pid %d: %zu runs handed over\n", it->vpid, nr);
	}
	if (send_task(&end, -1, NULL, 0) || wait_daemon())
		return -1;
	lazy_rst_fini();
	return 0;
}

/* criu keeps no uffd: the daemon is what holds them. */
void lazy_rst_fini(void)
{
	struct pstree_item *it;

	if (!opts.lazy_pages)
		return;
	for_each_item(it) {
		struct task_sync *ts = rsync ? task_sync_of(it) : NULL;

		if (ts && ts->lazy_fd > 0) {
			close(ts->lazy_fd);
			ts->lazy_fd = 0;
		}
	}
	close_safe(&lz_sk);
	close_safe(&lz_dev);
}
