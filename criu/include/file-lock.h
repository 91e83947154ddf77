/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_FILE_LOCK_H
#define CR_FILE_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "files.h"
#include "restorer.h"

/* file_lock_entry.flag (format facts) */
#define FL_POSIX	1
#define FL_FLOCK	2
#define FL_OFD		4

/* Dump: note the locks the fdinfo of p shows; refused without --file-locks. */
int dump_fd_locks(const struct fd_parms *p, pid_t vpid, u32 id);
/* Dump: a file VMA of it (file id id), where a lock may be held with no fd. */
struct vma_area;
int note_mapped_file(struct pstree_item *it, const struct vma_area *v, u32 id);
/*
 * Dump, every task done and the tree still frozen: the locks of the tree
 * that /proc/locks shows and no fdinfo did, held through a mapping.
 */
int dump_mapped_locks(void);
/* Dump: write filelocks.img (with --file-locks) and forget the locks. */
int file_locks_dump_fini(void);

/* Restore: read filelocks.img and check every lock names a task's fd. */
int collect_file_locks(void);
/* Restore, in the task once its fds are in place: its flock and OFD locks. */
int restore_desc_locks(struct pstree_item *it);
/* Restore: room for, and the list of, the POSIX locks the restorer takes. */
size_t posix_locks_size(struct pstree_item *it);
int prepare_posix_locks(struct pstree_item *it, struct rst_args *a, void *room);

#endif
