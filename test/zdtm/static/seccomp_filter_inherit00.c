// SPDX-License-Identifier: GPL-2.0-only
/*
 * A seccomp filter inherited on fork.  The test installs filter A
 * (getppid fails with EPERM), then forks a child, which adds filter B
 * (sched_yield fails with ENOTTY).  The image holds A once, with B on it.
 * Afterwards the parent still has only A (getppid fails, sched_yield
 * works, 1 filter), the child has both (2 filters), and each checks its
 * own calls; the child's verdict is its exit status.
 */
#include <sys/wait.h>

#include "seccomp_util.h"

static const struct sc_rule rule_a[] = {{SYS_getppid, EPERM}};
static const struct sc_rule rule_b[] = {{SYS_sched_yield, ENOTTY}};

static int check(const char *who, int yield_err, int nr)
{
	pid_t self = getpid();

	if (!sc_fails_with(SYS_getppid, EPERM) || !sc_fails_with(SYS_sched_yield, yield_err)) {
		fail("%s: getppid/sched_yield do not fail with EPERM/%d", who, yield_err);
		return 1;
	}
	if (sc_status(self, self, "Seccomp") != 2 ||
	    sc_status(self, self, "Seccomp_filters") != nr) {
		fail("%s: Seccomp %d with %d filters, want 2 with %d", who,
		     sc_status(self, self, "Seccomp"), sc_status(self, self, "Seccomp_filters"),
		     nr);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int ready[2], status;
	pid_t child;
	char c;

	test_init(argc, argv);
	test_daemon(); /* it asks getppid() until the launcher is gone */

	if (pipe(ready) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || sc_install(rule_a, 1, 0)) {
		pr_perror("installing filter A");
		return 1;
	}
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0) {
		if (sc_install(rule_b, 1, 0) || check("child before", ENOTTY, 2) ||
		    write_all(ready[1], "r", 1))
			_exit(1);
		test_waitsig();
		_exit(check("child after", ENOTTY, 2));
	}
	if (read_all(ready[0], &c, 1)) {
		fail("the child did not get ready");
		return 1;
	}
	if (check("parent before", 0, 1))
		return 1;

	test_waitsig();

	if (check("parent after", 0, 1))
		return 1;
	status = stop_child(child, 5000);
	if (status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	pass();
	return 0;
}
