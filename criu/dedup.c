// SPDX-License-Identifier: GPL-2.0
/*
 * Deduplication of a dump chain (--auto-dedup, as CRIU names it): a page
 * this dump saved again is dead in the parent, which now only serves the
 * pages this dump left to it (PE_PARENT).  The parent's copy becomes a
 * hole (FALLOC_FL_PUNCH_HOLE, the file keeps its size, so every offset of
 * its pagemap stays right); page-chain.c finds where in the chain it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "dedup.h"
#include "image.h"
#include "log.h"
#include "page-chain.h"
#include "pagemap.pb-c.h"
#include "pstree.h"
#include "restore.h"
#include "vma.h"

struct dedup_count {
	u64 bytes;
};

/* page_chain_each's callback: the level that holds [off, off + len) drops it */
static int punch(int fd, off_t off, u64 addr, u64 len, u8 *dst, void *arg)
{
	struct dedup_count *c = arg;
	char path[64];
	int wfd;

	(void)addr;
	(void)dst;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	wfd = open(path, O_WRONLY | O_CLOEXEC);
	if (wfd < 0 || fallocate(wfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len)) {
		pr_perror("auto-dedup: cannot punch %llu bytes out of a parent pages file",
			  (unsigned long long)len);
		if (wfd >= 0)
			close(wfd);
		return -1;
	}
	close(wfd);
	c->bytes += len;
	return 0;
}

/* A run this dump saved: the parent's copy of each page it has goes. */
static int dedup_run(int vpid, u64 addr, u64 len, struct dedup_count *c)
{
	const char *why;
	u64 a;

	if (!page_chain_check(vpid, addr, len, &why))
		return page_chain_each(vpid, addr, len, NULL, punch, c);
	/* partly new pages: page by page, the ones the chain has */
	for (a = addr; a < addr + len; a += PAGE_SIZE)
		if (!page_chain_check(vpid, a, PAGE_SIZE, &why) &&
		    page_chain_each(vpid, a, PAGE_SIZE, NULL, punch, c))
			return -1;
	return 0;
}

static int dedup_task(int vpid, struct dedup_count *c)
{
	struct cr_img *img = open_image(CR_FD_PAGEMAP, O_RSTR, (unsigned long)vpid);
	PagemapHead *ph;
	int ret = -1;

	if (!img)
		return -1;
	if (pb_read_one(img, (void **)&ph, &pagemap_head__descriptor) < 0)
		goto out;
	pb_free(ph);
	for (;;) {
		PagemapEntry *pe;
		int r = pb_read_one_eof(img, (void **)&pe, &pagemap_entry__descriptor);

		if (r <= 0) {
			ret = r;
			break;
		}
		r = 0;
		if (!pagemap_entry_count(pe, img->name) && pe->has_flags &&
		    (pe->flags & PE_PRESENT) && !(pe->flags & (PE_PARENT | PE_GUARD)))
			r = dedup_run(vpid, pe->vaddr, (u64)pe->nr_pages * PAGE_SIZE, c);
		pb_free(pe);
		if (r)
			break;
	}
out:
	close_image(img);
	page_chain_fini();
	return ret;
}

int dedup_parent_pages(void)
{
	struct dedup_count c = { 0 };
	struct pstree_item *it;

	if (faccessat(get_image_dir_fd(), "parent", F_OK, 0)) {
		pr_info("auto-dedup: no parent dump, nothing to do\n");
		return 0;
	}
	for_each_item(it)
		if (it->state != TASK_DEAD && dedup_task(it->vpid, &c))
			return -1;
	pr_info("auto-dedup: %llu bytes of the parent dumps punched out\n",
		(unsigned long long)c.bytes);
	return 0;
}
