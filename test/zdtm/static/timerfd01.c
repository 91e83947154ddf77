// SPDX-License-Identifier: GPL-2.0-only
/*
 * timerfds on the alarm clocks (they need CAP_WAKE_ALARM): BOOTTIME_ALARM
 * relative, 1000 s ahead, every 3 s; REALTIME_ALARM absolute, an hour
 * ahead.  Afterwards: the same clocks, flags and intervals; the absolute
 * one expires at the same time (to 20 ms), the relative one has no more
 * than its time left and no less than that minus the time that passed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#endif
#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif

#define MS 1000000LL
#define SEC 1000000000LL

static int64_t clock_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t ns_of(const struct timespec *ts)
{
	return ts->tv_sec * SEC + ts->tv_nsec;
}

static int arm(int clock, int flags, int64_t value, int64_t interval)
{
	struct itimerspec its = {
		.it_interval = {interval / SEC, interval % SEC},
		.it_value = {value / SEC, value % SEC},
	};
	int fd = timerfd_create(clock, 0);

	if (fd < 0 || timerfd_settime(fd, flags, &its, NULL))
		return -1;
	return fd;
}

static int check(int fd, int clock, int flags, int64_t interval, int64_t lo, int64_t hi,
		 const char *what)
{
	char path[64], buf[1024], *p, *q;
	struct itimerspec its;
	int64_t left;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0) {
		pr_perror("%s: cannot read %s", what, path);
		return -1;
	}
	buf[len] = '\0';
	p = strstr(buf, "clockid:");
	q = strstr(buf, "settime flags:");
	if (!p || !q || atoi(p + 8) != clock || strtol(q + 14, NULL, 8) != flags) {
		fail("%s: fdinfo says %s", what, buf);
		return -1;
	}
	if (timerfd_gettime(fd, &its)) {
		pr_perror("%s: timerfd_gettime", what);
		return -1;
	}
	left = ns_of(&its.it_value);
	if (ns_of(&its.it_interval) != interval || left < lo || left > hi) {
		fail("%s: %lld ns left, interval %lld; want %lld to %lld, %lld", what,
		     (long long)left, (long long)ns_of(&its.it_interval), (long long)lo,
		     (long long)hi, (long long)interval);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int64_t boot0, expiry, passed;
	int rel, abs_fd;

	test_init(argc, argv);
	boot0 = clock_ns(CLOCK_BOOTTIME);
	expiry = clock_ns(CLOCK_REALTIME) + 3600 * SEC;
	rel = arm(CLOCK_BOOTTIME_ALARM, 0, 1000 * SEC, 3 * SEC);
	abs_fd = arm(CLOCK_REALTIME_ALARM, TFD_TIMER_ABSTIME, expiry, 0);
	if (rel < 0 || abs_fd < 0) {
		pr_perror("alarm timerfd");
		return 1;
	}

	test_daemon();
	test_waitsig();

	passed = clock_ns(CLOCK_BOOTTIME) - boot0;
	if (check(rel, CLOCK_BOOTTIME_ALARM, 0, 3 * SEC, 1000 * SEC - passed - 20 * MS, 1000 * SEC,
		  "boottime-alarm"))
		return 1;
	passed = expiry - clock_ns(CLOCK_REALTIME);
	if (check(abs_fd, CLOCK_REALTIME_ALARM, TFD_TIMER_ABSTIME, 0, passed - 20 * MS,
		  passed + 20 * MS, "realtime-alarm"))
		return 1;
	pass();
	return 0;
}
