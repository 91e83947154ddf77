// SPDX-License-Identifier: GPL-2.0
/*
 * timerfd: its clock, settime flags, the time left to the next expiry,
 * the interval and the expirations not read yet ("ticks"), all from
 * fdinfo.  The entry lives in files.img (file_entry.tfd).
 *
 * fdinfo counts only the first expiry of a periodic timer until someone
 * reads it or asks timerfd_gettime(), which adds the overruns to ticks
 * and moves the timer to its next period; so the dump asks first.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "files.h"
#include "proc_parse.h"
#include "timerfd.pb-c.h"
#include "util.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, __u64)
#endif
#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#endif
#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif

#define NSEC_PER_SEC 1000000000LL

static const char *clock_name(int clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
		return "CLOCK_REALTIME";
	case CLOCK_MONOTONIC:
		return "CLOCK_MONOTONIC";
	case CLOCK_BOOTTIME:
		return "CLOCK_BOOTTIME";
	case CLOCK_REALTIME_ALARM:
		return "CLOCK_REALTIME_ALARM";
	case CLOCK_BOOTTIME_ALARM:
		return "CLOCK_BOOTTIME_ALARM";
	}
	return "an unknown clock";
}

static bool is_alarm(int clk)
{
	return clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM;
}

/* The clock an *_ALARM clock counts with; what clock_gettime() reads. */
static clockid_t base_clock(int clk)
{
	if (clk == CLOCK_REALTIME_ALARM)
		return CLOCK_REALTIME;
	if (clk == CLOCK_BOOTTIME_ALARM)
		return CLOCK_BOOTTIME;
	return clk;
}

static bool match_timerfd(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

static int parse_timerfd(const char *fdinfo, TimerfdEntry *te)
{
	const char *clk, *ticks, *fl, *val, *intv;

	clk = fdinfo_value(fdinfo, "clockid");
	ticks = fdinfo_value(fdinfo, "ticks");
	fl = fdinfo_value(fdinfo, "settime flags");
	val = fdinfo_value(fdinfo, "it_value");
	intv = fdinfo_value(fdinfo, "it_interval");
	if (!clk || !ticks || !fl || !val || !intv)
		return -1;
	te->clockid = atoi(clk);
	te->ticks = strtoull(ticks, NULL, 10);
	te->settime_flags = strtoul(fl, NULL, 8);
	if (sscanf(val, "(%" SCNu64 ", %" SCNu64 ")", &te->vsec, &te->vnsec) != 2 ||
	    sscanf(intv, "(%" SCNu64 ", %" SCNu64 ")", &te->isec, &te->insec) != 2)
		return -1;
	return 0;
}

/*
 * Bring the timer's ticks up to date and read its state.  A periodic
 * timer that expires between the two steps shows no time left; ask again.
 */
static int read_timerfd(struct fd_parms *p, TimerfdEntry *te)
{
	struct itimerspec cur;
	char path[64], *buf;
	int i, ret;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", p->lfd);
	for (i = 0; i < 5; i++) {
		if (timerfd_gettime(p->lfd, &cur)) {
			pr_perror("cannot read timerfd %d of pid %d", p->fd, p->pid);
			return -1;
		}
		if (read_file(path, &buf) < 0) {
			pr_perror("cannot read %s", path);
			return -1;
		}
		ret = parse_timerfd(buf, te);
		free(buf);
		if (ret) {
			pr_err("pid %d fd %d: cannot parse the timerfd fdinfo\n", p->pid, p->fd);
			return -1;
		}
		if (te->vsec || te->vnsec || !(te->isec || te->insec))
			return 0;
	}
	/* expired just now each time: the next expiry is a period away */
	te->vsec = te->isec;
	te->vnsec = te->insec;
	return 0;
}

/* The *_ALARM clocks need CAP_WAKE_ALARM to make a timer: try it now. */
static int check_alarm(const struct fd_parms *p, int clk)
{
	int fd;

	if (!is_alarm(clk))
		return 0;
	fd = timerfd_create(clk, TFD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == EPERM)
		pr_err("unsupported: pid %d fd %d is a timerfd on %s; restoring it needs "
		       "CAP_WAKE_ALARM, which criu does not have\n",
		       p->pid, p->fd, clock_name(clk));
	else
		pr_perror("unsupported: pid %d fd %d is a timerfd on %s, which criu cannot make",
			  p->pid, p->fd, clock_name(clk));
	return -1;
}

static int dump_timerfd(struct fd_parms *p, u32 id)
{
	TimerfdEntry te = TIMERFD_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	struct timespec now;

	if (read_timerfd(p, &te) || check_alarm(p, te.clockid))
		return -1;
	if (te.settime_flags & TFD_TIMER_ABSTIME) {
		if (clock_gettime(base_clock(te.clockid), &now)) {
			pr_perror("cannot read %s", clock_name(te.clockid));
			return -1;
		}
		te.has_dump_sec = te.has_dump_nsec = true;
		te.dump_sec = now.tv_sec;
		te.dump_nsec = now.tv_nsec;
	}
	te.id = id;
	te.flags = p->flags;
	te.fown = &fown;
	fe.type = FD_TYPES__TIMERFD;
	fe.id = id;
	fe.tfd = &te;
	pr_info("pid %d fd %d: timerfd on %s, %" PRIu64 ".%09" PRIu64 " s left, interval %" PRIu64
		".%09" PRIu64 " s, %" PRIu64 " ticks, settime flags %#x\n",
		p->pid, p->fd, clock_name(te.clockid), te.vsec, te.vnsec, te.isec, te.insec,
		te.ticks, te.settime_flags);
	return write_file_entry(&fe);
}

/* ---- restore ---- */

static void ts_add(struct timespec *t, u64 sec, u64 nsec)
{
	t->tv_sec += sec;
	t->tv_nsec += nsec;
	while (t->tv_nsec >= NSEC_PER_SEC) {
		t->tv_nsec -= NSEC_PER_SEC;
		t->tv_sec++;
	}
}

/*
 * The expiry of an absolute timer: the dump's clock reading plus the time
 * that was left.  A MONOTONIC or BOOTTIME clock that now reads less than
 * at the dump is another boot's (or another time namespace's): there the
 * old expiry means nothing, so the time left counts from now.
 */
static int abs_expiry(TimerfdEntry *te, struct timespec *exp)
{
	clockid_t clk = base_clock(te->clockid);
	struct timespec now;

	if (clock_gettime(clk, &now)) {
		pr_perror("cannot read %s", clock_name(te->clockid));
		return -1;
	}
	*exp = now;
	if (te->has_dump_sec && te->has_dump_nsec) {
		bool back = (u64)now.tv_sec < te->dump_sec ||
			    ((u64)now.tv_sec == te->dump_sec && (u64)now.tv_nsec < te->dump_nsec);

		if (clk == CLOCK_REALTIME || !back) {
			exp->tv_sec = te->dump_sec;
			exp->tv_nsec = te->dump_nsec;
		} else {
			pr_info("timerfd %u: %s went back since the dump; counting from now\n",
				te->id, clock_name(te->clockid));
		}
	}
	ts_add(exp, te->vsec, te->vnsec);
	return 0;
}

static int arm_timerfd(int fd, TimerfdEntry *te)
{
	struct itimerspec its = {
		.it_interval = {.tv_sec = te->isec, .tv_nsec = te->insec},
		.it_value = {.tv_sec = te->vsec, .tv_nsec = te->vnsec},
	};
	bool armed = te->vsec || te->vnsec;

	if (armed && (te->settime_flags & TFD_TIMER_ABSTIME) && abs_expiry(te, &its.it_value))
		return -1;
	/* a disarmed timer keeps its flags too: settime with a zero value */
	if (timerfd_settime(fd, te->settime_flags, &its, NULL)) {
		pr_perror("cannot set timerfd %u (%s, flags %#x)", te->id, clock_name(te->clockid),
			  te->settime_flags);
		return -1;
	}
	if (te->ticks && ioctl(fd, TFD_IOC_SET_TICKS, &te->ticks)) {
		pr_perror("cannot give timerfd %u its %" PRIu64 " unread expirations "
			  "(TFD_IOC_SET_TICKS)",
			  te->id, te->ticks);
		return -1;
	}
	return 0;
}

static int open_timerfd(FileEntry *fe, int *fd)
{
	TimerfdEntry *te = fe->tfd;
	int flags = TFD_CLOEXEC;

	if (!te) {
		pr_err("files.img: file %u of type TIMERFD has no tfd entry\n", fe->id);
		return -1;
	}
	if (te->flags & O_NONBLOCK)
		flags |= TFD_NONBLOCK;
	*fd = timerfd_create(te->clockid, flags);
	if (*fd < 0) {
		if (errno == EPERM && is_alarm(te->clockid))
			pr_err("cannot restore timerfd %u on %s: it needs CAP_WAKE_ALARM, "
			       "which criu does not have\n",
			       fe->id, clock_name(te->clockid));
		else
			pr_perror("cannot create timerfd %u on %s (clockid %u)", fe->id,
				  clock_name(te->clockid), te->clockid);
		return -1;
	}
	if (arm_timerfd(*fd, te)) {
		close(*fd);
		return -1;
	}
	pr_debug("timerfd %u: %s, %" PRIu64 ".%09" PRIu64 " s left, interval %" PRIu64 ".%09" PRIu64
		 " s, %" PRIu64 " ticks\n",
		 fe->id, clock_name(te->clockid), te->vsec, te->vnsec, te->isec, te->insec,
		 te->ticks);
	return 0;
}

const struct fd_kind timerfd_kind = {
	.name = "timerfd",
	.type = FD_TYPES__TIMERFD,
	.match = match_timerfd,
	.dump = dump_timerfd,
	.open = open_timerfd,
};
