/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_MEM_INTERNAL_H
#define CR_MEM_INTERNAL_H

/* Shared between mem.c (pages), shmem.c and premap.c; not for other callers. */
#include "image.h"
#include "list.h"
#include "util.h"

#define COPY_BUF_SIZE	(4UL << 20)	/* one buffer of the dump's copy ring */

#define MAX_HDRS	1024	/* page server commands per buffer */

struct page_server_iov;

/* mem-ring.c: one buffer of the ring, and what it holds */
struct copy_slot {
	u8 *data;
	size_t len;
	struct cr_img *img;
	/* --page-server: the commands whose pages fill data, in order */
	struct page_server_iov *hdrs;
	unsigned int nr_hdrs;
};
int mem_ring_init(bool early_writeback, u64 expect_bytes);
void mem_ring_fini(void);
struct copy_slot *mem_ring_get(void);
void mem_ring_put(struct copy_slot *sl, struct cr_img *img, size_t len);
int mem_ring_drain(void);
struct copy_slot *mem_ring_idle(void);
int mem_ring_write_now(struct copy_slot *sl, struct cr_img *img, size_t len);
u8 *mem_copy_buf(void);

/* mem.c: the pages-N.img numbering of the dump */
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
