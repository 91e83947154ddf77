// SPDX-License-Identifier: GPL-2.0
/*
 * Restore of private memory, done in criu before the tree is forked: the
 * bootstrap area for the restorer, every VMA premapped at a free slot and
 * filled from the pages image in large reads; the restorer moves them to
 * their places.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cow.h"
#include "fault.h"
#include "image.h"
#include "ipc_ns.h"
#include "lazy.h"
#include "mem.h"
#include "mem-internal.h"
#include "page-chain.h"
#include "pagemap.pb-c.h"
#include "proc_parse.h"
#include "util.h"
#include "files.h"
#include "restore.h"
#include "restorer-blob.h"
#include "shared.h"

#define MAX_IOVS	1024	/* runs per preadv */

#define GAP_SEARCH_START	(1ULL << 32)
#define TARGET_PAD		(2ULL << 20)	/* keep clear of stack guard gaps */

struct interval {
	u64 start, end;
};


void *bump_alloc(struct bump *b, size_t size, size_t align)
{
	size_t off = (b->off + align - 1) & ~(align - 1);

	if (off + size > b->cap) {
		pr_err("restorer arguments overflow: %zu + %zu > %zu bytes\n", off, size, b->cap);
		return NULL;
	}
	b->off = off + size;
	return b->base + off;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* Our own mappings and the target's, sorted; the caller frees them. */
static int busy_intervals(struct pstree_item *it, struct interval **out, int *nr)
{
	MmEntry *mm = rst_of(it)->mm;
	struct interval *iv;
	char *buf, *line, *save;
	int n = 0, cap;
	size_t i;

	if (read_file("/proc/self/maps", &buf) < 0) {
		pr_perror("cannot read /proc/self/maps");
		return -1;
	}
	/* one interval per line of our maps, one per target VMA */
	cap = mm->n_vmas + 1;
	for (line = buf; (line = strchr(line, '\n')); line++)
		cap++;
	iv = xmalloc(cap * sizeof(*iv));
	if (!iv) {
		free(buf);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line && n < cap;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e;

		if (sscanf(line, "%llx-%llx", &s, &e) == 2)
			iv[n++] = (struct interval){ s, e };
	}
	free(buf);
	for (i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		if (v->status & VMA_AREA_VSYSCALL)
			continue;
		iv[n++] = (struct interval){ v->start > TARGET_PAD ? v->start - TARGET_PAD : 0,
					     v->end + TARGET_PAD };
	}
	qsort(iv, n, sizeof(*iv), cmp_interval);
	*out = iv;
	*nr = n;
	return 0;
}

/* The lowest range of len bytes above GAP_SEARCH_START used by nobody. */
static int find_gap(struct pstree_item *it, u64 len, u64 *addr)
{
	struct interval *iv;
	u64 pos = GAP_SEARCH_START;
	int n, i;

	if (busy_intervals(it, &iv, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (iv[i].end <= pos)
			continue;
		if (iv[i].start >= pos + len)
			break;
		pos = PAGE_ALIGN(iv[i].end);
	}
	free(iv);
	if (pos + len > RST_TASK_SIZE) {
		pr_err("pid %d: no free %llu bytes in both address spaces\n", it->vpid,
		       (unsigned long long)len);
		return -1;
	}
	*addr = pos;
	return 0;
}

static bool vma_is_vdso(const VmaEntry *v)
{
	return v->status & (VMA_AREA_VDSO | VMA_AREA_VVAR);
}

static u64 vdso_span(MmEntry *mm)
{
	u64 s = 0, e = 0;
	size_t i;

	for (i = 0; i < mm->n_vmas; i++)
		if (vma_is_vdso(mm->vmas[i])) {
			if (!s)
				s = mm->vmas[i]->start;
			e = mm->vmas[i]->end;
		}
	return e - s;
}

int map_bootstrap(struct pstree_item *it, size_t args_size, struct rst_mem *m)
{
	size_t blob_len = PAGE_ALIGN(restorer_blob_size);
	/* its vm children run on stacks here too */
	size_t stacks = (size_t)vm_threads(it) * RST_THREAD_STACK;
	u64 park = PAGE_ALIGN(vdso_span(rst_of(it)->mm)) + 8 * PAGE_SIZE;
	void *p;

	args_size = PAGE_ALIGN(args_size);
	m->bootstrap_len = blob_len + args_size + stacks + park;
	if (find_gap(it, m->bootstrap_len, &m->bootstrap))
		return -1;
	p = mmap((void *)m->bootstrap, m->bootstrap_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)m->bootstrap) {
		pr_perror("cannot map the bootstrap area at %llx", (unsigned long long)m->bootstrap);
		return -1;
	}
	m->blob = m->bootstrap;
	memcpy(p, restorer_blob, restorer_blob_size);
	if (mprotect(p, blob_len, PROT_READ | PROT_EXEC)) {
		pr_perror("cannot make the restorer executable");
		return -1;
	}
	m->args.base = (u8 *)p + blob_len;
	m->args.off = 0;
	m->args.cap = args_size;
	m->stacks = m->bootstrap + blob_len + args_size;
	m->park = m->stacks + stacks;
	pr_debug("pid %d: bootstrap area %llx-%llx (blob %zu bytes, args %zu)\n", it->vpid,
		 (unsigned long long)m->bootstrap,
		 (unsigned long long)(m->bootstrap + m->bootstrap_len), restorer_blob_size,
		 args_size);
	return 0;
}

/* ---- private memory: premap, fill from the pages image ---- */

/* This task's premap; the children it forks inherit it (and this variable). */
static struct premap_state mine;

#define THP_SIZE	(2ULL << 20)

/*
 * Anonymous private memory that had MADV_HUGEPAGE: premapped at a slot
 * with the same offset in a 2 MiB page as its place, advised before the
 * fill, so that the fill faults in huge pages and the restorer's mremap
 * moves them whole (it splits a huge page moved to an unaligned place).
 */
static bool wants_thp(struct task_restore *tr, const VmaEntry *v)
{
	return (v->status & VMA_ANON_PRIVATE) && v->has_madv &&
	       (v->madv & (1ULL << MADV_HUGEPAGE)) && v->end - v->start >= THP_SIZE &&
	       !(tr->mm->has_thp_disabled && tr->mm->thp_disabled);
}

/* The map type and the flags of the premap that the VMA keeps when moved. */
static int premap_flags(const VmaEntry *v)
{
	int type = (v->flags & MAP_TYPE) == MAP_DROPPABLE ? MAP_DROPPABLE : MAP_PRIVATE;

	/* without MAP_NORESERVE a large sparse mapping fails the overcommit check */
	return type | (v->flags & (MAP_NORESERVE | MAP_GROWSDOWN)) | MAP_FIXED;
}

static bool vma_has_pages(struct task_restore *tr, const VmaEntry *v, size_t *pi)
{
	/* pagemap entries are sorted like the VMAs: advance a shared cursor */
	while (*pi < tr->nr_pmes && tr->pmes[*pi]->vaddr +
	       (u64)tr->pmes[*pi]->nr_pages * PAGE_SIZE <= v->start)
		(*pi)++;
	return *pi < tr->nr_pmes && tr->pmes[*pi]->vaddr < v->end;
}

static bool wants_premap(struct task_restore *tr, const VmaEntry *v, size_t *pi)
{
	if (vma_is_vdso(v) || (v->status & VMA_AREA_VSYSCALL))
		return false;
	if (v->status & (VMA_ANON_SHARED | VMA_AREA_SYSVIPC))
		return true;
	if (v->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE))
		return vma_has_pages(tr, v, pi);
	return false;
}

static int premap_one(struct pstree_item *it, VmaEntry *v, u64 slot)
{
	u64 len = v->end - v->start;
	void *p;

	if (v->status & VMA_AREA_SYSVIPC)
		return premap_sysv_shm(it->vpid, (int)v->shmid, v->pgoff, len,
				       v->has_fdflags && (v->fdflags & O_ACCMODE) == O_RDONLY, slot);
	if (v->status & VMA_ANON_SHARED) {
		struct shmem_obj *s = find_shmem(v->shmid);

		/* a second mapping of criu's shared object (old size 0) */
		if (!s || v->pgoff + len > s->size) {
			pr_err("pid %d: shared memory %llu is missing\n", it->vpid,
			       (unsigned long long)v->shmid);
			return -1;
		}
		p = mremap((void *)(s->addr + v->pgoff), 0, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   (void *)slot);
	} else if (v->status & VMA_FILE_PRIVATE) {
		int fd = anchor_fd(v->shmid);

		p = mmap((void *)slot, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED | (v->flags & MAP_NORESERVE), fd, v->pgoff);
	} else {
		p = mmap((void *)slot, len, PROT_READ | PROT_WRITE,
			 premap_flags(v) | MAP_ANONYMOUS, -1, 0);
	}
	if (fault_hit(FI_PREMAP) && p == (void *)slot) {
		munmap(p, len);
		p = MAP_FAILED;
	}
	if (p != (void *)slot) {
		pr_perror("pid %d: cannot premap VMA %llx-%llx", it->vpid,
			  (unsigned long long)v->start, (unsigned long long)v->end);
		return -1;
	}
	if (wants_thp(rst_of(it), v) && madvise(p, len, MADV_HUGEPAGE)) {
		pr_perror("pid %d: madvise(MADV_HUGEPAGE) of premapped VMA %llx", it->vpid,
			  (unsigned long long)v->start);
		return -1;
	}
	return 0;
}

/* Room in the args for the names of the VMAs. */
size_t vma_names_size(MmEntry *mm)
{
	size_t i, sz = 0;

	for (i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->name)
			sz += strlen(mm->vmas[i]->name) + 1;
	return sz;
}

static int open_pages(struct task_restore *tr)
{
	struct cr_img *img = open_image(CR_FD_PAGES, O_RSTR, (unsigned long)tr->pages_id);
	int fd;

	if (!img)
		return -1;
	fd = dup(img_raw_fd(img));
	close_image(img);
	if (fd < 0)
		pr_perror("cannot dup the pages image fd");
	return move_to_svc(fd);
}

struct page_reader {
	int fd;
	unsigned int pages_id;
	struct iovec iov[MAX_IOVS];
	size_t niov, batch;	/* iovecs and bytes queued */
	off_t off;		/* in the pages image, of the first queued byte */
};

static int read_queued(struct page_reader *r)
{
	ssize_t n;

	if (!r->niov)
		return 0;
	n = preadv_all(r->fd, r->iov, r->niov, r->off, r->batch);
	if (n != (ssize_t)r->batch) {
		if (n < 0)
			pr_perror("cannot read pages-%u.img at %lld", r->pages_id, (long long)r->off);
		else
			pr_err("pages-%u.img: truncated at %lld: expected %zu bytes, got %zd\n",
			       r->pages_id, (long long)r->off, r->batch, n);
		return -1;
	}
	r->off += r->batch;
	r->niov = 0;
	r->batch = 0;
	return 0;
}

/* Pages [addr, addr + len) of the image go to dst (NULL: skipped over). */
static int queue_pages(struct page_reader *r, void *dst, u64 len)
{
	if (!dst) {
		if (read_queued(r))
			return -1;
		r->off += len;
		return 0;
	}
	r->iov[r->niov].iov_base = dst;
	r->iov[r->niov].iov_len = len;
	r->niov++;
	r->batch += len;
	return r->niov == MAX_IOVS ? read_queued(r) : 0;
}

struct chain_cow {
	struct pstree_item *it;
	struct cow_fill *cf;
};

/* A piece from a parent dump into a VMA taken from the parent task: only what differs. */
static int chain_cow_piece(int fd, off_t off, u64 addr, u64 len, u8 *dst, void *arg)
{
	struct chain_cow *cc = arg;
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;
	bool known = cc->cf->size_known;
	u64 size = cc->cf->size;
	int ret;

	pe.vaddr = addr;
	pe.nr_pages = len / PAGE_SIZE;
	/* cf knows the size of our own pages file: this piece is in another */
	cc->cf->size_known = false;
	ret = cow_fill_run(cc->it, fd, off, &pe, (u64)(unsigned long)dst, cc->cf);
	cc->cf->size_known = known;
	cc->cf->size = size;
	return ret;
}

/* Pages in a parent dump (PE_PARENT); cf: into a VMA taken from the parent task. */
static int fill_from_chain(struct pstree_item *it, u64 addr, u64 len, u64 dst,
			   struct cow_fill *cf)
{
	struct chain_cow cc = { it, cf };

	if (cf)
		return page_chain_each(it->vpid, addr, len, (void *)(unsigned long)dst,
				       chain_cow_piece, &cc);
	return page_chain_read(it->vpid, addr, len, (void *)(unsigned long)dst);
}

/*
 * One pagemap entry, split at VMA boundaries (CRIU's runs may go on into
 * the next VMA).  The vDSO's pages, which CRIU saves, are skipped: the
 * kernel's vDSO is moved into place instead.
 */
static int fill_entry(struct pstree_item *it, struct page_reader *r, struct premap_plan *plan,
		      size_t nr, size_t *vi, PagemapEntry *pe, struct cow_fill *cf)
{
	u64 addr = pe->vaddr, end = pe->vaddr + (u64)pe->nr_pages * PAGE_SIZE;

	while (addr < end) {
		VmaEntry *v;
		u64 piece;

		while (*vi < nr && plan[*vi].v->end <= addr)
			(*vi)++;
		v = *vi < nr ? plan[*vi].v : NULL;
		if (!v || addr < v->start || (!plan[*vi].slot && !vma_is_vdso(v))) {
			pr_err("pagemap-%d.img: pages at %llx (%u) are outside every private VMA\n",
			       it->vpid, (unsigned long long)pe->vaddr, pe->nr_pages);
			return -1;
		}
		piece = min(end, v->end) - addr;
		if (pe->has_flags && (pe->flags & PE_PARENT)) {
			/* not in our pages file: r->off stays */
			if (plan[*vi].slot &&
			    (read_queued(r) ||
			     fill_from_chain(it, addr, piece, plan[*vi].slot + addr - v->start,
					     plan[*vi].from ? cf : NULL)))
				return -1;
		} else if (plan[*vi].slot && lazy_piece(it, v, pe)) {
			/* the lazy-pages daemon fills it; nothing of the parent's stays there */
			if (read_queued(r) ||
			    lazy_skip_piece(it, plan[*vi].from ? plan[*vi].slot + addr - v->start : 0,
				      plan[*vi].slot + addr - v->start, piece))
				return -1;
			r->off += piece;
		} else if (plan[*vi].slot && plan[*vi].from) {
			/* taken from the parent: only the pages that differ (cow.c) */
			PagemapEntry part = *pe;

			part.vaddr = addr;
			part.nr_pages = piece / PAGE_SIZE;
			if (read_queued(r) ||
			    cow_fill_run(it, r->fd, r->off, &part, plan[*vi].slot + addr - v->start, cf))
				return -1;
			r->off += piece;
		} else if (queue_pages(r, plan[*vi].slot ? (void *)(plan[*vi].slot + addr - v->start)
							 : NULL,
				       piece)) {
			return -1;
		}
		addr += piece;
	}
	return 0;
}

/*
 * Read every dumped page into its premapped place, many runs per call;
 * a VMA taken from the parent gets only the pages that differ (cow.c).
 */
static int fill_pages(struct pstree_item *it, struct premap_plan *plan, size_t nr,
		      struct cow_fill *cf)
{
	struct task_restore *tr = rst_of(it);
	struct page_reader *r;
	size_t pi, vi = 0;
	int ret = -1;

	if (!tr->nr_pmes)
		return 0;
	r = xzalloc(sizeof(*r));
	if (!r)
		return -1;
	r->pages_id = tr->pages_id;
	r->fd = open_pages(tr);
	if (r->fd < 0)
		goto out;
	for (pi = 0; pi < tr->nr_pmes; pi++)
		if (fill_entry(it, r, plan, nr, &vi, tr->pmes[pi], cf))
			goto out;
	ret = read_queued(r);
out:
	page_chain_fini();
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return ret;
}

static int fill_rst_vma(struct pstree_item *it, struct rst_mem *m, struct rst_vma *rv,
			VmaEntry *v, u64 slot)
{
	if (v->name) {
		size_t len = strlen(v->name) + 1;
		char *n = bump_alloc(&m->args, len, 1);

		if (!n)
			return -1;
		memcpy(n, v->name, len);
		rv->name = (u64)(unsigned long)n;
	}
	if ((v->flags & MAP_LOCKED) && v->has_lock_onfault && v->lock_onfault)
		rv->rst_flags |= RST_VMA_LOCK_ONFAULT;
	rv->start = v->start;
	rv->end = v->end;
	rv->pgoff = v->pgoff;
	rv->prot = v->prot;
	rv->flags = v->flags;
	rv->madv = v->has_madv ? v->madv : 0;
	rv->premap = slot;
	rv->fd = -1;
	if (slot)
		rv->rst_flags |= RST_VMA_PREMAPPED;
	if (vma_is_vdso(v))
		rv->rst_flags |= RST_VMA_VDSO;
	if (!slot && (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED))) {
		rv->fd = anchor_fd(v->shmid);
		if (rv->fd < 0) {
			pr_err("pid %d: the file of VMA %llx is not open\n", it->vpid,
			       (unsigned long long)v->start);
			return -1;
		}
	}
	return 0;
}

/* Where the kernel put our own vDSO set, and where the image wants it. */
static int plan_vdso(struct pstree_item *it, struct rst_args *a, struct rst_mem *m)
{
	MmEntry *mm = rst_of(it)->mm;
	char *buf, *line, *save;
	u64 img_first = 0;
	u32 n_img = 0;
	size_t i;

	if (read_file("/proc/self/maps", &buf) < 0) {
		pr_perror("cannot read /proc/self/maps");
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e;
		char name[32] = "";

		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %31s", &s, &e, name) < 2)
			continue;
		if (strcmp(name, "[vvar]") && strcmp(name, "[vvar_vclock]") && strcmp(name, "[vdso]"))
			continue;
		if (a->nr_cur_vdso == ARRAY_SIZE(a->cur_vdso))
			break;
		if (!a->nr_cur_vdso)
			a->cur_vdso_start = s;
		a->cur_vdso_end = e;
		a->cur_vdso[a->nr_cur_vdso].start = s;
		a->cur_vdso[a->nr_cur_vdso++].end = e;
	}
	free(buf);

	for (i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		if (!vma_is_vdso(v))
			continue;
		if (!n_img)
			img_first = v->start;
		if (n_img >= a->nr_cur_vdso ||
		    v->end - v->start != a->cur_vdso[n_img].end - a->cur_vdso[n_img].start ||
		    v->start - img_first != a->cur_vdso[n_img].start - a->cur_vdso_start) {
			pr_err("pid %d: the dumped vDSO layout differs from this kernel's\n",
			       it->vpid);
			return -1;
		}
		n_img++;
	}
	if (n_img && n_img != a->nr_cur_vdso) {
		pr_err("pid %d: the image has %u vDSO mappings, this kernel %u\n", it->vpid, n_img,
		       a->nr_cur_vdso);
		return -1;
	}
	a->has_vdso = n_img > 0;
	a->vdso_delta = n_img ? (int64_t)(img_first - a->cur_vdso_start) : 0;
	a->vdso_park = m->park;
	return 0;
}

/* Which VMAs get a slot, and how long the premap area must be. */
static struct premap_plan *plan_premap(struct pstree_item *it, u64 *len)
{
	struct task_restore *tr = rst_of(it);
	MmEntry *mm = tr->mm;
	struct premap_plan *plan = xzalloc(sizeof(*plan) * (mm->n_vmas + 1));
	size_t i, pi = 0;

	if (!plan)
		return NULL;
	*len = 0;
	for (i = 0; i < mm->n_vmas; i++) {
		VmaEntry *v = mm->vmas[i];

		plan[i].v = v;
		/* the kernel's [vsyscall] page, above the task size: not ours to map */
		if (v->status & VMA_AREA_VSYSCALL)
			continue;
		if (v->status & ~VMA_STATUS_KNOWN) {
			pr_err("unsupported: mm-%d.img: VMA %llx-%llx has status %#x (%s)\n",
			       it->vpid, (unsigned long long)v->start, (unsigned long long)v->end,
			       v->status, v->status & VMA_AREA_AIORING ? "an AIO ring" :
			       v->status & VMA_AREA_SOCKET ? "a packet socket's ring" :
			       "bits we do not know");
			goto err;
		}
		if (i && v->start < mm->vmas[i - 1]->end) {
			pr_err("mm-%d.img: VMA %llx-%llx overlaps the one before it\n", it->vpid,
			       (unsigned long long)v->start, (unsigned long long)v->end);
			goto err;
		}
		if (v->end <= v->start || (v->start | v->end) & ~PAGE_MASK ||
		    v->end > RST_TASK_SIZE) {
			pr_err("mm-%d.img: bad VMA %llx-%llx\n", it->vpid,
			       (unsigned long long)v->start, (unsigned long long)v->end);
			goto err;
		}
		if (wants_premap(tr, v, &pi)) {
			plan[i].slot = 1;	/* placed later */
			/* a free page between slots keeps them from merging */
			*len += v->end - v->start + PAGE_SIZE;
			if (wants_thp(tr, v))
				*len += THP_SIZE;
		}
	}
	return plan;
err:
	free(plan);
	return NULL;
}

/* Shared memory is mapped after the fork: children need their own mapping of it. */
static bool premap_later(const VmaEntry *v)
{
	return v->status & (VMA_ANON_SHARED | VMA_AREA_SYSVIPC);
}

/* Place the slots and map the private ones: taken from the parent's premap or new. */
static int map_private_slots(struct pstree_item *it, struct premap_plan *plan, size_t nr,
			     u64 pos)
{
	size_t i, pi = 0;

	for (i = 0; i < nr; i++) {
		if (!plan[i].slot)
			continue;
		if (wants_thp(rst_of(it), plan[i].v))
			pos += (plan[i].v->start - pos) & (THP_SIZE - 1);
		plan[i].slot = pos;
		pos += plan[i].v->end - plan[i].v->start + PAGE_SIZE;
		if (premap_later(plan[i].v))
			continue;
		if (plan[i].from ? cow_take(it, &plan[i], &pi) : premap_one(it, plan[i].v, plan[i].slot))
			return -1;
	}
	return 0;
}

static int protect_slots(struct premap_plan *plan, size_t nr, bool shared)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		VmaEntry *v = plan[i].v;

		if (!plan[i].slot || premap_later(v) != shared)
			continue;
		if (mprotect((void *)plan[i].slot, v->end - v->start, v->prot)) {
			pr_perror("cannot protect premapped VMA %llx", (unsigned long long)v->start);
			return -1;
		}
	}
	return 0;
}

static int reserve_premap(struct pstree_item *it, struct rst_mem *m)
{
	void *p;

	if (!m->premap_len)
		return 0;
	if (find_gap(it, m->premap_len, &m->premap))
		return -1;
	p = mmap((void *)m->premap, m->premap_len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)m->premap) {
		pr_perror("cannot reserve %llu bytes for premapping",
			  (unsigned long long)m->premap_len);
		return -1;
	}
	pr_debug("pid %d: premap area %llx-%llx\n", it->vpid, (unsigned long long)m->premap,
		 (unsigned long long)(m->premap + m->premap_len));
	return 0;
}

/*
 * Before the task forks its children: premap and fill its private memory,
 * sharing with the parent what is the same (cow.c), and keep the premap
 * for the children, which inherit it.
 */
int premap_private(struct pstree_item *it, struct rst_mem *m)
{
	struct premap_state parent = mine;	/* what the forking parent left */
	size_t nr = rst_of(it)->mm->n_vmas;
	struct cow_fill cf = { 0 };
	struct premap_plan *plan;
	int ret = -1;

	mine = (struct premap_state){ 0 };
	if (!parent.owner || parent.owner != it->parent) {
		free(parent.plan);
		parent = (struct premap_state){ 0 };
	} else {
		cf.parent.pmes = rst_of(parent.owner)->pmes;
		cf.parent.nr = rst_of(parent.owner)->nr_pmes;
	}
	plan = plan_premap(it, &m->premap_len);
	if (!plan)
		goto out;
	cow_match(plan, nr, &parent);
	if (reserve_premap(it, m) || map_private_slots(it, plan, nr, m->premap) ||
	    fill_pages(it, plan, nr, &cf) || protect_slots(plan, nr, false))
		goto out;
	/* what is left of the parent's premap is not ours */
	if (parent.len && munmap((void *)parent.area, parent.len)) {
		pr_perror("pid %d: cannot unmap the parent's premap", it->vpid);
		goto out;
	}
	if (parent.owner)
		pr_info("pid %d: %llu pages shared with pid %d, %llu written\n", it->vpid,
			(unsigned long long)cf.shared, parent.owner->vpid,
			(unsigned long long)cf.written);
	mine = (struct premap_state){ it, plan, nr, m->premap, m->premap_len };
	plan = NULL;
	ret = 0;
out:
	free(cf.buf);
	free(plan);
	free(parent.plan);
	return ret;
}

/* After the children are forked: the shared memory, and the restorer's VMA list. */
/* The restorer's argument area that prepare_vmas() takes: rst_vma array and names. */
size_t vmas_args_size(struct pstree_item *it)
{
	MmEntry *mm = rst_of(it)->mm;

	return sizeof(struct rst_vma) * (mm->n_vmas + 1) + 7 + vma_names_size(mm);
}

int prepare_vmas(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	struct premap_plan *plan = mine.plan;
	size_t i, n = 0, nr = mine.nr;
	struct rst_vma *rv;
	int ret = -1;

	if (mine.owner != it) {
		pr_err("pid %d: its private memory was not premapped\n", it->vpid);
		return -1;
	}
	rv = bump_alloc(&m->args, sizeof(*rv) * (nr + 1), 8);
	if (!rv)
		goto out;
	for (i = 0; i < nr; i++)
		if (plan[i].slot && premap_later(plan[i].v) &&
		    premap_one(it, plan[i].v, plan[i].slot))
			goto out;
	if (protect_slots(plan, nr, true))
		goto out;
	for (i = 0; i < nr; i++) {
		VmaEntry *v = plan[i].v;

		if (v->status & VMA_AREA_VSYSCALL)
			continue;
		if (fill_rst_vma(it, m, &rv[n++], v, plan[i].slot))
			goto out;
	}
	a->vmas = (u64)(unsigned long)rv;
	a->nr_vmas = n;
	a->premap_start = m->premap;
	a->premap_end = m->premap + m->premap_len;
	ret = plan_vdso(it, a, m);
out:
	free(plan);
	mine = (struct premap_state){ 0 };
	return ret;
}

/*
 * The page count of an entry read from an image: field 5 when a CRIU 4
 * wrote it, else field 2.  Runs longer than 2^32 pages are not ours.
 */
int pagemap_entry_count(PagemapEntry *pe, const char *img)
{
	if (!pe->has_nr_pages_u64)
		return 0;
	if (pe->nr_pages_u64 > UINT32_MAX) {
		pr_err("%s: a run of %llu pages at %llx is longer than we handle\n", img,
		       (unsigned long long)pe->nr_pages_u64, (unsigned long long)pe->vaddr);
		return -1;
	}
	pe->nr_pages = pe->nr_pages_u64;
	return 0;
}
