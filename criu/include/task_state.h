/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dump helpers for the kinds of per-task state that live in core-PID.img,
 * one source file per kind, each with its restore counterpart.
 */
#ifndef CR_TASK_STATE_H
#define CR_TASK_STATE_H

#include <sys/types.h>

#include "core.pb-c.h"
#include "infect.h"
#include "proc_parse.h"
#include "pstree.h"
#include "util.h"

/* sigact.c: every signal's disposition, read by rt_sigaction in the task */
int dump_sigactions(struct remote_ctl *rc, struct arena *a, TaskCoreEntry *tc);

/* signals.c: pending signals of a thread (private) or of the process */
int dump_pending_signals(struct thread *t, bool shared, struct arena *a,
			 SignalQueueEntry **out);

/* timers.c: setitimer and timer_create timers */
int dump_timers(struct remote_ctl *rc, struct arena *a, TaskCoreEntry *tc);

/* creds.c; st is the thread's /proc status: its ids and capabilities */
int dump_creds(const struct proc_status *st, pid_t tid, struct remote_ctl *rc, struct arena *a,
	       CredsEntry **out);

/* rlimits.c */
int dump_rlimits(pid_t pid, struct arena *a, TaskRlimitsEntry **out);

/* fs.c: cwd, root (as file ids) and umask into fs-PID.img */
int dump_fs(struct pstree_item *it, unsigned int umask);

/* sched.c: CPU affinity and I/O priority per thread */
int dump_thread_sched(pid_t tid, struct arena *a, ThreadCoreEntry *tce);
/* the process's membarrier registrations, asked in the task */
int dump_membarrier(struct remote_ctl *rc, pid_t pid, TaskCoreEntry *tc);

/* seccomp.c: mode per thread, filters into seccomp.img */
/* After the freeze: PTRACE_O_SUSPEND_SECCOMP on every thread under seccomp. */
int seccomp_suspend_tree(void);
int dump_seccomp_thread(pid_t pid, pid_t tid, const struct proc_status *st,
			ThreadCoreEntry *tce);
int seccomp_dump_fini(void);

#endif
