// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scheduling state per thread: policy (normal, batch, idle), nice, CPU
 * affinity (CPUs 0 and 1), I/O priority (best effort with levels, idle)
 * and the parent death signal.  Each thread sets its own, and after the
 * checkpoint checks its own.  A lower nice than we started with needs
 * CAP_SYS_NICE: that thread tries it and keeps a higher one if refused.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_VALUE(class, level) (((class) << 13) | (level))
#define IOPRIO_BE 2
#define IOPRIO_IDLE 3

struct want {
	int policy;
	int nice;	/* relative to the start */
	unsigned cpus;	/* bit per CPU */
	int ioprio;
	int pdeath;
};

static const struct want wants[] = {
	{ SCHED_OTHER, 5, 1, IOPRIO_VALUE(IOPRIO_BE, 2), SIGUSR1 },
	{ SCHED_BATCH, 10, 2, IOPRIO_VALUE(IOPRIO_BE, 7), 0 },
	{ SCHED_IDLE, 3, 3, IOPRIO_VALUE(IOPRIO_IDLE, 0), SIGUSR2 },
	{ SCHED_OTHER, -3, 2, IOPRIO_VALUE(IOPRIO_BE, 0), 0 },
};
#define NR (int)(sizeof(wants) / sizeof(wants[0]))

static int base_nice;
static int nice_of[NR];	/* what each thread really got */
static int result[NR];
static int ready, stop;

static int set_own(int i)
{
	const struct want *w = &wants[i];
	struct sched_param sp = { 0 };
	cpu_set_t set;
	int c;

	nice_of[i] = base_nice + w->nice;
	if (setpriority(PRIO_PROCESS, 0, nice_of[i])) {
		if (errno != EACCES && errno != EPERM)
			return -1;
		nice_of[i] = base_nice - w->nice;	/* unprivileged: raise instead */
		if (setpriority(PRIO_PROCESS, 0, nice_of[i]))
			return -1;
		test_msg("thread %d: cannot lower nice, uses %d\n", i, nice_of[i]);
	}
	if (sched_setscheduler(0, w->policy, &sp))
		return -1;
	CPU_ZERO(&set);
	for (c = 0; c < 2; c++)
		if (w->cpus & (1 << c))
			CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, w->ioprio))
		return -1;
	return prctl(PR_SET_PDEATHSIG, w->pdeath);
}

static int check_own(int i, const char *when)
{
	const struct want *w = &wants[i];
	cpu_set_t set;
	int c, pol, prio, sig = -1;
	unsigned cpus = 0;

	pol = sched_getscheduler(0);
	errno = 0;
	prio = getpriority(PRIO_PROCESS, 0);
	if (pol != w->policy || prio != nice_of[i]) {
		fail("%s: thread %d policy %d nice %d, want %d %d", when, i, pol, prio, w->policy,
		     nice_of[i]);
		return 1;
	}
	if (sched_getaffinity(0, sizeof(set), &set)) {
		fail("%s: sched_getaffinity", when);
		return 1;
	}
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus |= c < 32 ? 1u << c : 0x80000000u;
	prio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	prctl(PR_GET_PDEATHSIG, &sig);
	if (cpus != w->cpus || prio != w->ioprio || sig != w->pdeath) {
		fail("%s: thread %d cpus %#x ioprio %#x pdeath %d, want %#x %#x %d", when, i, cpus,
		     prio, sig, w->cpus, w->ioprio, w->pdeath);
		return 1;
	}
	return 0;
}

static void *thread_fn(void *arg)
{
	int i = (int)(long)arg;

	if (set_own(i)) {
		pr_perror("thread %d: setting its scheduling", i);
		result[i] = 1;
	} else {
		result[i] = check_own(i, "before");
	}
	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &ready, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &stop, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	if (!result[i])
		result[i] = check_own(i, "after");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NR];
	int i, r, bad = 0;

	test_init(argc, argv);
	/* the launcher exits, later so does criu: the death signals must not run code */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	errno = 0;
	base_nice = getpriority(PRIO_PROCESS, 0);
	if (base_nice > 5) {
		fail("started at nice %d, too high to raise by 10", base_nice);
		return 1;
	}
	for (i = 0; i < NR; i++)
		if (pthread_create(&th[i], NULL, thread_fn, (void *)(long)i)) {
			pr_perror("pthread_create");
			return 1;
		}
	while ((r = __atomic_load_n(&ready, __ATOMIC_SEQ_CST)) < NR)
		syscall(SYS_futex, &ready, FUTEX_WAIT_PRIVATE, r, NULL, NULL, 0);

	test_daemon();
	test_waitsig();

	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &stop, FUTEX_WAKE_PRIVATE, NR, NULL, NULL, 0);
	for (i = 0; i < NR; i++) {
		pthread_join(th[i], NULL);
		bad |= result[i];
	}
	if (bad)
		return 1;
	pass();
	return 0;
}
