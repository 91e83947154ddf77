// SPDX-License-Identifier: GPL-2.0
/*
 * Restore through a chain of dumps: a pagemap entry with PE_PARENT has
 * its pages in DIR/parent (a symlink to the previous dump), or further
 * up if that dump left them to its own parent.  Each level's pagemap of
 * the task is loaded once, with the offset of every run in its pages file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"
#include "log.h"
#include "page-chain.h"
#include "pagemap.pb-c.h"
#include "restore.h"
#include "vma.h"

#define MAX_DEPTH	64

struct chain_run {
	u64 start, end;
	off_t off;		/* in the level's pages file; -1: in its parent */
};

struct chain_level {
	int dfd;
	int pages_fd;
	struct chain_run *runs;
	size_t nr;
};

static struct chain_level levels[MAX_DEPTH];
static char why[256];		/* what went wrong, for the caller's one line */
static int nr_levels;
static int chain_vpid = -1;

void page_chain_fini(void)
{
	int i;

	for (i = 0; i < nr_levels; i++) {
		close_safe(&levels[i].dfd);
		close_safe(&levels[i].pages_fd);
		free(levels[i].runs);
	}
	memset(levels, 0, sizeof(levels));
	nr_levels = 0;
	chain_vpid = -1;
}

static bool pe_in_parent(const PagemapEntry *pe)
{
	return (pe->has_flags && (pe->flags & PE_PARENT)) || (pe->has_in_parent && pe->in_parent);
}

static int add_run(struct chain_level *l, const PagemapEntry *pe, off_t *off)
{
	struct chain_run *n = xrealloc(l->runs, (l->nr + 1) * sizeof(*n));
	u64 len = (u64)pe->nr_pages * PAGE_SIZE;

	if (!n)
		return -1;
	l->runs = n;
	n[l->nr].start = pe->vaddr;
	n[l->nr].end = pe->vaddr + len;
	if (pe_in_parent(pe)) {
		n[l->nr].off = -1;
	} else {
		n[l->nr].off = *off;
		*off += len;
	}
	l->nr++;
	return 0;
}

static int read_level_pagemap(struct chain_level *l, int vpid)
{
	struct cr_img *img = open_image_at(l->dfd, CR_FD_PAGEMAP, O_RSTR, (unsigned long)vpid);
	PagemapHead *ph;
	char name[64];
	off_t off = 0;
	int ret = -1;

	if (!img) {
		snprintf(why, sizeof(why), "its pagemap-%d.img cannot be read", vpid);
		return -1;
	}
	if (pb_read_one(img, (void **)&ph, &pagemap_head__descriptor) < 0) {
		snprintf(why, sizeof(why), "its pagemap-%d.img has no header", vpid);
		goto out;
	}
	snprintf(name, sizeof(name), image_name_fmt(CR_FD_PAGES), (unsigned long)ph->pages_id);
	pb_free(ph);
	l->pages_fd = openat(l->dfd, name, O_RDONLY | O_CLOEXEC);
	if (l->pages_fd < 0) {
		snprintf(why, sizeof(why), "its %s cannot be opened: %s", name, strerror(errno));
		goto out;
	}
	for (;;) {
		PagemapEntry *pe;
		int r = pb_read_one_eof(img, (void **)&pe, &pagemap_entry__descriptor);

		if (r <= 0) {
			ret = r;
			if (r < 0)
				snprintf(why, sizeof(why), "its pagemap-%d.img is damaged", vpid);
			break;
		}
		/* guards and lazy runs hold no pages */
		if (pagemap_entry_count(pe, img->name) ||
		    (pe->has_flags && (pe->flags & PE_GUARD)) ||
		    (pe->has_flags && !(pe->flags & (PE_PRESENT | PE_PARENT)) &&
		     !pe_in_parent(pe))) {
			pb_free(pe);
			continue;
		}
		r = add_run(l, pe, &off);
		pb_free(pe);
		if (r)
			break;
	}
out:
	close_image(img);
	return ret;
}

static struct chain_level *get_level(int depth, int vpid)
{
	struct chain_level *l;
	int up;

	if (chain_vpid != vpid)
		page_chain_fini();
	chain_vpid = vpid;
	while (nr_levels <= depth) {
		if (nr_levels == MAX_DEPTH) {
			snprintf(why, sizeof(why), "the chain of parent dumps is longer than %d",
				 MAX_DEPTH);
			return NULL;
		}
		up = nr_levels ? levels[nr_levels - 1].dfd : get_image_dir_fd();
		l = &levels[nr_levels];
		l->pages_fd = -1;
		l->dfd = openat(up, "parent", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (l->dfd < 0) {
			snprintf(why, sizeof(why), "%s cannot be opened (%s): dump with "
				 "--prev-images-dir", nr_levels ? "its parent link" : "the parent link",
				 strerror(errno));
			return NULL;
		}
		nr_levels++;
		if (read_level_pagemap(l, vpid))
			return NULL;
	}
	return &levels[depth];
}

static int read_piece(int fd, off_t off, u64 addr, u64 len, u8 *dst, void *arg)
{
	(void)addr;
	(void)arg;
	return pread_all(fd, dst, len, off) == (ssize_t)len ? 0 : -1;
}

static int chain_read(int depth, int vpid, u64 addr, u64 len, u8 *dst, page_chain_fn fn,
		      void *arg)
{
	struct chain_level *l = get_level(depth, vpid);
	size_t i = 0;

	if (!l)
		return -1;
	while (len) {
		u64 n;

		while (i < l->nr && l->runs[i].end <= addr)
			i++;
		if (i == l->nr || l->runs[i].start > addr) {
			snprintf(why, sizeof(why), "the parent dump (level %d) lacks the page at %llx",
				 depth + 1, (unsigned long long)addr);
			return -1;
		}
		n = min(len, l->runs[i].end - addr);
		if (l->runs[i].off < 0) {
			if (chain_read(depth + 1, vpid, addr, n, dst, fn, arg))
				return -1;
		} else if (fn(l->pages_fd, l->runs[i].off + (off_t)(addr - l->runs[i].start),
			      addr, n, dst, arg)) {
			snprintf(why, sizeof(why), "the pages at %llx of the parent dump (level %d) "
				 "cannot be read: %s", (unsigned long long)addr, depth + 1,
				 strerror(errno));
			return -1;
		}
		addr += n;
		if (dst)
			dst += n;
		len -= n;
	}
	return 0;
}

static int no_read(int fd, off_t off, u64 addr, u64 len, u8 *dst, void *arg)
{
	(void)fd;
	(void)off;
	(void)addr;
	(void)len;
	(void)dst;
	(void)arg;
	return 0;
}

int page_chain_read(int vpid, u64 addr, u64 len, void *dst)
{
	return page_chain_each(vpid, addr, len, dst, read_piece, NULL);
}

int page_chain_each(int vpid, u64 addr, u64 len, void *dst, page_chain_fn fn, void *arg)
{
	if (!chain_read(0, vpid, addr, len, dst, fn, arg))
		return 0;
	pr_err("pid %d: pages at %llx are in the parent image, but %s\n", vpid,
	       (unsigned long long)addr, why);
	return -1;
}

int page_chain_check(int vpid, u64 addr, u64 len, const char **reason)
{
	int ret = chain_read(0, vpid, addr, len, NULL, no_read, NULL);

	*reason = why;
	return ret;
}
