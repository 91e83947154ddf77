// SPDX-License-Identifier: GPL-2.0
/*
 * Interval timers (getitimer) and POSIX timers.  /proc/PID/timers lists
 * the POSIX timers (id, signal, notification, clock); their settings are
 * read by timer_gettime() run inside the task.
 */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "task_state.h"

static int dump_itimer(const struct itimerval *iv, struct arena *a, ItimerEntry **out)
{
	ItimerEntry *e;

	e = arena_new(a, ItimerEntry);
	if (!e)
		return -1;
	itimer_entry__init(e);
	e->isec = iv->it_interval.tv_sec;
	e->iusec = iv->it_interval.tv_usec;
	e->vsec = iv->it_value.tv_sec;
	e->vusec = iv->it_value.tv_usec;
	*out = e;
	return 0;
}

static const int itimer_which[ITIMER_CALLS] = { ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF };

void itimer_calls(struct remote_call *c, u64 area)
{
	int i;

	for (i = 0; i < ITIMER_CALLS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].nr = __NR_getitimer;
		c[i].a[0] = itimer_which[i];
		c[i].a[1] = area + i * sizeof(struct itimerval);
	}
}

/* The results of itimer_calls() */
static int dump_itimers(struct remote_ctl *rc, struct arena *a, TaskTimersEntry *te,
			const struct remote_call *c, u64 area)
{
	struct itimerval iv[ITIMER_CALLS];
	int i;

	for (i = 0; i < ITIMER_CALLS; i++)
		if (c[i].ret) {
			pr_err("getitimer(%d) failed in pid %d: %ld\n", itimer_which[i], rc->pid,
			       c[i].ret);
			return -1;
		}
	if (remote_read(rc, area, iv, sizeof(iv)))
		return -1;
	return dump_itimer(&iv[0], a, &te->real) || dump_itimer(&iv[1], a, &te->virt) ||
	       dump_itimer(&iv[2], a, &te->prof);
}

static int dump_posix_timer(struct remote_ctl *rc, struct arena *a,
			    const struct proc_posix_timer *pt, PosixTimerEntry **out)
{
	struct itimerspec its;
	PosixTimerEntry *e;
	long ret, overrun;

	if (remote_syscall(rc, rc->pid, &ret, __NR_timer_gettime, pt->id, rc->scratch, 0, 0, 0,
			   0) ||
	    remote_syscall(rc, rc->pid, &overrun, __NR_timer_getoverrun, pt->id, 0, 0, 0, 0, 0))
		return -1;
	if (ret || overrun < 0) {
		pr_err("cannot read POSIX timer %d of pid %d: %ld\n", pt->id, rc->pid,
		       ret ? ret : overrun);
		return -1;
	}
	if (remote_read(rc, rc->scratch, &its, sizeof(its)))
		return -1;
	e = arena_new(a, PosixTimerEntry);
	if (!e)
		return -1;
	posix_timer_entry__init(e);
	e->it_id = pt->id;
	e->clock_id = pt->clock_id;
	e->si_signo = pt->signo;
	e->it_sigev_notify = pt->notify;
	e->sival_ptr = pt->sival_ptr;
	e->overrun = overrun;
	e->isec = its.it_interval.tv_sec;
	e->insec = its.it_interval.tv_nsec;
	e->vsec = its.it_value.tv_sec;
	e->vnsec = its.it_value.tv_nsec;
	if (pt->notify & SIGEV_THREAD_ID) {
		e->has_notify_thread_id = true;
		e->notify_thread_id = pt->notify_tid;
	}
	pr_debug("pid %d: POSIX timer %d clock %d signal %d value %lld.%09ld\n", rc->pid, pt->id,
		 pt->clock_id, pt->signo, (long long)its.it_value.tv_sec, its.it_value.tv_nsec);
	*out = e;
	return 0;
}

int dump_timers(struct remote_ctl *rc, struct arena *a, TaskCoreEntry *tc,
		const struct remote_call *c, u64 area)
{
	struct proc_posix_timer *pts = NULL;
	TaskTimersEntry *te;
	int nr = 0, i, ret = -1;

	te = arena_new(a, TaskTimersEntry);
	if (!te)
		return -1;
	task_timers_entry__init(te);
	if (dump_itimers(rc, a, te, c, area))
		return -1;

	if (parse_posix_timers(rc->pid, &pts, &nr)) {
		pr_perror("cannot read /proc/%d/timers", rc->pid);
		return -1;
	}
	te->posix = arena_array(a, PosixTimerEntry *, nr);
	if (!te->posix)
		goto out;
	for (i = 0; i < nr; i++)
		if (dump_posix_timer(rc, a, &pts[i], &te->posix[i]))
			goto out;
	te->n_posix = nr;
	tc->timers = te;
	ret = 0;
out:
	free(pts);
	return ret;
}

/* ---- restore ---- */

#include "restore.h"

/*
 * setitimer() adds one tick to a CPU-time timer (ITIMER_VIRTUAL, _PROF)
 * for the tick in progress; measure that tick once and take it off, so
 * that a restored timer is not later than the dumped one.
 */
static long cpu_timer_tick_us(void)
{
	static long tick = -1;
	struct itimerval v = { { 0, 0 }, { 100, 0 } }, got, off = { { 0, 0 }, { 0, 0 } };

	if (tick >= 0)
		return tick;
	tick = 0;
	if (setitimer(ITIMER_PROF, &v, NULL) || getitimer(ITIMER_PROF, &got))
		return 0;
	setitimer(ITIMER_PROF, &off, NULL);
	if (got.it_value.tv_sec >= 100)
		tick = (got.it_value.tv_sec - 100) * 1000000 + got.it_value.tv_usec;
	/* a CPU tick is at least 1 ms (HZ <= 1000); round to one */
	if (tick > 0)
		tick = (tick + 500) / 1000 * 1000;
	pr_debug("CPU timer tick: %ld us\n", tick);
	return tick;
}

int prepare_itimers(struct rst_args *a, TaskCoreEntry *tc)
{
	ItimerEntry *it[3];
	int i;

	if (!tc->timers)
		return 0;
	it[0] = tc->timers->real;
	it[1] = tc->timers->virt;
	it[2] = tc->timers->prof;
	for (i = 0; i < 3; i++) {
		if (!it[i])
			continue;
		if (it[i]->iusec >= 1000000 || it[i]->vusec >= 1000000) {
			pr_err("core image: itimer %d has %llu/%llu microseconds\n", i,
			       (unsigned long long)it[i]->iusec, (unsigned long long)it[i]->vusec);
			return -1;
		}
		a->itimers[i].isec = it[i]->isec;
		a->itimers[i].iusec = it[i]->iusec;
		a->itimers[i].vsec = it[i]->vsec;
		a->itimers[i].vusec = it[i]->vusec;
		if (i != ITIMER_REAL) {
			long long v = (long long)it[i]->vsec * 1000000 + it[i]->vusec;
			long tick = cpu_timer_tick_us();

			if (v > tick && tick > 0) {
				v -= tick;
				a->itimers[i].vsec = v / 1000000;
				a->itimers[i].vusec = v % 1000000;
			}
		}
	}
	return 0;
}

size_t posix_timers_size(TaskCoreEntry *tc)
{
	return tc->timers ? tc->timers->n_posix * sizeof(struct rst_posix_timer) : 0;
}

int prepare_posix_timers(struct rst_args *a, TaskCoreEntry *tc, void *room)
{
	struct rst_posix_timer *pt = room;
	size_t i;

	if (!tc->timers || !tc->timers->n_posix)
		return 0;
	for (i = 0; i < tc->timers->n_posix; i++) {
		PosixTimerEntry *e = tc->timers->posix[i];

		if (e->insec >= 1000000000 || e->vnsec >= 1000000000) {
			pr_err("core image: POSIX timer %u has bad nanoseconds\n", e->it_id);
			return -1;
		}
		pt[i].id = e->it_id;
		pt[i].clock_id = e->clock_id;
		pt[i].notify = e->it_sigev_notify;
		pt[i].signo = e->si_signo;
		pt[i].notify_tid = e->has_notify_thread_id ? e->notify_thread_id : 0;
		pt[i].sival = e->sival_ptr;
		pt[i].overrun = e->overrun;
		pt[i].interval.sec = e->isec;
		pt[i].interval.nsec = e->insec;
		pt[i].value.sec = e->vsec;
		pt[i].value.nsec = e->vnsec;
		/* an expired one-shot timer has value 0: it stays disarmed */
	}
	a->nr_posix_timers = tc->timers->n_posix;
	a->posix_timers = (u64)(unsigned long)pt;
	return 0;
}
