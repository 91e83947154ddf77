// SPDX-License-Identifier: GPL-2.0-only
/*
 * POSIX timers on several clocks, with a hole in the id sequence (one
 * timer deleted): the same ids exist afterwards with the same settings,
 * the deleted one does not, the armed ones are still counting down, and
 * a restored timer still signals with its own value and id.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "zdtmtst.h"

struct ptimer {
	clockid_t clock;
	int notify, signo, value;
	long value_s, interval_s;
	int abs;
	timer_t id;
	struct itimerspec before;
};

#define PT(c, n, s, v, val, iv, a)                                                                 \
	{                                                                                          \
		.clock = c, .notify = n, .signo = s, .value = v, .value_s = val, .interval_s = iv, \
		.abs = a                                                                           \
	}

static struct ptimer timers[] = {
	PT(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR1, 11, 1000, 2000, 0),
	PT(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR2, 22, 800, 0, 0),
	PT(CLOCK_BOOTTIME, SIGEV_NONE, 0, 33, 900, 100, 0),
	PT(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, 0, 44, 600, 600, 0),
	PT(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 55, 0, 0, 0),
	PT(CLOCK_REALTIME, SIGEV_SIGNAL, SIGUSR2, 66, 3000, 0, 1),
};

static timer_t deleted;
static volatile int got_value = -1, got_code, got_timerid = -1;

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got_value = si->si_value.sival_int;
	got_code = si->si_code;
	got_timerid = si->si_timerid;
}

static int create(struct ptimer *t)
{
	struct sigevent sev = {};
	struct itimerspec its = {};
	struct timespec now;

	sev.sigev_notify = t->notify;
	sev.sigev_signo = t->signo ? t->signo : SIGRTMIN + 4;
	sev.sigev_value.sival_int = t->value;
	if (timer_create(t->clock, &sev, &t->id))
		return -1;
	its.it_value.tv_sec = t->value_s;
	its.it_interval.tv_sec = t->interval_s;
	if (t->abs) {
		clock_gettime(t->clock, &now);
		its.it_value.tv_sec += now.tv_sec;
	}
	if (timer_settime(t->id, t->abs ? TIMER_ABSTIME : 0, &its, NULL))
		return -1;
	return timer_gettime(t->id, &t->before);
}

static int check(const struct ptimer *t, unsigned int i)
{
	struct itimerspec now;

	if (timer_gettime(t->id, &now)) {
		pr_perror("timer %u (id %ld) is gone", i, (long)t->id);
		return 1;
	}
	if (now.it_interval.tv_sec != t->interval_s || now.it_interval.tv_nsec) {
		fail("timer %u interval is %ld.%09ld", i, (long)now.it_interval.tv_sec,
		     now.it_interval.tv_nsec);
		return 1;
	}
	if (!t->value_s) {
		if (now.it_value.tv_sec || now.it_value.tv_nsec) {
			fail("disarmed timer %u is armed", i);
			return 1;
		}
		return 0;
	}
	if ((!now.it_value.tv_sec && !now.it_value.tv_nsec) ||
	    now.it_value.tv_sec > t->before.it_value.tv_sec) {
		fail("timer %u value %ld s, was %ld s", i, (long)now.it_value.tv_sec,
		     (long)t->before.it_value.tv_sec);
		return 1;
	}
	return 0;
}

/* Re-arm timer 0 to fire soon and look at what arrives. */
static int check_fire(void)
{
	struct itimerspec its = {.it_value = {0, 10 * 1000 * 1000}};
	uint64_t end = now_ns() + 3000000000ull;

	if (timer_settime(timers[0].id, 0, &its, NULL)) {
		pr_perror("timer_settime");
		return 1;
	}
	while (got_value < 0 && now_ns() < end)
		;
	if (got_value != timers[0].value || got_code != SI_TIMER ||
	    got_timerid != (int)(intptr_t)timers[0].id) {
		fail("timer signal: value %d code %d id %d, want %d %d %ld", got_value, got_code,
		     got_timerid, timers[0].value, SI_TIMER, (long)timers[0].id);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	struct itimerspec its;
	unsigned int i;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGUSR2, &sa, NULL) ||
	    sigaction(SIGRTMIN + 4, &sa, NULL)) {
		pr_perror("sigaction");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(timers); i++) {
		if (i == 2) {
			/* This one leaves a hole in the ids. */
			if (timer_create(CLOCK_MONOTONIC, &sev, &deleted)) {
				pr_perror("timer_create");
				return 1;
			}
		}
		if (create(&timers[i])) {
			pr_perror("timer %u", i);
			return 1;
		}
	}
	if (timer_delete(deleted)) {
		pr_perror("timer_delete");
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(timers); i++)
		if (check(&timers[i], i))
			return 1;
	if (timer_gettime(deleted, &its) == 0 || errno != EINVAL) {
		fail("the deleted timer id %ld exists", (long)deleted);
		return 1;
	}
	if (got_value >= 0) {
		fail("a timer fired early (value %d)", got_value);
		return 1;
	}
	if (check_fire())
		return 1;
	pass();
	return 0;
}
