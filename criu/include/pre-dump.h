/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_PRE_DUMP_H
#define CR_PRE_DUMP_H

#include "pstree.h"
#include "util.h"
#include "vma.h"

/* criu pre-dump: the memory of the tree, which runs on; tracking kept. */
int cr_pre_dump_tasks(pid_t pid);

/* from cr-dump.c */
int fill_item_ids(struct pstree_item *it);
u64 exec_addr(struct vm_area_list *vl);

/* cr-dump.c: stats-dump.img, for a dump (shmem counts too) or a pre-dump */
int write_dump_stats(u64 freezing, u64 frozen, bool shmem);

#endif
