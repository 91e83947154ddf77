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
