/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel tables that processes share without being threads of one
 * another (clone with CLONE_FILES, CLONE_FS, CLONE_VM, CLONE_SIGHAND but
 * not CLONE_THREAD): the ids of ids-PID.img say who shares what.
 */
#ifndef CR_SHARED_H
#define CR_SHARED_H

#include <stdbool.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "pstree.h"
#include "util.h"

/* Dump: give every live process its vm, files, fs and sighand ids (kcmp). */
int dump_shared_ids(void);
/* Copy the ids of it into ids. */
void dump_fill_ids(struct pstree_item *it, TaskKobjIdsEntry *ids);
/* Dump: is it the first process of the tree with its fd table? */
bool dump_files_first(struct pstree_item *it);
void dump_shared_fini(void);
/* A child of thread tid of pid that runs on its memory (vfork), or 0. */
pid_t vfork_child(pid_t pid, pid_t tid);

/* Restore: check that every shared table can be rebuilt. */
int check_shared_restore(void);
/* The CLONE_FILES / CLONE_FS that it takes from its parent. */
unsigned long share_clone_flags(struct pstree_item *it);
/* Does any other live process of the tree have the fd table of it? */
bool files_shared(struct pstree_item *it);
/* Is it the highest process of the tree with its fd table? */
bool files_table_owner(struct pstree_item *it);

/* Does it share the mm of its parent (clone(CLONE_VM) without CLONE_THREAD)? */
bool is_vm_child(struct pstree_item *it);
/* CLONE_SIGHAND if the vm child it shares its parent's signal handlers. */
unsigned long vm_clone_flags(struct pstree_item *it);
int nr_vm_children(struct pstree_item *it);
/* Threads with a stack in the bootstrap area of it: its own and its vm children's. */
int vm_threads(struct pstree_item *it);
struct rst_mem;
struct rst_args;
/* The part of a vm child's args that only it needs: session, fds, fs. */
int prepare_vm_child(struct pstree_item *c, struct rst_mem *m, struct rst_args *a);
size_t vm_child_args_size(struct pstree_item *c);
/* Create the vm children of it into the blob's vm_child_main at entry. */
int create_vm_children(struct pstree_item *it, u64 entry);

#endif
