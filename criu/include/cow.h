/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_COW_H
#define CR_COW_H

/* premap.c and cow.c: private memory shared copy-on-write with the parent. */
#include <stdbool.h>
#include <sys/types.h>

#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.h"
#include "util.h"

/* One VMA of a task's premap. */
struct premap_plan {
	VmaEntry *v;
	u64 slot;		/* 0: not premapped */
	u64 from;		/* the parent's slot it was moved from, 0: its own */
};

/* A task's premap, kept (and inherited by fork) for the children it forks. */
struct premap_state {
	struct pstree_item *owner;
	struct premap_plan *plan;
	size_t nr;
	u64 area, len;
};

/* The dumped pages of the parent, walked in address order. */
struct cow_cursor {
	PagemapEntry **pmes;
	size_t nr, i;
};

/* One task's fill of the VMAs it took from its parent. */
struct cow_fill {
	struct cow_cursor parent;
	u64 shared, written;	/* pages */
	u8 *buf;		/* pages read, if the image cannot be mapped; freed by the caller */
	bool mapped, size_known;
	u64 size;		/* of the pages image */
};

/* Sets plan[].from for each private VMA the parent premapped the same way. */
void cow_match(struct premap_plan *plan, size_t nr, const struct premap_state *parent);
/* Moves the inherited slot into ours and drops what the child does not have. */
int cow_take(struct pstree_item *it, struct premap_plan *p, size_t *pi);
/* Fills a run of dumped pages, writing only those that differ from the parent's. */
int cow_fill_run(struct pstree_item *it, int fd, off_t off, PagemapEntry *pe, u64 dst,
		 struct cow_fill *cf);

#endif
