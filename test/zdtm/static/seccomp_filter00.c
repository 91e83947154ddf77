// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two seccomp filters in one process.  The older one makes getppid() fail
 * with EPERM and sched_yield() with E2BIG; the newer one (installed with
 * SECCOMP_FILTER_FLAG_LOG) makes sched_yield() fail with ENOTTY.  Of two
 * errno actions the newest filter's wins, so sched_yield() shows the
 * order of the chain.  Afterwards the calls fail the same way, getpid()
 * still works, and the status says Seccomp 2 with 2 filters.
 */
#include "seccomp_util.h"

static const struct sc_rule older[] = {
	{SYS_getppid, EPERM},
	{SYS_sched_yield, E2BIG},
};
static const struct sc_rule newer[] = {
	{SYS_sched_yield, ENOTTY},
};

static int check(const char *when)
{
	pid_t self = getpid();

	if (!sc_fails_with(SYS_getppid, EPERM) || !sc_fails_with(SYS_sched_yield, ENOTTY) ||
	    !sc_fails_with(SYS_getpid, 0)) {
		fail("%s: getppid/sched_yield/getpid do not fail with EPERM/ENOTTY/nothing", when);
		return 1;
	}
	if (sc_status(self, self, "Seccomp") != 2 ||
	    sc_status(self, self, "Seccomp_filters") != 2 ||
	    sc_status(self, self, "NoNewPrivs") != 1) {
		fail("%s: Seccomp %d, Seccomp_filters %d, NoNewPrivs %d; want 2, 2, 1", when,
		     sc_status(self, self, "Seccomp"), sc_status(self, self, "Seccomp_filters"),
		     sc_status(self, self, "NoNewPrivs"));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	test_daemon(); /* it asks getppid() until the launcher is gone */

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || sc_install(older, ARRAY_SIZE(older), 0) ||
	    sc_install(newer, ARRAY_SIZE(newer), SECCOMP_FILTER_FLAG_LOG)) {
		pr_perror("installing the filters");
		return 1;
	}
	if (check("before"))
		return 1;

	test_waitsig();

	if (check("after"))
		return 1;
	pass();
	return 0;
}
