/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_RESTORE_H
#define CR_RESTORE_H

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.h"
#include "restorer.h"

/* Everything read from the images for one task, before it is created. */
struct task_restore {
	CoreEntry **cores;		/* per thread, leader first */
	size_t nr_cores;
	MmEntry *mm;
	TaskKobjIdsEntry *ids;
	FsEntry *fs;
	FdinfoEntry **fds;
	size_t nr_fds;
	PagemapEntry **pmes;
	size_t nr_pmes;
	PagemapEntry **guards;		/* PE_GUARD runs, for MADV_GUARD_INSTALL */
	size_t nr_guards;
	u32 pages_id;
	struct rst_args *vm_args;	/* a vm child: its args in the parent's bootstrap */
};

/* cr-restore.c: read and check every image, create nothing; and undo it */
int restore_read_images(void);
void restore_free_images(void);

static inline struct task_restore *rst_of(struct pstree_item *it)
{
	return it->rst;
}

/* What a task tells criu about itself before the restorer runs. */
struct task_sync {
	pid_t pid;		/* 0 until created */
	u64 bootstrap, bootstrap_len;	/* the blob is at the start */
	u64 premap, premap_len;
	int uffd, lazy_fd;	/* lazy pages: the task's userfaultfd, criu's copy (0: none) */
};

/* The shared memory where tasks and criu meet before the restorer runs. */
struct restore_sync {
	int nr_ready;		/* tasks waiting for the go */
	int go;			/* 1: jump into the restorer; -1: give up */
	int error;		/* a task failed before the restorer */
	int maps_ready;		/* criu wrote the root's user namespace maps */
	struct task_sync tasks[];	/* in pstree order */
};
extern struct restore_sync *rsync;
struct task_sync *task_sync_of(struct pstree_item *it);

/* Carving the arguments of the restorer out of the bootstrap area. */
struct bump {
	u8 *base;
	size_t off, cap;
};
void *bump_alloc(struct bump *b, size_t size, size_t align);

/* mem.c: the bootstrap area (blob, arguments, stacks) and the premap */
struct rst_mem {
	u64 bootstrap, bootstrap_len;
	u64 premap, premap_len;
	u64 blob;		/* where the blob was copied */
	u64 stacks;		/* lowest thread stack */
	u64 park;		/* room for the vDSO set */
	struct bump args;	/* the argument area */
};
int map_bootstrap(struct pstree_item *it, size_t args_size, struct rst_mem *m);
/* before the task forks its children (premap.c, cow.c), then after */
int premap_private(struct pstree_item *it, struct rst_mem *m);
int prepare_vmas(struct pstree_item *it, struct rst_mem *m, struct rst_args *a);
size_t vmas_args_size(struct pstree_item *it);
/* Bytes of the args that the VMA names take. */
size_t vma_names_size(MmEntry *mm);
/* Shared anonymous memory, created by criu and inherited by every task. */
int prepare_shared_memory(void);
/* An entry's page count from field 5 (CRIU 4) or 2; -1 if too long. */
int pagemap_entry_count(PagemapEntry *pe, const char *img);
/* img-check.c: say what is wrong with a run (last_end: where the one before ends) */
void report_bad_run(const char *img, const PagemapEntry *pe, u64 last_end);
/* Fill a mapping of shared memory shmid from its pagemap-shmem image. */
int fill_shmem(u64 shmid, void *base, u64 size);

/* regs-x86.c: the rt_sigframe a thread returns through */
size_t sigframe_size(void);
int build_sigframe(void *frame_area, CoreEntry *core, u64 *rsp);

/* sigact.c, timers.c, creds.c, rlimits.c, signals.c: fill the args */
int prepare_sigactions(struct rst_args *a, TaskCoreEntry *tc);
int prepare_itimers(struct rst_args *a, TaskCoreEntry *tc);
size_t posix_timers_size(TaskCoreEntry *tc);
int prepare_posix_timers(struct rst_args *a, TaskCoreEntry *tc, void *room);
int prepare_creds(struct rst_creds *rc, CredsEntry *ce, pid_t tid);
int prepare_rlimits(struct rst_args *a, TaskCoreEntry *tc);
size_t siginfo_size(SignalQueueEntry *q);
int prepare_siginfo(SignalQueueEntry *q, void *room, u32 *nr);
/* fs.c */
int restore_fs(struct pstree_item *it);
/* The root of the task (chroot), the last step before the restorer. */
int restore_fs_root(struct pstree_item *it);

/* sched.c: before the tree is forked, may this user set what the image asks for? */
struct rst_thread;
int check_restore_sched(struct pstree_item *it);
void prepare_thread_sched(ThreadCoreEntry *tce, struct rst_thread *t);

/*
 * seccomp.c: read and check seccomp.img and every thread's mode; refuse
 * when criu cannot suspend seccomp in the tasks it restores.
 */
int seccomp_prepare_restore(void);
/* some thread is under seccomp: seize with PTRACE_O_SUSPEND_SECCOMP */
bool seccomp_restore_needed(void);
/* drop what seccomp_prepare_restore() read (the fuzzer reads again) */
void seccomp_restore_forget(void);
size_t seccomp_args_size(struct pstree_item *it);
/* after the threads' args (th, leader first) are filled */
int seccomp_prepare_args(struct pstree_item *it, struct bump *b, struct rst_args *a,
			 struct rst_thread *th);

#endif
