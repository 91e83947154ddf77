// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write sharing of private memory at restore.  The images hold a
 * full copy of every process's pages, so pages that a parent and its
 * children shared at dump time would come back once per process.  Each
 * task therefore premaps and fills its private memory before it forks
 * its children; a child inherits that premap, takes over the parent's
 * slot of each VMA it has the same way (moved into its own premap) and
 * writes only the pages whose dumped contents differ from the parent's.
 * Every other page stays the parent's physical page, shared again
 * copy-on-write, so a later write by either is seen by nobody else.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow.h"
#include "log.h"
#include "restore.h"
#include "vma.h"

#define COW_BUF_SIZE	(16UL << 20)	/* of the image looked at at once */

/*
 * Whether child VMA c can come from the parent's VMA p: of the same kind,
 * within it (the parent's may have grown or merged since the fork, a
 * child's VMA cannot merge with an inherited one), at the same file offset.
 */
static bool inherited_vma(const VmaEntry *p, const VmaEntry *c)
{
	const u32 kind = VMA_ANON_PRIVATE | VMA_FILE_PRIVATE;
	const u32 other = VMA_ANON_SHARED | VMA_AREA_SYSVIPC | VMA_AREA_VDSO | VMA_AREA_VVAR;

	if (c->start < p->start || c->end > p->end || !(c->status & kind) ||
	    (c->status & kind) != (p->status & kind) || (c->status & other) ||
	    (p->status & other))
		return false;
	if ((c->flags & MAP_GROWSDOWN) != (p->flags & MAP_GROWSDOWN))
		return false;
	/* a file mapping must be of the same anchor at the same offset */
	return !(c->status & VMA_FILE_PRIVATE) ||
	       (c->shmid == p->shmid && c->pgoff == p->pgoff + (c->start - p->start));
}

void cow_match(struct premap_plan *plan, size_t nr, const struct premap_state *parent)
{
	size_t i, j = 0;

	if (!parent->plan)
		return;
	for (i = 0; i < nr; i++) {
		VmaEntry *v = plan[i].v;
		const struct premap_plan *pp;

		plan[i].from = 0;
		if (!plan[i].slot)
			continue;
		while (j < parent->nr && parent->plan[j].v->end <= v->start)
			j++;
		if (j == parent->nr)
			break;
		pp = &parent->plan[j];
		if (pp->slot && inherited_vma(pp->v, v))
			plan[i].from = pp->slot + (v->start - pp->v->start);
	}
}

static u64 pme_end(const PagemapEntry *pe)
{
	return pe->vaddr + (u64)pe->nr_pages * PAGE_SIZE;
}

static int drop_range(struct pstree_item *it, const struct premap_plan *p, u64 from, u64 to)
{
	if (to <= from)
		return 0;
	/* a private mapping reads zeros (anonymous) or the file's page again */
	if (madvise((void *)(p->slot + from - p->v->start), to - from, MADV_DONTNEED)) {
		pr_perror("pid %d: cannot drop inherited pages %llx-%llx", it->vpid,
			  (unsigned long long)from, (unsigned long long)to);
		return -1;
	}
	return 0;
}

int cow_take(struct pstree_item *it, struct premap_plan *p, size_t *pi)
{
	struct task_restore *tr = rst_of(it);
	VmaEntry *v = p->v;
	u64 len = v->end - v->start, pos = v->start;
	void *r;

	r = mremap((void *)p->from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)p->slot);
	if (r != (void *)p->slot) {
		pr_perror("pid %d: cannot take the parent's premapped pages %llx-%llx", it->vpid,
			  (unsigned long long)v->start, (unsigned long long)v->end);
		return -1;
	}
	/* compared and written before it gets its own protection */
	if (mprotect(r, len, PROT_READ | PROT_WRITE)) {
		pr_perror("pid %d: cannot unprotect VMA %llx", it->vpid,
			  (unsigned long long)v->start);
		return -1;
	}
	/* pages the child does not have at all must not stay the parent's */
	while (*pi < tr->nr_pmes && pme_end(tr->pmes[*pi]) <= v->start)
		(*pi)++;
	for (; *pi < tr->nr_pmes && tr->pmes[*pi]->vaddr < v->end; (*pi)++) {
		PagemapEntry *pe = tr->pmes[*pi];

		if (drop_range(it, p, pos, pe->vaddr))
			return -1;
		pos = pme_end(pe);
		if (pos > v->end)
			break;
	}
	return drop_range(it, p, pos, v->end);
}

/* Whether the parent's dump had the page at addr (so its slot holds it, anonymous). */
static bool parent_has(struct cow_cursor *c, u64 addr)
{
	while (c->i < c->nr && pme_end(c->pmes[c->i]) <= addr)
		c->i++;
	return c->i < c->nr && c->pmes[c->i]->vaddr <= addr;
}

static int read_exact(int fd, u8 *buf, size_t len, off_t off, struct pstree_item *it)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off);

		if (n <= 0) {
			if (n < 0)
				pr_perror("pid %d: cannot read pages at %lld", it->vpid,
					  (long long)off);
			else
				pr_err("pid %d: the pages image is truncated at %lld\n", it->vpid,
				       (long long)off);
			return -1;
		}
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* Compare and write n bytes of pages from src to dst, page by page. */
static void cow_pages(struct cow_fill *cf, u64 vaddr, u8 *dst, const u8 *src, u64 n)
{
	u64 p;

	for (p = 0; p < n; p += PAGE_SIZE) {
		/* only the parent's own pages are compared: others would fault in */
		if (parent_has(&cf->parent, vaddr + p) && !memcmp(dst + p, src + p, PAGE_SIZE)) {
			cf->shared++;
			continue;
		}
		memcpy(dst + p, src + p, PAGE_SIZE);
		cf->written++;
	}
}

/*
 * The image's pages are looked at where they are, in the page cache (a
 * copy into a buffer would cost as much as the compare); if the image
 * cannot be mapped, they are read.
 */
static const u8 *cow_src(struct pstree_item *it, int fd, off_t off, u64 n, struct cow_fill *cf)
{
	struct stat st;
	void *p;

	if (!cf->size_known) {
		if (fstat(fd, &st)) {
			pr_perror("pid %d: cannot stat the pages image", it->vpid);
			return NULL;
		}
		cf->size = st.st_size;
		cf->size_known = true;
	}
	if (off + n > cf->size) {
		pr_err("pid %d: the pages image is truncated at %lld\n", it->vpid,
		       (long long)cf->size);
		return NULL;
	}
	p = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, off);
	if (p != MAP_FAILED) {
		cf->mapped = true;
		return p;
	}
	cf->mapped = false;
	if (!cf->buf && !(cf->buf = malloc(COW_BUF_SIZE))) {
		pr_err("pid %d: no memory for a page buffer\n", it->vpid);
		return NULL;
	}
	return read_exact(fd, cf->buf, n, off, it) ? NULL : cf->buf;
}

int cow_fill_run(struct pstree_item *it, int fd, off_t off, PagemapEntry *pe, u64 dst,
		 struct cow_fill *cf)
{
	u64 len = (u64)pe->nr_pages * PAGE_SIZE, done, n;

	for (done = 0; done < len; done += n) {
		const u8 *src;

		n = len - done < COW_BUF_SIZE ? len - done : COW_BUF_SIZE;
		src = cow_src(it, fd, off + done, n, cf);
		if (!src)
			return -1;
		cow_pages(cf, pe->vaddr + done, (u8 *)(dst + done), src, n);
		if (cf->mapped)
			munmap((void *)src, n);
	}
	return 0;
}
