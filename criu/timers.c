// SPDX-License-Identifier: GPL-2.0
/*
 * Interval timers (getitimer) and POSIX timers.  /proc/PID/timers lists
 * the POSIX timers (id, signal, notification, clock); their settings are
 * read by timer_gettime() run inside the task.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "task_state.h"

static int dump_itimer(struct remote_ctl *rc, struct arena *a, int which, ItimerEntry **out)
{
	struct itimerval iv;
	ItimerEntry *e;
	long ret;

	if (remote_syscall(rc, rc->pid, &ret, __NR_getitimer, which, rc->scratch, 0, 0, 0, 0))
		return -1;
	if (ret) {
		pr_err("getitimer(%d) failed in pid %d: %ld\n", which, rc->pid, ret);
		return -1;
	}
	if (remote_read(rc, rc->scratch, &iv, sizeof(iv)))
		return -1;
	e = arena_new(a, ItimerEntry);
	if (!e)
		return -1;
	itimer_entry__init(e);
	e->isec = iv.it_interval.tv_sec;
	e->iusec = iv.it_interval.tv_usec;
	e->vsec = iv.it_value.tv_sec;
	e->vusec = iv.it_value.tv_usec;
	*out = e;
	return 0;
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

int dump_timers(struct remote_ctl *rc, struct arena *a, TaskCoreEntry *tc)
{
	struct proc_posix_timer *pts = NULL;
	TaskTimersEntry *te;
	int nr = 0, i, ret = -1;

	te = arena_new(a, TaskTimersEntry);
	if (!te)
		return -1;
	task_timers_entry__init(te);
	if (dump_itimer(rc, a, ITIMER_REAL, &te->real) ||
	    dump_itimer(rc, a, ITIMER_VIRTUAL, &te->virt) ||
	    dump_itimer(rc, a, ITIMER_PROF, &te->prof))
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
