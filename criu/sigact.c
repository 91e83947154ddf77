// SPDX-License-Identifier: GPL-2.0
/*
 * Signal dispositions.  /proc shows only which signals are caught or
 * ignored, so the handlers, flags, masks and restorers are read by
 * running rt_sigaction(sig, NULL, &old) inside the stopped task.
 */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "task_state.h"

/* the kernel's struct sigaction for rt_sigaction(2) on x86_64 */
struct kernel_sigaction {
	u64 handler;
	u64 flags;
	u64 restorer;
	u64 mask;
};

#define NSIG_MAX SIGACTION_CALLS

void sigaction_calls(struct remote_call *c, u64 area)
{
	int i;

	for (i = 0; i < SIGACTION_CALLS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].nr = __NR_rt_sigaction;
		c[i].a[0] = i + 1;
		c[i].a[2] = area + i * sizeof(struct kernel_sigaction);
		c[i].a[3] = 8;
	}
}

/* The results of sigaction_calls(), each disposition in its own slot of area */
static int read_all_sigactions(struct remote_ctl *rc, const struct remote_call *c, u64 area,
			       struct kernel_sigaction *out)
{
	int i;

	for (i = 0; i < SIGACTION_CALLS; i++)
		if (c[i].ret) {
			pr_err("rt_sigaction(%d) failed in pid %d: %ld\n", i + 1, rc->pid, c[i].ret);
			return -1;
		}
	return remote_read(rc, area, out, SIGACTION_CALLS * sizeof(*out));
}

int dump_sigactions(struct remote_ctl *rc, struct arena *a, TaskCoreEntry *tc,
		    const struct remote_call *c, u64 area)
{
	struct kernel_sigaction all[NSIG_MAX];
	int sig, n = 0;

	tc->sigactions = arena_array(a, SaEntry *, NSIG_MAX);
	if (!tc->sigactions)
		return -1;
	if (read_all_sigactions(rc, c, area, all))
		return -1;
	for (sig = 1; sig <= NSIG_MAX; sig++) {
		struct kernel_sigaction ksa = all[sig - 1];
		SaEntry *sa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa = arena_new(a, SaEntry);
		if (!sa)
			return -1;
		sa_entry__init(sa);
		sa->sigaction = ksa.handler;
		sa->flags = ksa.flags;
		sa->restorer = ksa.restorer;
		sa->mask = ksa.mask;
		sa->has_compat_sigaction = true;
		sa->compat_sigaction = false;
		tc->sigactions[n++] = sa;
		if (ksa.handler)
			pr_debug("pid %d sig %d: handler %#llx flags %#llx mask %#llx\n", rc->pid,
				 sig, (unsigned long long)ksa.handler,
				 (unsigned long long)ksa.flags, (unsigned long long)ksa.mask);
	}
	tc->n_sigactions = n;
	return 0;
}

/* ---- restore ---- */

#include "restore.h"

int prepare_sigactions(struct rst_args *a, TaskCoreEntry *tc)
{
	size_t i;
	int sig = 0;

	for (i = 0; i < tc->n_sigactions; i++) {
		SaEntry *sa = tc->sigactions[i];

		/* entries are for signals 1..64 minus SIGKILL and SIGSTOP, in order */
		do
			sig++;
		while (sig == SIGKILL || sig == SIGSTOP);
		if (sig > RST_NSIG) {
			pr_err("core image: %zu sigactions, more than there are signals\n",
			       tc->n_sigactions);
			return -1;
		}
		if (sa->has_compat_sigaction && sa->compat_sigaction) {
			pr_err("unsupported: a compat sigaction for signal %d\n", sig);
			return -1;
		}
		a->sigactions[sig - 1].handler = sa->sigaction;
		a->sigactions[sig - 1].flags = sa->flags;
		a->sigactions[sig - 1].restorer = sa->restorer;
		a->sigactions[sig - 1].mask = sa->mask;
	}
	return 0;
}
