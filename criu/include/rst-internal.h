/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_RST_INTERNAL_H
#define CR_RST_INTERNAL_H

/* Shared by cr-restore.c, rst-task.c, rst-args.c and rst-finish.c only. */
#include <linux/futex.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pstree.h"
#include "restore.h"

extern pid_t root_pid;		/* the root task as criu sees it */

static inline long futex(int *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* rst-task.c */
int fork_task(struct pstree_item *it);
int fork_task_flags(struct pstree_item *it, unsigned long extra);
long clone3_soon_free(struct clone_args *ca);
void __attribute__((noreturn)) task_failed(void);

/* rst-session.c */
int plan_sessions(void);
/* drop the plan (the fuzzer reads the images again) */
void forget_sessions(void);
int fork_by_helper(struct pstree_item *child);
int nr_session_helpers(void);
pid_t session_helper_pid(int i);

/* rst-args.c */
int prepare_args(struct pstree_item *it, struct rst_mem *m, struct rst_args **out);

/* rst-finish.c */
int resolve_host_pids(void);
int seize_tasks(void);
int interrupt_tasks(void);
int cont_all(void);
int run_to_sigreturn(int nr_threads, u64 deadline);
int finish_task(struct pstree_item *it);
void detach_all(void);

#endif
