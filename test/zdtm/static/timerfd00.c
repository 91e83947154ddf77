// SPDX-License-Identifier: GPL-2.0-only
/*
 * timerfds on each clock a user may use:
 * - MONOTONIC, every 10 ms, never read: expirations pile up;
 * - MONOTONIC, once, already expired and not read: one tick, disarmed;
 * - REALTIME, absolute (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET), an
 *   hour ahead, every 7 s;
 * - MONOTONIC, absolute, an hour ahead;
 * - BOOTTIME, relative, 1000 s ahead, every 2.5 s.
 * Afterwards: the same clocks, flags and intervals; an absolute timer
 * expires at the same time (to 20 ms); a relative one has no more than
 * its time left and no less than that minus the time that passed; the
 * periodic timer reads at least the expirations due before the dump, and
 * goes on expiring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MS 1000000LL
#define SEC 1000000000LL
#define PERIOD (10 * MS)

struct tfd {
	const char *name;
	int clock, flags;
	int64_t value, interval; /* ns; value is absolute with TFD_TIMER_ABSTIME */
	int fd;
};

static struct tfd tfds[] = {
	{"periodic", CLOCK_MONOTONIC, 0, PERIOD, PERIOD, -1},
	{"expired", CLOCK_MONOTONIC, 0, 1 * MS, 0, -1},
	{"realtime-abs", CLOCK_REALTIME, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, 3600 * SEC,
	 7 * SEC, -1},
	{"monotonic-abs", CLOCK_MONOTONIC, TFD_TIMER_ABSTIME, 3600 * SEC, 0, -1},
	{"boottime", CLOCK_BOOTTIME, 0, 1000 * SEC, 2500 * MS, -1},
};

static int64_t clock_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * SEC + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / SEC, .tv_nsec = ns % SEC};

	return ts;
}

static int64_t ns_of(const struct timespec *ts)
{
	return ts->tv_sec * SEC + ts->tv_nsec;
}

static int start(struct tfd *t)
{
	struct itimerspec its;

	t->fd = timerfd_create(t->clock, TFD_NONBLOCK);
	if (t->fd < 0)
		return -1;
	if (t->flags & TFD_TIMER_ABSTIME)
		t->value += clock_ns(t->clock);
	its.it_value = ts_of(t->value);
	its.it_interval = ts_of(t->interval);
	return timerfd_settime(t->fd, t->flags, &its, NULL);
}

static int fdinfo_int(int fd, const char *key, int base, long long *val)
{
	char path[64], buf[1024], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, key);
	if (!p)
		return -1;
	*val = strtoll(p + strlen(key), NULL, base);
	return 0;
}

/* Clock, settime flags, file flags and interval; the time left in *left. */
static int check_common(struct tfd *t, int64_t *left)
{
	long long clk = -1, fl = -1;
	struct itimerspec its;

	if (fdinfo_int(t->fd, "clockid:", 10, &clk) || clk != t->clock ||
	    fdinfo_int(t->fd, "settime flags:", 8, &fl) || fl != t->flags) {
		fail("%s: clockid %lld settime flags %llo, want %d %o", t->name, clk, fl, t->clock,
		     t->flags);
		return -1;
	}
	if (!(fcntl(t->fd, F_GETFL) & O_NONBLOCK)) {
		fail("%s: lost O_NONBLOCK", t->name);
		return -1;
	}
	if (timerfd_gettime(t->fd, &its)) {
		pr_perror("%s: timerfd_gettime", t->name);
		return -1;
	}
	if (ns_of(&its.it_interval) != t->interval) {
		fail("%s: interval %lld ns, want %lld", t->name, (long long)ns_of(&its.it_interval),
		     (long long)t->interval);
		return -1;
	}
	*left = ns_of(&its.it_value);
	return 0;
}

static int read_ticks(struct tfd *t, uint64_t *ticks)
{
	*ticks = 0;
	if (read(t->fd, ticks, sizeof(*ticks)) == sizeof(*ticks))
		return 0;
	return errno == EAGAIN ? 0 : -1;
}

/* An absolute timer must still expire at its time. */
static int check_abs(struct tfd *t)
{
	int64_t left, want;

	if (check_common(t, &left))
		return -1;
	want = t->value - clock_ns(t->clock);
	if (left > want + 20 * MS || left < want - 20 * MS) {
		fail("%s: %lld ns left, want %lld", t->name, (long long)left, (long long)want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tfd *per = &tfds[0], *exp = &tfds[1], *boot = &tfds[4];
	int64_t t0, boot0, due, left, passed;
	uint64_t ticks;
	size_t i;

	test_init(argc, argv);
	t0 = clock_ns(CLOCK_MONOTONIC);
	boot0 = clock_ns(CLOCK_BOOTTIME);
	for (i = 0; i < ARRAY_SIZE(tfds); i++)
		if (start(&tfds[i])) {
			pr_perror("%s: timerfd", tfds[i].name);
			return 1;
		}
	usleep(100 * 1000);
	/* expirations of the periodic timer surely due by now */
	due = (clock_ns(CLOCK_MONOTONIC) - t0) / PERIOD;

	test_daemon();
	test_waitsig();

	if (check_common(per, &left) || left > PERIOD || read_ticks(per, &ticks))
		return 1;
	passed = clock_ns(CLOCK_MONOTONIC) - t0;
	if ((int64_t)ticks < due || (int64_t)ticks > passed / PERIOD + 1) {
		fail("periodic: %llu expirations, want %lld to %lld", (unsigned long long)ticks,
		     (long long)due, (long long)(passed / PERIOD + 1));
		return 1;
	}
	/* and it still runs */
	usleep(3 * PERIOD / 1000);
	if (read_ticks(per, &ticks) || ticks < 1) {
		fail("periodic: no expiry in the %lld ms after the restore",
		     (long long)(3 * PERIOD / MS));
		return 1;
	}
	if (check_common(exp, &left) || read_ticks(exp, &ticks))
		return 1;
	if (left || ticks != 1) {
		fail("expired: %lld ns left, %llu ticks; want 0, 1", (long long)left,
		     (unsigned long long)ticks);
		return 1;
	}
	if (check_abs(&tfds[2]) || check_abs(&tfds[3]))
		return 1;
	if (check_common(boot, &left))
		return 1;
	passed = clock_ns(CLOCK_BOOTTIME) - boot0;
	if (left > boot->value || left < boot->value - passed - 20 * MS) {
		fail("boottime: %lld ns left, want %lld to %lld", (long long)left,
		     (long long)(boot->value - passed), (long long)boot->value);
		return 1;
	}
	pass();
	return 0;
}
