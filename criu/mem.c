// SPDX-License-Identifier: GPL-2.0
/*
 * Memory dump: the contents of a task's private pages (the VMAs come from
 * smaps.c, shared memory from shmem.c).  Pages are found with PAGEMAP_SCAN and the words of
 * /proc/PID/pagemap for what it found (pagemap-scan.c), and copied in
 * large batches: many runs per process_vm_readv into one big buffer, then
 * one write per buffer.  Never-touched pages and the zero page are not
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dump-intr.h"
#include "fault.h"
#include "image.h"
#include "ipc_ns.h"
#include "mem.h"
#include "mem-internal.h"
#include "mem-track.h"
#include "page-xfer.h"
#include "pagemap-scan.h"
#include "pagemap.pb-c.h"
#include "proc_parse.h"
#include "util.h"

#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_EXCLUSIVE	(1ULL << 56)
#define PM_GUARD	(1ULL << 58)
#define PM_FILE		(1ULL << 61)
#define PM_SWAP		(1ULL << 62)
#define PM_PRESENT	(1ULL << 63)

#define PAGEMAP_CHUNK	(64UL << 10)	/* pagemap words read at once */
#define MAX_IOVS	1024

struct dump_stats dstats;

static u64 zero_pfn;		/* 0: unknown (PFNs hidden without CAP_SYS_ADMIN) */
static u64 *pm_buf;
static unsigned int next_pages_id = 1;

static void find_zero_pfn(void)
{
	volatile u8 *p;
	u64 pm = 0;
	int fd;

	p = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	(void)p[0];	/* a read fault maps the shared zero page */
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &pm, sizeof(pm), ((unsigned long)p >> PAGE_SHIFT) * 8) == 8 &&
		    (pm & PM_PRESENT))
			zero_pfn = pm & PM_PFN_MASK;
		close(fd);
	}
	munmap((void *)p, PAGE_SIZE);
	pr_debug("zero page pfn: %#llx%s\n", (unsigned long long)zero_pfn,
		 zero_pfn ? "" : " (hidden: zero pages will be dumped)");
}

int mem_dump_init(bool writeback, u64 expect_bytes)
{
	if (mem_ring_init(writeback, expect_bytes))
		return -1;
	/* before the tree is frozen: a server that is not there costs nothing */
	if (page_xfer_connect())
		return -1;
	pm_buf = xmalloc(PAGEMAP_CHUNK * sizeof(u64));
	if (!pm_buf)
		return -1;
	find_zero_pfn();
	return 0;
}

void mem_dump_fini(void)
{
	mem_ring_fini();
	page_xfer_disconnect();
	free(pm_buf);
	pm_buf = NULL;
}

/* ---- page contents ---- */

struct page_batch {
	struct iovec riov[MAX_IOVS];
	bool readable[MAX_IOVS];
	int nr;
	size_t bytes;
	pid_t pid;
	int vpid;
	int mem_fd;
	struct cr_img *pages, *pm_img;
	bool tolerant;		/* pre-dump: the task runs, a vanished page reads as zeros */
	struct deferred *def;	/* pre-dump, frozen: copy runs kept for later */
	const u64 *sps;		/* the threads' stack pointers */
	int nr_sps;
	bool readable_vma;	/* the VMA being dumped has PROT_READ */
	u32 run_flags;		/* of the run batch_add() queues */
	/* --page-server: commands of the pages queued, guard runs among them */
	bool remote;
	u64 dst_id;
	struct page_server_iov hdrs[MAX_HDRS];
	unsigned int nr_hdrs;
};

/*
 * pre-dump: while the tree is frozen its pages are protected and listed
 * (the pagemap written), and copied only after it runs again.  A page
 * written meanwhile is copied again by the next dump, which sees it
 * written; one that vanished belongs to no VMA the next dump trusts.
 */
struct defer_run {
	u64 start, len;
	bool readable;
};

struct deferred {
	pid_t pid;
	unsigned int pages_id;
	struct defer_run *runs;
	size_t nr, cap;
};

static bool defer_mode;
static struct deferred *defs;
static size_t nr_defs;

static int defer_run(struct deferred *d, u64 start, u64 len, bool readable)
{
	if (d->nr == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct defer_run *n = xrealloc(d->runs, cap * sizeof(*n));

		if (!n)
			return -1;
		d->runs = n;
		d->cap = cap;
	}
	d->runs[d->nr++] = (struct defer_run){ start, len, readable };
	return 0;
}

static int read_batch(struct page_batch *b, u8 *buf)
{
	struct iovec liov = { buf, b->bytes };
	bool all_readable = true;
	u8 *dst = buf;
	ssize_t n;
	int i;

	if (fault_hit(FI_MEM_READ)) {
		pr_perror("cannot read %zu bytes of pages from pid %d", b->bytes, b->pid);
		return -1;
	}
	for (i = 0; i < b->nr; i++)
		all_readable &= b->readable[i];
	if (all_readable) {
		n = process_vm_readv(b->pid, &liov, 1, b->riov, b->nr, 0);
		if (n == (ssize_t)b->bytes)
			return 0;
		pr_debug("pid %d: process_vm_readv gave %zd of %zu bytes; using /proc/PID/mem\n",
			 b->pid, n, b->bytes);
	}
	/* not readable through the page tables' permissions: FOLL_FORCE path */
	for (i = 0; i < b->nr; i++) {
		n = pread_all(b->mem_fd, dst, b->riov[i].iov_len, (off_t)(unsigned long)b->riov[i].iov_base);
		if (n != (ssize_t)b->riov[i].iov_len && b->tolerant) {
			pr_debug("pid %d: %zu bytes at %p are gone: zeros\n", b->pid,
				 b->riov[i].iov_len, b->riov[i].iov_base);
			memset(dst, 0, b->riov[i].iov_len);
			n = b->riov[i].iov_len;
		}
		if (n != (ssize_t)b->riov[i].iov_len) {
			if (n >= 0)
				pr_err("pid %d exited during the dump (%zd of %zu bytes at %p read)\n",
				       b->pid, n, b->riov[i].iov_len, b->riov[i].iov_base);
			else
				pr_perror("cannot read %zu bytes at %p of pid %d",
					  b->riov[i].iov_len, b->riov[i].iov_base, b->pid);
			return -1;
		}
		dst += n;
	}
	return 0;
}

static int flush_batch(struct page_batch *b)
{
	struct copy_slot *sl;
	u64 t0;

	if (!b->nr && !b->nr_hdrs)
		return 0;
	if (dump_step("pages"))
		return -1;
	sl = mem_ring_get();
	t0 = now_us();
	if (b->nr && read_batch(b, sl->data))
		return -1;
	dstats.memdump_us += now_us() - t0;
	sl->nr_hdrs = b->nr_hdrs;
	if (b->nr_hdrs)
		memcpy(sl->hdrs, b->hdrs, b->nr_hdrs * sizeof(b->hdrs[0]));
	b->nr_hdrs = 0;
	/* the writer thread writes it while we read the next batch */
	mem_ring_put(sl, b->pages, b->bytes);
	dstats.pages_written += b->bytes / PAGE_SIZE;
	b->nr = 0;
	b->bytes = 0;
	return 0;
}

/*
 * A task's last batch: with nothing queued there is no overlap to gain,
 * and handing it to the writer only to wait for it costs two thread
 * switches per task; the main thread writes it.  Not for the page server
 * (its connection is the writer's while the ring is busy).
 */
static int flush_last_batch(struct page_batch *b)
{
	struct copy_slot *sl;
	u64 t0;

	if (!b->nr || b->remote || b->nr_hdrs)
		return flush_batch(b);
	sl = mem_ring_idle();
	if (!sl)
		return flush_batch(b);
	if (dump_step("pages"))
		return -1;
	t0 = now_us();
	if (read_batch(b, sl->data))
		return -1;
	dstats.memdump_us += now_us() - t0;
	if (mem_ring_write_now(sl, b->pages, b->bytes)) {
		pr_perror("cannot write %zu bytes of pages of pid %d", b->bytes, b->pid);
		return -1;
	}
	dstats.pages_written += b->bytes / PAGE_SIZE;
	b->nr = 0;
	b->bytes = 0;
	return 0;
}

/* A command for the page server, in order with the pages queued. */
static int batch_hdr(struct page_batch *b, u64 addr, u64 nr_pages, u32 flags)
{
	struct page_server_iov *pi = &b->hdrs[b->nr_hdrs++];

	pi->cmd = ps_cmd_add(flags);
	pi->nr_pages = nr_pages;
	pi->vaddr = addr;
	pi->dst_id = b->dst_id;
	return b->nr_hdrs == MAX_HDRS ? flush_batch(b) : 0;
}

/* Queue pages [addr, addr + len) for copying; splits at the buffer size. */
static int batch_add(struct page_batch *b, u64 addr, u64 len, bool readable)
{
	while (len) {
		size_t room = COPY_BUF_SIZE - b->bytes;
		size_t chunk = min(len, room);

		if (b->nr && b->riov[b->nr - 1].iov_base + b->riov[b->nr - 1].iov_len ==
		    (void *)(unsigned long)addr && b->readable[b->nr - 1] == readable) {
			b->riov[b->nr - 1].iov_len += chunk;
		} else {
			b->riov[b->nr].iov_base = (void *)(unsigned long)addr;
			b->riov[b->nr].iov_len = chunk;
			b->readable[b->nr] = readable;
			b->nr++;
		}
		b->bytes += chunk;
		if (b->remote)
			b->hdrs[b->nr_hdrs++] = (struct page_server_iov){
				ps_cmd_add(b->run_flags ?: PE_PRESENT), chunk / PAGE_SIZE, addr,
				b->dst_id };
		addr += chunk;
		len -= chunk;
		if (b->bytes == COPY_BUF_SIZE || b->nr == MAX_IOVS || b->nr_hdrs == MAX_HDRS) {
			if (flush_batch(b))
				return -1;
		}
	}
	return 0;
}

static bool page_wanted(const VmaEntry *e, u64 pm)
{
	if (pm & PM_GUARD)
		return false;
	if (pm & PM_SWAP)
		return true;
	if (!(pm & PM_PRESENT))
		return false;
	if (e->status & VMA_FILE_PRIVATE)
		return !(pm & PM_FILE);	/* only pages copied on write */
	if (zero_pfn && (pm & PM_PFN_MASK) == zero_pfn)
		return false;
	return true;
}

static int write_run_flags(struct cr_img *pm_img, u64 addr, u64 nr_pages, u32 flags)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;

	while (nr_pages) {
		u64 n = min(nr_pages, (u64)UINT32_MAX);

		pe.vaddr = addr;
		pe.nr_pages = n;
		pe.has_nr_pages_u64 = true;
		pe.nr_pages_u64 = n;
		pe.has_flags = true;
		pe.flags = flags;
		if (pb_write(pm_img, &pe))
			return -1;
		addr += n * PAGE_SIZE;
		nr_pages -= n;
	}
	return 0;
}

/* A page holding a thread's stack pointer is never lazy: CRIU's rule (sps sorted). */
static bool holds_sp(const struct page_batch *b, u64 addr)
{
	int lo = 0, hi = b->nr_sps;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		u64 page = b->sps[mid] & PAGE_MASK;

		if (page == addr)
			return true;
		if (page < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The pagemap flags CRIU writes for a dumped page of e (0: not dumped). */
static u32 page_flags(const struct page_batch *b, const VmaEntry *e, u64 addr, u64 pm)
{
	/* the vDSO's pages are all saved: a restore may need them to build a proxy */
	if (e->status & VMA_AREA_VDSO)
		return PE_PRESENT;
	if (!page_wanted(e, pm))
		return 0;
	if (vma_can_be_lazy(e) && !holds_sp(b, addr))
		return PE_PRESENT | PE_LAZY;
	return PE_PRESENT;
}

struct run {
	u64 start, len;		/* pages */
	u32 flags;
};

/* A run into the pagemap, or for the page server a command in the stream. */
static int emit_run(struct page_batch *b, u64 addr, u64 nr_pages, u32 flags)
{
	if (!b->remote)
		return write_run_flags(b->pm_img, addr, nr_pages, flags);
	if (flags & PE_PRESENT)
		return 0;	/* batch_add() makes the commands of its pieces */
	while (nr_pages) {
		u64 n = min(nr_pages, (u64)UINT32_MAX);

		if (batch_hdr(b, addr, n, flags))
			return -1;
		addr += n * PAGE_SIZE;
		nr_pages -= n;
	}
	return 0;
}

/*
 * Not a flag of the image: the run's pages are shared copy-on-write with
 * another process.  process_vm_readv() pins the pages it reads, and the
 * kernel unshares a shared anonymous page it pins (a copy for each task);
 * /proc/PID/mem reads without pinning, so the tree keeps sharing them.
 */
#define RUN_COW		(1u << 30)

/* Write the run's entry and queue its pages (a PE_PARENT run has none here). */
static int end_run(struct page_batch *b, struct run *r, bool data)
{
	bool readable = b->readable_vma && !(r->flags & RUN_COW);

	if (!r->len)
		return 0;
	r->flags &= ~RUN_COW;
	b->run_flags = r->flags;
	if (emit_run(b, r->start, r->len, r->flags))
		return -1;
	if (r->flags & PE_PARENT) {
		dstats.pages_parent += r->len;
		data = false;
	}
	/* pre-dump: copied once the tree runs again */
	if (data && b->def && defer_run(b->def, r->start, r->len * PAGE_SIZE, readable))
		return -1;
	if (data && !b->def && batch_add(b, r->start, r->len * PAGE_SIZE, readable))
		return -1;
	r->len = 0;
	return 0;
}

/* Extend r by n pages at addr with flags fl, or end it and start another. */
static int add_pages(struct page_batch *b, struct run *r, u64 addr, u64 n, u32 fl, bool data)
{
	if (r->len && fl == r->flags && r->start + r->len * PAGE_SIZE == addr) {
		r->len += n;
		return 0;
	}
	if (end_run(b, r, data))
		return -1;
	if (fl) {
		r->start = addr;
		r->len = n;
		r->flags = fl;
	}
	return 0;
}

static int add_page(struct page_batch *b, struct run *r, u64 addr, u32 fl, bool data)
{
	return add_pages(b, r, addr, 1, fl, data);
}

struct vma_scan {
	struct run pages, guards;
	/* a tracked VMA: its present regions, and cursors into the tracking */
	struct cr_page_region *present;
	size_t nr_present, ri, di, pi;
	u64 fast_pages;		/* pages decided from the present regions alone */
};

/* [from, to) page by page from the pagemap */
static int scan_range(struct page_batch *b, int pm_fd, const VmaEntry *e, struct track_vma *tv,
		      struct vma_scan *vs, u64 from, u64 to)
{
	u64 addr = from;

	while (addr < to) {
		u64 nr = min((to - addr) / PAGE_SIZE, PAGEMAP_CHUNK), i;
		ssize_t n = pread_all(pm_fd, pm_buf, nr * 8, (addr / PAGE_SIZE) * 8);

		if (n != (ssize_t)(nr * 8)) {
			if (n >= 0)	/* the mm is gone: pagemap reads end early */
				pr_err("pid %d exited during the dump (its pagemap ends at %llx)\n",
				       b->pid, (unsigned long long)addr);
			else
				pr_perror("cannot read the pagemap of pid %d at %llx", b->pid,
					  (unsigned long long)addr);
			return -1;
		}
		for (i = 0; i < nr; i++, addr += PAGE_SIZE) {
			u32 fl = page_flags(b, e, addr, pm_buf[i]);
			/* guard pages (MADV_GUARD_INSTALL) are entries of their own */
			u32 gfl = pm_buf[i] & PM_GUARD ? PE_GUARD : 0;

			/* unchanged since the parent dump, which holds it */
			if (fl && mem_track_in_parent(tv, addr))
				fl = PE_PARENT;
			else if (fl && (pm_buf[i] & PM_PRESENT) && !(pm_buf[i] & PM_EXCLUSIVE))
				fl |= RUN_COW;
			if (add_page(b, &vs->guards, addr, gfl, false) ||
			    add_page(b, &vs->pages, addr, fl, true))
				return -1;
		}
	}
	return 0;
}

#define SCAN_REGIONS	4096

/*
 * Only the ranges PAGEMAP_SCAN finds are read word by word: the rest of
 * the VMA holds nothing (a gap ends the runs by itself).  Returns 1 when
 * the kernel cannot scan, with *from where the words must be read from.
 */
static int scan_ranges(struct page_batch *b, int pm_fd, const VmaEntry *e, struct track_vma *tv,
		       struct vma_scan *vs, u64 *from)
{
	static struct pm_region vec[SCAN_REGIONS];
	u64 addr = e->start, walk_end;
	long n, i;

	while (addr < e->end) {
		*from = addr;
		n = pagemap_scan(pm_fd, addr, e->end, vec, SCAN_REGIONS, &walk_end);
		if (n < 0) {
			if (errno == ESRCH)
				pr_err("pid %d exited during the dump (scanning its pages at %llx)\n",
				       b->pid, (unsigned long long)addr);
			else
				pr_perror("PAGEMAP_SCAN of pid %d at %llx", b->pid,
					  (unsigned long long)addr);
			return -1;
		}
		if (!walk_end)
			return 1;
		/*
		 * The kernel may report regions past the walk_end it gives
		 * (all of a VMA's with walk_end half way): go on after the last
		 * region, and never read a range twice.
		 */
		for (i = 0; i < n; i++) {
			u64 s = max(vec[i].start, addr);

			if (s < vec[i].end && scan_range(b, pm_fd, e, tv, vs, s, vec[i].end))
				return -1;
			addr = max(addr, (u64)vec[i].end);
		}
		if (max(walk_end, addr) <= *from)	/* no progress: never loop */
			return 1;
		addr = max(walk_end, addr);
	}
	return 0;
}

/*
 * [from, to) lies in the parent and was not written: each page there that
 * scan_range() would save is PE_PARENT, so the present regions say it all.
 * Runs are ended in address order (the other kind first).
 */
static int parent_range(struct page_batch *b, const VmaEntry *e, struct vma_scan *vs, u64 from,
			u64 to)
{
	bool file = e->status & VMA_FILE_PRIVATE;

	dstats.pages_scanned += (to - from) / PAGE_SIZE;
	vs->fast_pages += (to - from) / PAGE_SIZE;
	while (vs->ri < vs->nr_present && vs->present[vs->ri].end <= from)
		vs->ri++;
	for (; vs->ri < vs->nr_present && vs->present[vs->ri].start < to; vs->ri++) {
		const struct cr_page_region *r = &vs->present[vs->ri];
		u64 s = max(r->start, from), n = (min(r->end, to) - s) / PAGE_SIZE;
		u64 c = r->categories;

		if (c & CR_PAGE_IS_GUARD) {
			if (end_run(b, &vs->pages, true) ||
			    add_pages(b, &vs->guards, s, n, PE_GUARD, false))
				return -1;
		} else if ((c & CR_PAGE_IS_SWAPPED) || !(file && (c & CR_PAGE_IS_FILE))) {
			if (end_run(b, &vs->guards, false) ||
			    add_pages(b, &vs->pages, s, n, PE_PARENT, true))
				return -1;
		}
		if (r->end > to)
			break;	/* the rest of it belongs to the next range */
	}
	return 0;
}

#define PARENT_MIN	(64 * PAGE_SIZE)	/* shorter stretches go page by page */

/* From addr: the next stretch long enough for parent_range(), or the VMA's end. */
static u64 next_parent_stretch(struct track_vma *tv, struct vma_scan *vs, u64 addr, u64 end)
{
	size_t di = vs->di, pi = vs->pi;

	while (addr < end) {
		u64 lim = mem_track_parent_until(tv, &di, &pi, addr, end);

		if (lim - addr >= PARENT_MIN)
			return addr;
		addr = lim > addr ? lim : mem_track_next_stretch(tv, &di, &pi, addr, end);
	}
	return end;
}

/* An untracked VMA: the ranges PAGEMAP_SCAN finds, or every word. */
static int scan_sparse(struct page_batch *b, int pm_fd, const VmaEntry *e, struct track_vma *tv,
		       struct vma_scan *vs)
{
	u64 from = e->start;
	int ret = 1;

	dstats.pages_scanned += (e->end - e->start) / PAGE_SIZE;
	/* the vDSO's pages are all saved, present or not */
	if (!(e->status & VMA_AREA_VDSO))
		ret = scan_ranges(b, pm_fd, e, tv, vs, &from);
	if (ret > 0)
		ret = scan_range(b, pm_fd, e, tv, vs, from, e->end);
	return ret;
}

static int scan_vma_pages(struct page_batch *b, int pm_fd, const VmaEntry *e,
			  struct track_vma *tv)
{
	struct vma_scan vs = { 0 };
	u64 addr = e->start, lim, next;
	bool fast = tv->tracked && !(e->status & VMA_AREA_VDSO);
	int ret = -1;

	b->readable_vma = e->prot & PROT_READ;
	if (fast && mem_track_present(pm_fd, e->start, e->end, &vs.present, &vs.nr_present)) {
		pr_debug("pid %d: PAGEMAP_SCAN for present pages: %s; pagemap instead\n", b->pid,
			 strerror(errno));
		fast = false;
	}
	if (!fast) {
		if (scan_sparse(b, pm_fd, e, tv, &vs))
			goto out;
		addr = e->end;
	}
	while (addr < e->end) {
		lim = mem_track_parent_until(tv, &vs.di, &vs.pi, addr, e->end);
		if (lim - addr >= PARENT_MIN) {
			if (parent_range(b, e, &vs, addr, lim))
				goto out;
			addr = lim;
			continue;
		}
		next = next_parent_stretch(tv, &vs, addr, e->end);
		dstats.pages_scanned += (next - addr) / PAGE_SIZE;
		if (scan_range(b, pm_fd, e, tv, &vs, addr, next))
			goto out;
		addr = next;
	}
	if (end_run(b, &vs.guards, false) || end_run(b, &vs.pages, true))
		goto out;
	if (vs.fast_pages)
		pr_debug("pid %d: VMA %llx-%llx: %llu of %llu pages taken from the parent by "
			 "their present regions (%zu)\n", b->pid, (unsigned long long)e->start,
			 (unsigned long long)e->end, (unsigned long long)vs.fast_pages,
			 (unsigned long long)((e->end - e->start) / PAGE_SIZE), vs.nr_present);
	ret = 0;
out:
	free(vs.present);
	return ret;
}

static int dump_vma_pages(struct page_batch *b, int pm_fd, const VmaEntry *e)
{
	struct track_vma tv;
	int ret;

	/* written pages are found (and protected again) before they are read */
	if (mem_track_vma(b->pid, b->vpid, e, &tv))
		return -1;
	ret = scan_vma_pages(b, pm_fd, e, &tv);
	mem_track_vma_done(&tv);
	return ret;
}

static struct deferred *new_deferred(pid_t pid, unsigned int pages_id)
{
	struct deferred *n = xrealloc(defs, (nr_defs + 1) * sizeof(*n));

	if (!n)
		return NULL;
	defs = n;
	memset(&defs[nr_defs], 0, sizeof(*defs));
	defs[nr_defs].pid = pid;
	defs[nr_defs].pages_id = pages_id;
	return &defs[nr_defs++];
}

void mem_defer_copies(bool on)
{
	defer_mode = on;
}

/* Copy one task's deferred runs into its pages file. */
static int copy_deferred(struct page_batch *b, struct deferred *d)
{
	size_t i;
	int ret = -1;

	char path[64];

	b->pid = d->pid;
	b->tolerant = true;
	b->pages = open_image(CR_FD_PAGES, O_DUMP, (unsigned long)d->pages_id);
	if (!b->pages)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/mem", b->pid);
	b->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	/* a task that exited meanwhile: no later dump has it */
	if (b->mem_fd < 0)
		pr_warn("pid %d is gone (%s): its pre-dumped pages are zeros\n", b->pid,
			strerror(errno));
	for (i = 0; i < d->nr; i++)
		if (batch_add(b, d->runs[i].start, d->runs[i].len, d->runs[i].readable))
			goto out;
	if (flush_batch(b))
		goto out;
	ret = 0;
out:
	if (mem_ring_drain()) {
		pr_perror("cannot write pages-%u.img", d->pages_id);
		ret = -1;
	}
	if (b->pages && close_image(b->pages))
		ret = -1;
	b->pages = NULL;
	close_safe(&b->mem_fd);
	return ret;
}

int mem_copy_deferred(void)
{
	struct page_batch *b = xzalloc(sizeof(*b));
	size_t i;
	int ret = b ? 0 : -1;

	for (i = 0; b && i < nr_defs; i++) {
		memset(b, 0, sizeof(*b));
		b->mem_fd = -1;
		if (!ret && copy_deferred(b, &defs[i]))
			ret = -1;
	}
	for (i = 0; i < nr_defs; i++)
		free(defs[i].runs);
	free(defs);
	defs = NULL;
	nr_defs = 0;
	free(b);
	return ret;
}

/* Where the pages of one task go: pagemap-PID.img and its pages, or the server. */
static int open_task_pages(struct page_batch *b, pid_t vpid, unsigned int *pages_id)
{
	PagemapHead ph = PAGEMAP_HEAD__INIT;

	if (b->remote) {
		/* the connection is the main thread's while the ring is idle */
		return mem_ring_drain() ? -1 : page_xfer_open(CR_FD_PAGEMAP, vpid, &b->dst_id);
	}
	ph.pages_id = *pages_id = next_pages_id++;
	b->pm_img = open_image(CR_FD_PAGEMAP, O_DUMP, (unsigned long)vpid);
	if (!b->pm_img || pb_write(b->pm_img, &ph))
		return -1;
	/* pre-dump: the pages file is written after the tree runs again */
	if (defer_mode) {
		b->def = new_deferred(b->pid, ph.pages_id);
		return b->def ? 0 : -1;
	}
	b->pages = open_image(CR_FD_PAGES, O_DUMP, (unsigned long)ph.pages_id);
	return b->pages ? 0 : -1;
}

int dump_private_pages(struct pstree_item *it, struct vm_area_list *vl, const u64 *sps,
		       int nr_sps)
{
	struct page_batch *b;
	struct vma_area *v;
	unsigned int pages_id = 0;
	char path[64];
	int pm_fd = -1, ret = -1;

	b = xzalloc(sizeof(*b));
	if (!b)
		return -1;
	b->pid = it->pid;
	b->vpid = it->vpid;
	b->mem_fd = -1;
	b->sps = sps;
	b->nr_sps = nr_sps;
	b->remote = page_xfer_remote();

	snprintf(path, sizeof(path), "/proc/%d/pagemap", it->pid);
	pm_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm_fd < 0) {
		pr_perror("cannot open %s", path);
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", it->pid);
	b->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->mem_fd < 0) {
		pr_perror("cannot open %s", path);
		goto out;
	}
	if (open_task_pages(b, it->vpid, &pages_id))
		goto out;

	list_for_each_entry(v, &vl->h, list) {
		if (!vma_is_priv(&v->e) && !(v->e.status & VMA_AREA_VDSO))
			continue;
		if (dump_vma_pages(b, pm_fd, &v->e))
			goto out;
	}
	if (flush_last_batch(b))
		goto out;
	ret = 0;
out:
	/* the writer must be done with this image before it is closed */
	if (mem_ring_drain()) {
		if (b->remote)
			pr_perror("cannot send the pages of pid %d to the page server at %s",
				  it->pid, page_xfer_peer());
		else
			pr_perror("cannot write pages-%u.img", pages_id);
		ret = -1;
	}
	if (b->pages && close_image(b->pages))
		ret = -1;
	if (b->pm_img && close_image(b->pm_img))
		ret = -1;
	close_safe(&pm_fd);
	close_safe(&b->mem_fd);
	free(b);
	return ret;
}


/* ---- for shmem.c ---- */

unsigned int mem_next_pages_id(void)
{
	return next_pages_id++;
}

int mem_write_run(struct cr_img *pm_img, u64 addr, u64 nr_pages)
{
	return write_run_flags(pm_img, addr, nr_pages, PE_PRESENT);
}
