/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_MEM_INTERNAL_H
#define CR_MEM_INTERNAL_H

/* Shared between mem.c (pages), shmem.c and premap.c; not for other callers. */
#include "image.h"
#include "list.h"
#include "util.h"

#define COPY_BUF_SIZE	(4UL << 20)	/* one buffer of the dump's copy ring */

/* mem.c: the copy buffer and the pages-N.img numbering of the dump */
int mem_ring_drain(void);
u8 *mem_copy_buf(void);
unsigned int mem_next_pages_id(void);
int mem_write_run(struct cr_img *pm_img, u64 addr, u64 nr_pages);

/* shmem.c: a shared object criu created at restore, mapped at addr */
struct shmem_obj {
	struct list_head list;
	struct shmem_obj *hnext;
	u64 shmid;
	u64 addr, size;
};
struct shmem_obj *find_shmem(u64 shmid);

#endif
