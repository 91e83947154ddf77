// SPDX-License-Identifier: GPL-2.0
/*
 * Pending signals, read with PTRACE_PEEKSIGINFO without dequeuing them:
 * each thread's private queue and the process's shared queue.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <linux/ptrace.h>

#include "task_state.h"

#define PEEK_BATCH 32

static int add_siginfo(struct arena *a, SignalQueueEntry *q, const siginfo_t *si)
{
	SiginfoEntry *e, **ns;

	ns = arena_array(a, SiginfoEntry *, q->n_signals + 1);
	e = arena_new(a, SiginfoEntry);
	if (!ns || !e)
		return -1;
	siginfo_entry__init(e);
	e->siginfo.len = sizeof(*si);
	e->siginfo.data = arena_alloc(a, sizeof(*si));
	if (!e->siginfo.data)
		return -1;
	memcpy(e->siginfo.data, si, sizeof(*si));
	memcpy(ns, q->signals, q->n_signals * sizeof(*ns));
	ns[q->n_signals++] = e;
	q->signals = ns;
	return 0;
}

int dump_pending_signals(struct thread *t, bool shared, struct arena *a,
			 SignalQueueEntry **out)
{
	struct ptrace_peeksiginfo_args args = {
		.off = 0,
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
		.nr = PEEK_BATCH,
	};
	siginfo_t si[PEEK_BATCH];
	SignalQueueEntry *q;
	int i;

	q = arena_new(a, SignalQueueEntry);
	if (!q)
		return -1;
	signal_queue_entry__init(q);
	for (;;) {
		long n = ptrace(PTRACE_PEEKSIGINFO, t->tid, &args, si);

		if (n < 0) {
			pr_perror("cannot peek at pending signals of tid %d", t->tid);
			return -1;
		}
		for (i = 0; i < n; i++)
			if (add_siginfo(a, q, &si[i]))
				return -1;
		if (n < PEEK_BATCH)
			break;
		args.off += n;
	}
	if (q->n_signals)
		pr_debug("tid %d: %zu %s signals pending\n", t->tid, q->n_signals,
			 shared ? "shared" : "private");
	*out = q;
	return 0;
}

/* ---- restore ---- */

#include "restore.h"

size_t siginfo_size(SignalQueueEntry *q)
{
	return q ? q->n_signals * RST_SIGINFO_SIZE : 0;
}

int prepare_siginfo(SignalQueueEntry *q, void *room, u32 *nr)
{
	size_t i;

	*nr = 0;
	if (!q)
		return 0;
	for (i = 0; i < q->n_signals; i++) {
		SiginfoEntry *e = q->signals[i];
		int signo;

		if (e->siginfo.len != RST_SIGINFO_SIZE) {
			pr_err("core image: a pending signal of %zu bytes, expected %d\n",
			       e->siginfo.len, RST_SIGINFO_SIZE);
			return -1;
		}
		memcpy(&signo, e->siginfo.data, sizeof(signo));
		if (signo < 1 || signo > 64 || signo == SIGKILL || signo == SIGSTOP) {
			pr_err("core image: pending signal %d cannot be queued\n", signo);
			return -1;
		}
		memcpy((u8 *)room + i * RST_SIGINFO_SIZE, e->siginfo.data, RST_SIGINFO_SIZE);
	}
	*nr = q->n_signals;
	return 0;
}
