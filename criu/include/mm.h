/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_MM_H
#define CR_MM_H

#include <stdbool.h>

#include "proc_parse.h"
#include "pstree.h"
#include "vma.h"

struct rst_mem;
struct rst_args;

/* What the dump of a task has learnt about its mm besides /proc/PID/stat. */
struct mm_dump {
	const struct proc_pid_stat *stat;
	u64 brk;			/* brk(0) run in the task */
	long dumpable;			/* PR_GET_DUMPABLE run in the task */
	bool thp_disabled;
	u32 mlockall;			/* MCL_FUTURE, MCL_ONFAULT */
	struct vm_area_list *vmas;
};

/* Write mm-PID.img: the mm fields, auxv, exe and the VMAs. */
int dump_mm(struct pstree_item *it, const struct mm_dump *d);

/*
 * Before the tree is forked: refuse an mm image that PR_SET_MM_MAP would
 * refuse, naming the field and its value.  validate_mm_map() checks the
 * fields (as the images are read: no side effect), validate_mm_exe() the
 * exe once the anchors are open.
 */
int validate_mm_map(struct pstree_item *it);
int validate_mm_exe(struct pstree_item *it);
/* The restorer's argument area that prepare_mm_map() takes. */
size_t mm_map_args_size(struct pstree_item *it);
/* Fill rst_args.mm (and its auxv) for the restorer's PR_SET_MM_MAP. */
int prepare_mm_map(struct pstree_item *it, struct rst_mem *m, struct rst_args *a);

#endif
