// SPDX-License-Identifier: GPL-2.0-only
/*
 * Asleep in nanosleep() at the checkpoint.  The test sleeps towards a
 * deadline far away, going on with what is left whenever it is woken.
 * A sleep must never report completion before its time, a checkpoint
 * may wake it only a few times, and afterwards a short sleep must still
 * last its time.
 *
 * The remaining time is not asked from the kernel: it would write it into
 * the test's memory when the dumper interrupts the sleep, and the runner
 * checks that the dumper does not change memory.
 */
#include <errno.h>
#include <time.h>

#include "zdtmtst.h"

#define TOTAL_NS (1000 * 1000000000LL)
#define SHORT_NS (100 * 1000 * 1000LL)
#define MAX_SPURIOUS 5

static struct timespec to_ts(long long ns)
{
	struct timespec ts = {ns / 1000000000LL, ns % 1000000000LL};

	return ts;
}

/* Sleeps ns once; returns 0 if it completed, 1 if woken, -1 on error. */
static int sleep_once(long long ns)
{
	struct timespec req = to_ts(ns);
	uint64_t t0 = now_ns();

	if (nanosleep(&req, NULL) == 0) {
		if ((long long)(now_ns() - t0) < ns) {
			fail("a %lld ns sleep completed after %lld ns", ns,
			     (long long)(now_ns() - t0));
			return -1;
		}
		return 0;
	}
	if (errno != EINTR) {
		pr_perror("nanosleep");
		return -1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	uint64_t deadline, t0;
	int spurious = 0, ret;

	test_init(argc, argv);
	test_daemon();
	deadline = now_ns() + TOTAL_NS;
	while (!test_sigterm_seen) {
		ret = sleep_once(deadline - now_ns());
		if (ret < 0)
			return 1;
		if (ret == 0) {
			fail("woke up at the far deadline");
			return 1;
		}
		if (!test_sigterm_seen && ++spurious > MAX_SPURIOUS) {
			fail("woken %d times without a signal", spurious);
			return 1;
		}
	}

	/* A repeated SIGTERM may cut it short: sleep on what is left. */
	t0 = now_ns();
	for (;;) {
		long long left = SHORT_NS - (long long)(now_ns() - t0);

		if (left <= 0)
			break;
		if (sleep_once(left) < 0)
			return 1;
	}
	pass();
	return 0;
}
