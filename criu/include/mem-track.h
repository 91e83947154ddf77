/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_MEM_TRACK_H
#define CR_MEM_TRACK_H

#include <stdbool.h>
#include <sys/types.h>

#include "pstree.h"
#include "util.h"
#include "vma.h"

struct remote_ctl;

/* PAGEMAP_SCAN (linux/fs.h, 6.7): older system headers lack it */
struct cr_page_region {
	u64 start;
	u64 end;
	u64 categories;
};

/* its categories (PAGE_IS_*) */
#define CR_PAGE_IS_WPALLOWED	(1 << 0)
#define CR_PAGE_IS_WRITTEN	(1 << 1)
#define CR_PAGE_IS_FILE		(1 << 2)
#define CR_PAGE_IS_PRESENT	(1 << 3)
#define CR_PAGE_IS_SWAPPED	(1 << 4)
#define CR_PAGE_IS_PFNZERO	(1 << 5)
#define CR_PAGE_IS_GUARD	(1 << 8)

/* One parent run of pages: [start, end). */
struct track_run {
	u64 start, end;
};

/*
 * What a dump may take from its parent for one VMA: present pages that
 * the parent holds and that are neither written since nor the zero page.
 */
struct track_vma {
	bool tracked;
	struct cr_page_region *dirty;	/* sorted: written or zero-pfn */
	size_t nr_dirty, di;
	const struct track_run *par;	/* sorted: the parent's runs */
	size_t nr_par, pi;
};

/* --track-mem / pre-dump: set up or take over write tracking. */
bool mem_track_on(void);
/* Before the freeze: the uffds of the previous dump, the parent link. */
int mem_track_prepare(void);
/* In the remote-call phase: a uffd for the task (its VMAs are registered later). */
int mem_track_task(struct remote_ctl *rc, struct pstree_item *it);
/* For one private VMA while frozen: scan (and re-protect) its written pages. */
int mem_track_vma(pid_t pid, int vpid, const VmaEntry *e, struct track_vma *tv);
bool mem_track_in_parent(struct track_vma *tv, u64 addr);
int mem_track_present(int fd, u64 start, u64 end, struct cr_page_region **out, size_t *nr);
u64 mem_track_parent_until(struct track_vma *tv, size_t *di, size_t *pi, u64 addr, u64 end);
u64 mem_track_next_stretch(struct track_vma *tv, size_t *di, size_t *pi, u64 addr, u64 end);
void mem_track_vma_done(struct track_vma *tv);
/* After the dump: pre-dump or dump -R hands the uffds to a keeper; dump drops them. */
int mem_track_finish(bool ok);
/* criu check --feature mem_dirty_track: 1 when tracking works here. */
int mem_track_works(void);

/* pre-dump.c: the keeper of the uffds between two dumps */
struct track_fd {
	pid_t pid;
	u64 start_time;		/* /proc/PID/stat field 22: tells pid reuse */
	int fd;
};
int keeper_start(const char *dir, struct track_fd *t, size_t n);
/* Take the uffds from the keeper named in dir; 0 with *n = 0 if there is none. */
int keeper_fetch(int dirfd, struct track_fd **t, size_t *n);

#endif
