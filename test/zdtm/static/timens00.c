// SPDX-License-Identifier: GPL-2.0-only
/*
 * Time namespace offsets (in the ns and uns flavors zdtm puts the test in
 * a time namespace with large offsets; in h and rootless they are zero):
 * - /proc/self/timens_offsets reads the same after the restore;
 * - CLOCK_MONOTONIC and CLOCK_BOOTTIME advance by what CLOCK_REALTIME
 *   (not namespaced) advanced, to a second: a restore outside the time
 *   namespace would jump by the offsets;
 * - an absolute CLOCK_MONOTONIC timerfd, an hour ahead, still expires at
 *   its time (to 20 ms); an absolute CLOCK_BOOTTIME POSIX timer at most
 *   as late as the dump and restore took (posix-timer images hold the
 *   time left, not the expiry), never early.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>

#include "zdtmtst.h"

#define SEC 1000000000LL
#define MS 1000000LL

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

static int offsets(char *buf, size_t len)
{
	ssize_t n = read_file("/proc/self/timens_offsets", buf, len - 1);

	if (n < 0) {
		pr_perror("read /proc/self/timens_offsets");
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* slack: how late it may expire beyond its time */
static int check_left(const char *what, int64_t left, int64_t at, int clock, int64_t slack)
{
	int64_t want = at - clock_ns(clock);

	if (left > want + slack + 20 * MS || left < want - 20 * MS) {
		fail("%s: %lld ns left, want %lld", what, (long long)left, (long long)want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int64_t mono0, boot0, real0, d_mono, d_boot, d_real, at_tfd, at_tmr;
	char before[256], after[256];
	struct itimerspec its = {};
	struct sigevent sev = {.sigev_notify = SIGEV_NONE};
	timer_t tmr;
	int tfd;

	test_init(argc, argv);
	if (offsets(before, sizeof(before)))
		return 1;
	tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	if (tfd < 0 || timer_create(CLOCK_BOOTTIME, &sev, &tmr)) {
		pr_perror("timerfd_create / timer_create");
		return 1;
	}
	at_tfd = clock_ns(CLOCK_MONOTONIC) + 3600 * SEC;
	its.it_value.tv_sec = at_tfd / SEC;
	its.it_value.tv_nsec = at_tfd % SEC;
	if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL)) {
		pr_perror("timerfd_settime");
		return 1;
	}
	at_tmr = clock_ns(CLOCK_BOOTTIME) + 3600 * SEC;
	its.it_value.tv_sec = at_tmr / SEC;
	its.it_value.tv_nsec = at_tmr % SEC;
	if (timer_settime(tmr, TIMER_ABSTIME, &its, NULL)) {
		pr_perror("timer_settime");
		return 1;
	}
	mono0 = clock_ns(CLOCK_MONOTONIC);
	boot0 = clock_ns(CLOCK_BOOTTIME);
	real0 = clock_ns(CLOCK_REALTIME);

	test_daemon();
	test_waitsig();

	d_mono = clock_ns(CLOCK_MONOTONIC) - mono0;
	d_boot = clock_ns(CLOCK_BOOTTIME) - boot0;
	d_real = clock_ns(CLOCK_REALTIME) - real0;
	if (offsets(after, sizeof(after)))
		return 1;
	if (strcmp(before, after)) {
		fail("timens_offsets were\n%s, are\n%s", before, after);
		return 1;
	}
	if (d_mono < 0 || d_mono > d_real + SEC || d_mono < d_real - SEC || d_boot < d_mono ||
	    d_boot > d_real + SEC) {
		fail("clocks moved by monotonic %lld, boottime %lld, realtime %lld ns",
		     (long long)d_mono, (long long)d_boot, (long long)d_real);
		return 1;
	}
	if (timerfd_gettime(tfd, &its)) {
		pr_perror("timerfd_gettime");
		return 1;
	}
	if (check_left("timerfd", ns_of(&its.it_value), at_tfd, CLOCK_MONOTONIC, 0))
		return 1;
	if (timer_gettime(tmr, &its)) {
		pr_perror("timer_gettime");
		return 1;
	}
	if (check_left("posix timer", ns_of(&its.it_value), at_tmr, CLOCK_BOOTTIME, d_real))
		return 1;
	pass();
	return 0;
}
