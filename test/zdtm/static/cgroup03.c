// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two tasks in different cgroups: the test in cgroups of its own (as
 * cgroup00) and its child in cgroups below those, with other property
 * values.  The runner removes them all between dump and restore; each
 * task must come back in its own cgroups (the child is forked by a parent
 * that has already moved), with every value.
 */
#include <signal.h>
#include <sys/wait.h>

#include "cgroup_util.h"

#define NR_CG 3

static struct cg mine[NR_CG] = {
	{ .ctrl = "pids", .sub = "", .prop = "pids.max", .value = "61" },
	{ .ctrl = "cpu", .sub = "", .prop = "cpu.shares", .value = "768" },
	{ .ctrl = "", .sub = "", .prop = "cgroup.max.descendants", .value = "6" },
};

static struct cg kids[NR_CG] = {
	{ .ctrl = "pids", .sub = "kid", .prop = "pids.max", .value = "13" },
	{ .ctrl = "cpu", .sub = "kid", .prop = "cpu.shares", .value = "128" },
	{ .ctrl = "", .sub = "kid", .prop = "cgroup.max.descendants", .value = "2" },
};

int main(int argc, char **argv)
{
	int p[2], status, ret = 1;
	char c = 0;
	pid_t kid;

	test_init(argc, argv);
	if (cg_setup(mine, NR_CG, "cgroup03") <= 0 || pipe(p)) {
		fail("no cgroup could be made");
		cg_leave(mine, NR_CG);
		return 1;
	}
	/* the child's, below ours: what it makes, as we see it */
	cg_plan(kids, NR_CG, "cgroup03");
	kid = fork();
	if (kid < 0) {
		pr_perror("fork");
		return 1;
	}
	if (kid == 0) {
		c = cg_setup(kids, NR_CG, "cgroup03") > 0;
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(p[0], &c, 1) != 1 || !c) {
		fail("the child could not make its cgroups");
		goto out;
	}
	test_daemon();
	test_waitsig();
	if (waitpid(kid, &status, WNOHANG)) {
		fail("child %d is gone", kid);
		goto out;
	}
	if (cg_check(0, mine, NR_CG) || cg_check(kid, kids, NR_CG))
		goto out;
	ret = 0;
	pass();
out:
	kill(kid, SIGKILL);
	waitpid(kid, &status, 0);
	cg_leave(mine, NR_CG);
	return ret;
}
