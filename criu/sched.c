// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scheduling state of a thread beyond policy and nice (which cr-dump.c
 * reads from /proc stat): CPU affinity and I/O priority.  Both can be read
 * from outside the task.  At restore the restorer sets them per thread;
 * here, before the tree is forked, we find out whether this user may set
 * what the image asks for, so that a refusal names the thread and the cause.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "restore.h"
#include "restorer.h"
#include "task_state.h"

#define IOPRIO_WHO_PROCESS	1
#define IOPRIO_CLASS_SHIFT	13
#define IOPRIO_CLASS_RT		1

int dump_thread_sched(pid_t tid, struct arena *a, ThreadCoreEntry *tce)
{
	uint64_t mask[RST_AFFINITY_WORDS];
	long n, prio;

	/* its runtime, deadline and period are not in the image format */
	if (tce->sched_policy == SCHED_DEADLINE) {
		pr_err("unsupported: tid %d runs under SCHED_DEADLINE\n", tid);
		return -1;
	}
	memset(mask, 0, sizeof(mask));
	/* the raw syscall returns the kernel's mask size in bytes */
	n = syscall(SYS_sched_getaffinity, tid, sizeof(mask), mask);
	if (n < 0) {
		pr_perror("cannot read the CPU affinity of tid %d", tid);
		return -1;
	}
	tce->n_cpu_affinity = (n + 7) / 8;
	tce->cpu_affinity = arena_array(a, uint64_t, tce->n_cpu_affinity);
	if (!tce->cpu_affinity)
		return -1;
	memcpy(tce->cpu_affinity, mask, tce->n_cpu_affinity * 8);

	prio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
	if (prio < 0) {
		pr_perror("cannot read the I/O priority of tid %d", tid);
		return -1;
	}
	tce->has_ioprio = true;
	tce->ioprio = prio;
	pr_debug("tid %d: affinity %#llx (%zu words), ioprio %#lx\n", tid,
		 (unsigned long long)mask[0], tce->n_cpu_affinity, prio);
	return 0;
}

#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9)	/* Linux 6.3 */

void membarrier_call(struct remote_call *c)
{
	memset(c, 0, sizeof(*c));
	c->nr = __NR_membarrier;
	c->a[0] = MEMBARRIER_CMD_GET_REGISTRATIONS;
}

int dump_membarrier(pid_t pid, TaskCoreEntry *tc, const struct remote_call *c)
{
	long ret = c->ret;

	if (ret == -EINVAL || ret == -ENOSYS) {
		pr_warn("pid %d: this kernel cannot tell membarrier registrations, none saved\n",
			pid);
		return 0;
	}
	if (ret < 0) {
		pr_err("pid %d: membarrier(GET_REGISTRATIONS): %s\n", pid, strerror(-ret));
		return -1;
	}
	pr_debug("pid %d: membarrier registrations %#lx\n", pid, ret);
	tc->has_membarrier_regs = ret != 0;
	tc->membarrier_regs = ret;
	return 0;
}

/* Keep only CPUs of this machine; none left is an error. */
static int check_affinity(pid_t pid, pid_t tid, ThreadCoreEntry *tce)
{
	cpu_set_t here;
	size_t i, missing = 0, kept = 0;

	if (sched_getaffinity(0, sizeof(here), &here)) {
		pr_perror("sched_getaffinity");
		return -1;
	}
	for (i = 0; i < tce->n_cpu_affinity * 64 && i < CPU_SETSIZE; i++) {
		if (!(tce->cpu_affinity[i / 64] & (1ULL << (i % 64))))
			continue;
		if (CPU_ISSET(i, &here))
			kept++;
		else
			missing++;
	}
	if (!kept) {
		pr_err("pid %d tid %d was bound to CPUs that this machine does not have (or criu "
		       "may not use): mask %#llx\n",
		       pid, tid, (unsigned long long)tce->cpu_affinity[0]);
		return -1;
	}
	if (missing)
		pr_warn("pid %d tid %d: %zu CPUs of its affinity mask are not here, keeping %zu\n",
			pid, tid, missing, kept);
	return 0;
}

static bool needs_privilege(ThreadCoreEntry *tce)
{
	int nice = getpriority(PRIO_PROCESS, 0);

	return tce->sched_policy == SCHED_FIFO || tce->sched_policy == SCHED_RR ||
	       (tce->has_sched_nice && tce->sched_nice < nice) ||
	       (tce->has_ioprio && (tce->ioprio >> IOPRIO_CLASS_SHIFT) == IOPRIO_CLASS_RT);
}

/* In a throwaway child, with the image's limits: does the kernel let us? */
static int probe_child(ThreadCoreEntry *tce, TaskCoreEntry *tc)
{
	struct sched_param sp = { .sched_priority = tce->sched_prio };
	size_t r;

	for (r = 0; tc && tc->rlimits && r < tc->rlimits->n_rlimits; r++) {
		struct rlimit rl = { tc->rlimits->rlimits[r]->cur, tc->rlimits->rlimits[r]->max };

		if (r == RLIMIT_NICE || r == RLIMIT_RTPRIO)
			setrlimit(r, &rl);	/* if it fails, the probe below says so */
	}
	if (tce->has_sched_nice && setpriority(PRIO_PROCESS, 0, tce->sched_nice))
		return 1;
	if ((tce->sched_policy == SCHED_FIFO || tce->sched_policy == SCHED_RR) &&
	    sched_setscheduler(0, tce->sched_policy, &sp))
		return 2;
	if (tce->has_ioprio && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, tce->ioprio))
		return 3;
	return 0;
}

static int probe_sched(pid_t vpid, pid_t tid, ThreadCoreEntry *tce, TaskCoreEntry *tc)
{
	int status;
	pid_t r, pid = fork();

	if (pid < 0) {
		pr_perror("fork");
		return -1;
	}
	if (!pid)
		_exit(probe_child(tce, tc));
	r = xwaitpid(pid, &status, 0);
	if (r != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 3) {
		pr_err("pid %d tid %d: the scheduling probe failed\n", vpid, tid);
		return -1;
	}
	if (!WEXITSTATUS(status))
		return 0;
	if (WEXITSTATUS(status) == 1)
		pr_err("cannot restore pid %d tid %d: nice %d needs CAP_SYS_NICE or a higher "
		       "RLIMIT_NICE\n",
		       vpid, tid, tce->sched_nice);
	else if (WEXITSTATUS(status) == 2)
		pr_err("cannot restore pid %d tid %d: realtime policy %u priority %u needs "
		       "CAP_SYS_NICE or RLIMIT_RTPRIO\n",
		       vpid, tid, tce->sched_policy, tce->sched_prio);
	else
		pr_err("cannot restore pid %d tid %d: I/O priority class RT needs CAP_SYS_NICE or "
		       "CAP_SYS_ADMIN\n",
		       vpid, tid);
	return -1;
}

/* What the probe depends on, besides the task's limits */
static bool same_sched(const ThreadCoreEntry *a, const ThreadCoreEntry *b)
{
	return a->sched_policy == b->sched_policy && a->sched_prio == b->sched_prio &&
	       a->has_sched_nice == b->has_sched_nice && a->sched_nice == b->sched_nice &&
	       a->has_ioprio == b->has_ioprio && a->ioprio == b->ioprio;
}

int check_restore_sched(struct pstree_item *it)
{
	TaskCoreEntry *tc = rst_of(it)->cores[0]->tc;
	ThreadCoreEntry *probed = NULL;
	int i;

	for (i = 0; i < it->nr_threads; i++) {
		ThreadCoreEntry *tce = rst_of(it)->cores[i]->thread_core;
		pid_t tid = it->threads[i].vtid;

		if (tce->n_cpu_affinity && check_affinity(it->vpid, tid, tce))
			return -1;
		if (!needs_privilege(tce))
			continue;
		/* threads of one task mostly share their settings: one fork for them */
		if (probed && same_sched(probed, tce))
			continue;
		if (probe_sched(it->vpid, tid, tce, tc))
			return -1;
		probed = tce;
	}
	return 0;
}

void prepare_thread_sched(ThreadCoreEntry *tce, struct rst_thread *t)
{
	cpu_set_t here;
	size_t i;

	t->ioprio = tce->has_ioprio ? tce->ioprio : 0;
	t->nr_affinity = tce->n_cpu_affinity;
	if (t->nr_affinity > RST_AFFINITY_WORDS)
		t->nr_affinity = RST_AFFINITY_WORDS;
	memcpy(t->affinity, tce->cpu_affinity, t->nr_affinity * 8);
	/* CPUs that are not here would make the whole call fail */
	if (sched_getaffinity(0, sizeof(here), &here))
		return;
	for (i = 0; i < t->nr_affinity * 64 && i < CPU_SETSIZE; i++)
		if (!CPU_ISSET(i, &here))
			t->affinity[i / 64] &= ~(1ULL << (i % 64));
}
