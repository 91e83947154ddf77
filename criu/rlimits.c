// SPDX-License-Identifier: GPL-2.0
/*
 * Resource limits, from /proc/PID/limits: prlimit64() on another user's
 * task would need CAP_SYS_RESOURCE, which nobody has on some machines.
 */
#include "task_state.h"
#include "rlimit.pb-c.h"

int dump_rlimits(pid_t pid, struct arena *a, TaskRlimitsEntry **out)
{
	struct proc_rlimit lim[CR_RLIM_NLIMITS];
	TaskRlimitsEntry *re;
	int nr, i;

	if (parse_pid_limits(pid, lim, &nr)) {
		pr_perror("cannot read /proc/%d/limits", pid);
		return -1;
	}
	re = arena_new(a, TaskRlimitsEntry);
	if (!re)
		return -1;
	task_rlimits_entry__init(re);
	re->rlimits = arena_array(a, RlimitEntry *, nr);
	if (!re->rlimits)
		return -1;
	for (i = 0; i < nr; i++) {
		RlimitEntry *e = arena_new(a, RlimitEntry);

		if (!e)
			return -1;
		rlimit_entry__init(e);
		e->cur = lim[i].cur;
		e->max = lim[i].max;
		re->rlimits[i] = e;
	}
	re->n_rlimits = nr;
	*out = re;
	return 0;
}

/* ---- restore ---- */

#include <sys/resource.h>

#include "restore.h"

/*
 * Lowering a limit is always allowed; raising a hard one needs
 * CAP_SYS_RESOURCE.  Check now, while the error can still be reported
 * cleanly, instead of failing in the restorer.
 */
int prepare_rlimits(struct rst_args *a, TaskCoreEntry *tc)
{
	size_t i;

	if (!tc->rlimits)
		return 0;
	if (tc->rlimits->n_rlimits > RST_NR_RLIMITS) {
		pr_err("core image: %zu rlimits, at most %d\n", tc->rlimits->n_rlimits,
		       RST_NR_RLIMITS);
		return -1;
	}
	for (i = 0; i < tc->rlimits->n_rlimits; i++) {
		RlimitEntry *e = tc->rlimits->rlimits[i];
		struct rlimit cur;

		if (e->cur > e->max) {
			pr_err("core image: rlimit %zu has soft %llu above hard %llu\n", i,
			       (unsigned long long)e->cur, (unsigned long long)e->max);
			return -1;
		}
		if (getrlimit(i, &cur))
			return -1;
		if (e->max > cur.rlim_max) {
			struct rlimit want = { e->cur, e->max };

			if (setrlimit(i, &want)) {
				pr_perror("cannot raise hard rlimit %zu to %llu (needs CAP_SYS_RESOURCE)",
					  i, (unsigned long long)e->max);
				return -1;
			}
		}
		a->rlimits[i].cur = e->cur;
		a->rlimits[i].max = e->max;
	}
	a->nr_rlimits = tc->rlimits->n_rlimits;
	return 0;
}
