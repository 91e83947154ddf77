// SPDX-License-Identifier: GPL-2.0-only
/*
 * Resource limits: soft limits lowered on many resources and some hard
 * limits lowered too (lowering needs no privilege); all sixteen read
 * back the same afterwards.
 */
#include <sys/resource.h>

#include "zdtmtst.h"

static const struct {
	int res;
	rlim_t soft, hard; /* wanted; RLIM_INFINITY: keep */
} plan[] = {
	{RLIMIT_NOFILE, 256, RLIM_INFINITY},	   {RLIMIT_CORE, 40960, 1 << 20},
	{RLIMIT_STACK, 6 << 20, RLIM_INFINITY},	   {RLIMIT_MSGQUEUE, 1000, 2000},
	{RLIMIT_SIGPENDING, 1000, RLIM_INFINITY},  {RLIMIT_NPROC, 4000, RLIM_INFINITY},
	{RLIMIT_FSIZE, 1ULL << 30, RLIM_INFINITY}, {RLIMIT_DATA, 1ULL << 34, RLIM_INFINITY},
	{RLIMIT_MEMLOCK, 65536, RLIM_INFINITY},	   {RLIMIT_LOCKS, 100, 200},
	{RLIMIT_RTTIME, 1000000, 2000000},	   {RLIMIT_CPU, 3600, RLIM_INFINITY},
};

static rlim_t lower(rlim_t want, rlim_t have)
{
	return want < have ? want : have;
}

int main(int argc, char **argv)
{
	struct rlimit saved[RLIM_NLIMITS], now, rl;
	unsigned int i;
	int r;

	test_init(argc, argv);
	for (i = 0; i < ARRAY_SIZE(plan); i++) {
		if (getrlimit(plan[i].res, &rl)) {
			pr_perror("getrlimit %d", plan[i].res);
			return 1;
		}
		rl.rlim_max = lower(plan[i].hard, rl.rlim_max);
		rl.rlim_cur = lower(plan[i].soft, rl.rlim_max);
		if (setrlimit(plan[i].res, &rl)) {
			pr_perror("setrlimit %d", plan[i].res);
			return 1;
		}
	}
	for (r = 0; r < RLIM_NLIMITS; r++)
		if (getrlimit(r, &saved[r])) {
			pr_perror("getrlimit %d", r);
			return 1;
		}

	test_daemon();
	test_waitsig();

	for (r = 0; r < RLIM_NLIMITS; r++) {
		if (getrlimit(r, &now)) {
			pr_perror("getrlimit %d", r);
			return 1;
		}
		if (now.rlim_cur != saved[r].rlim_cur || now.rlim_max != saved[r].rlim_max) {
			fail("limit %d: %llx/%llx -> %llx/%llx", r,
			     (unsigned long long)saved[r].rlim_cur,
			     (unsigned long long)saved[r].rlim_max,
			     (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max);
			return 1;
		}
	}
	pass();
	return 0;
}
