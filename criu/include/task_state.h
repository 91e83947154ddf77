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

/*
 * sigact.c: every signal's disposition, read by rt_sigaction in the task:
 * sigaction_calls() fills SIGACTION_CALLS entries of a batch (results in
 * area, 32 bytes each), dump_sigactions() reads what they returned.
 */
#define SIGACTION_CALLS 64
void sigaction_calls(struct remote_call *c, u64 area);
int dump_sigactions(struct remote_ctl *rc, struct arena *a, TaskCoreEntry *tc,
		    const struct remote_call *c, u64 area);

/* signals.c: pending signals of a thread (private) or of the process */
int dump_pending_signals(struct thread *t, bool shared, struct arena *a,
			 SignalQueueEntry **out);

/* timers.c: setitimer timers (ITIMER_CALLS batch entries, results in area), timer_create ones */
#define ITIMER_CALLS 3
void itimer_calls(struct remote_call *c, u64 area);
int dump_timers(struct remote_ctl *rc, struct arena *a, TaskCoreEntry *tc,
		const struct remote_call *c, u64 area);

/* creds.c; st is the thread's /proc status: its ids and capabilities; secbits as read in it */
int dump_creds(const struct proc_status *st, pid_t tid, long secbits, struct arena *a,
	       CredsEntry **out);

/* rlimits.c */
int dump_rlimits(pid_t pid, struct arena *a, TaskRlimitsEntry **out);

/* fs.c: cwd, root (as file ids) and umask into fs-PID.img */
int dump_fs(struct pstree_item *it, unsigned int umask);

/* sched.c: CPU affinity and I/O priority per thread */
int dump_thread_sched(pid_t tid, struct arena *a, ThreadCoreEntry *tce);
/* the process's membarrier registrations, asked in the task (one batch entry) */
void membarrier_call(struct remote_call *c);
int dump_membarrier(pid_t pid, TaskCoreEntry *tc, const struct remote_call *c);

/* seccomp.c: mode per thread, filters into seccomp.img */
/* After the freeze: PTRACE_O_SUSPEND_SECCOMP on every thread under seccomp. */
int seccomp_suspend_tree(void);
int dump_seccomp_thread(pid_t pid, pid_t tid, const struct proc_status *st,
			ThreadCoreEntry *tce);
int seccomp_dump_fini(void);

#endif
