/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_PSTREE_H
#define CR_PSTREE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/user.h>

#include "list.h"
#include "util.h"

/* task_core_entry.task_state values (format facts) */
#define TASK_ALIVE	0x1
#define TASK_DEAD	0x2
#define TASK_STOPPED	0x3

struct thread {
	pid_t tid;		/* as criu sees it */
	pid_t vtid;		/* in the task's own pid namespace */
	bool seized;
	u64 orig_sigmask;	/* its signal mask when frozen */
};

struct pstree_item {
	pid_t pid;		/* as criu sees it */
	pid_t vpid, ppid, pgid, sid;	/* in the tree's pid namespace */
	int state;
	int stop_signo;		/* the signal of its group stop, if TASK_STOPPED */
	/*
	 * The leader thread called exit while other threads run on (a zombie
	 * thread, the process alive).  At dump, pid is then a live thread's
	 * tid, through which /proc and syscalls reach the process, and
	 * leader_pid the leader's; threads[] holds the live threads only.  At
	 * restore threads[0] is the leader, whose restorer exits again.
	 */
	bool leader_exited;
	pid_t leader_pid;	/* dump: the exited leader, as criu sees it */
	u32 leader_exit_code;	/* its exit status, in wait()'s encoding */

	struct pstree_item *parent;
	struct list_head children;
	struct list_head sibling;
	struct list_head all;		/* parents before children */

	int nr_threads;
	struct thread *threads;

	void *dump;		/* per-command private state */
	void *rst;
};

extern struct list_head all_items;
extern struct pstree_item *root_item;

struct pstree_item *alloc_pstree_item(pid_t pid, struct pstree_item *parent);
void free_pstree(void);
struct pstree_item *pstree_find(pid_t pid);
struct pstree_item *pstree_find_vpid(pid_t vpid);
int pstree_count(void);

#define for_each_item(it) list_for_each_entry(it, &all_items, all)

int dump_pstree(void);
int read_pstree_image(void);

#endif
