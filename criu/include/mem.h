/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_MEM_H
#define CR_MEM_H

#include "pstree.h"
#include "vma.h"

struct dump_stats {
	u64 pages_scanned;
	u64 pages_written;
	u64 shpages_scanned;
	u64 shpages_written;
	u64 pages_parent;	/* left to the parent dump */
	u64 memdump_us;
	u64 memwrite_us;
};
extern struct dump_stats dstats;

/* Read the VMAs of pid from /proc/PID/smaps. */
int collect_vmas(pid_t pid, struct vm_area_list *vl);
void vmas_read_early(pid_t root);
void vmas_early_fini(void);
u64 task_rss_bytes(pid_t pid);
int read_mlockall(pid_t pid, u64 fresh, u32 *mcl);
/* Write pagemap-PID.img and its pages image; sps: the threads' stack pointers, sorted. */
int dump_private_pages(struct pstree_item *it, struct vm_area_list *vl, const u64 *sps,
		       int nr_sps);
/* Write the contents of a shmem file (shared anon mapping, memfd). */
int dump_shmem_file(int fd, u64 shmid, u64 size);
/* A MAP_SHARED anonymous mapping: through map_files, or its mapping. */
int dump_shared_anon(pid_t pid, u64 start, u64 end, u64 pgoff, u64 shmid);
/* pre-dump: list and protect pages while frozen, copy them once it runs. */
void mem_defer_copies(bool on);
int mem_copy_deferred(void);
int mem_dump_init(bool early_writeback, u64 expect_bytes);
void mem_dump_fini(void);

#endif
