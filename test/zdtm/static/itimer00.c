// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interval timers: ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF armed with
 * long values.  Afterwards each is still armed, with the same interval,
 * and its value has gone down (the real one by no more than the wall
 * time passed) but not fired.
 */
#include <signal.h>
#include <sys/time.h>

#include "zdtmtst.h"

static const struct {
	int which;
	const char *name;
	struct itimerval set;
} timers[] = {
	{ITIMER_REAL, "real", {{1000, 250000}, {500, 0}}},
	{ITIMER_VIRTUAL, "virtual", {{300, 0}, {400, 500}}},
	{ITIMER_PROF, "prof", {{700, 0}, {600, 0}}},
};

#define MAX_TICK_US 10000 /* HZ >= 100 */

static volatile int fired;

static void handler(int sig)
{
	(void)sig;
	fired = 1;
}

static long long tv_us(const struct timeval *tv)
{
	return tv->tv_sec * 1000000LL + tv->tv_usec;
}

static int check(unsigned int i, const struct itimerval *before, long long wall_us)
{
	struct itimerval now;
	long long used;

	if (getitimer(timers[i].which, &now)) {
		pr_perror("getitimer %s", timers[i].name);
		return 1;
	}
	if (tv_us(&now.it_interval) != tv_us(&timers[i].set.it_interval)) {
		fail("%s interval changed to %lld us", timers[i].name, tv_us(&now.it_interval));
		return 1;
	}
	used = tv_us(&before->it_value) - tv_us(&now.it_value);
	/*
	 * Arming a CPU timer adds a tick to its value (so it cannot fire
	 * early), and a restore arms it again: allow that much growth.
	 */
	if (timers[i].which != ITIMER_REAL)
		used += MAX_TICK_US;
	if (!tv_us(&now.it_value) || used < 0) {
		fail("%s value went from %lld to %lld us", timers[i].name, tv_us(&before->it_value),
		     tv_us(&now.it_value));
		return 1;
	}
	/* CPU timers move by CPU time, the real one by wall time at most. */
	if (used > wall_us + 1000000) {
		fail("%s lost %lld us in %lld us of wall time", timers[i].name, used, wall_us);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct itimerval before[ARRAY_SIZE(timers)];
	uint64_t t0;
	unsigned int i;

	test_init(argc, argv);
	signal(SIGALRM, handler);
	signal(SIGVTALRM, handler);
	signal(SIGPROF, handler);
	for (i = 0; i < ARRAY_SIZE(timers); i++)
		if (setitimer(timers[i].which, &timers[i].set, NULL)) {
			pr_perror("setitimer %s", timers[i].name);
			return 1;
		}
	for (i = 0; i < ARRAY_SIZE(timers); i++)
		if (getitimer(timers[i].which, &before[i])) {
			pr_perror("getitimer");
			return 1;
		}
	t0 = now_ns();

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(timers); i++)
		if (check(i, &before[i], (now_ns() - t0) / 1000))
			return 1;
	if (fired) {
		fail("a timer fired");
		return 1;
	}
	pass();
	return 0;
}
