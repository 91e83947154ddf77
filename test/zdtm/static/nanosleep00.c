// SPDX-License-Identifier: GPL-2.0-only
/*
 * Asleep in nanosleep() at the checkpoint.  The test sleeps towards a
 * long total, going on with the remaining time whenever it is woken.  It
 * must never be told the sleep completed, the remaining time must only
 * shrink, and no more time may be reported slept than passed on the
 * monotonic clock.  Afterwards a short sleep must still last its time.
 */
#include <errno.h>
#include <time.h>

#include "zdtmtst.h"

#define TOTAL_S 1000
#define SHORT_NS (100 * 1000 * 1000LL)
#define MAX_SPURIOUS 5

static long long ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

int main(int argc, char **argv)
{
	struct timespec req = { TOTAL_S, 0 }, rem;
	struct timespec short_req = { 0, SHORT_NS };
	long long slept, wall, prev = ts_ns(&req);
	int spurious = 0;
	uint64_t t0;

	test_init(argc, argv);
	test_daemon();
	t0 = now_ns();
	while (!test_sigterm_seen) {
		if (nanosleep(&req, &rem) == 0) {
			fail("a %d s sleep completed", TOTAL_S);
			return 1;
		}
		if (errno != EINTR) {
			pr_perror("nanosleep");
			return 1;
		}
		if (ts_ns(&rem) > prev || ts_ns(&rem) <= 0) {
			fail("remaining time went from %lld to %lld ns", prev,
			     ts_ns(&rem));
			return 1;
		}
		if (!test_sigterm_seen && ++spurious > MAX_SPURIOUS) {
			fail("woken %d times without a signal", spurious);
			return 1;
		}
		prev = ts_ns(&rem);
		req = rem;
	}
	wall = now_ns() - t0;
	slept = TOTAL_S * 1000000000LL - prev;
	if (slept > wall + 50 * 1000 * 1000) {
		fail("slept %lld ns in %lld ns of wall time", slept, wall);
		return 1;
	}
	t0 = now_ns();
	while (nanosleep(&short_req, &short_req) && errno == EINTR)
		;
	if ((long long)(now_ns() - t0) < SHORT_NS) {
		fail("a %lld ns sleep lasted %lld ns", SHORT_NS,
		     (long long)(now_ns() - t0));
		return 1;
	}
	pass();
	return 0;
}
