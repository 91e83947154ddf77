// SPDX-License-Identifier: GPL-2.0-only
/*
 * --freeze-cgroup: the test and its three children in a freezer cgroup
 * of their own (v1 freezer, or the v2 hierarchy where the host has no v1
 * freezer); the runner dumps with --freeze-cgroup on it (desc
 * "freeze_cgroup": true).  Afterwards every process is back in that
 * cgroup, which is not frozen, and the children still run.
 */
#include <signal.h>
#include <sys/wait.h>

#include "cgroup_util.h"

#define NR_KIDS 3

static struct cg cgs[] = {
	{ .ctrl = "freezer", .sub = "" },
};

int main(int argc, char **argv)
{
	char dir[768], state[64];
	pid_t kids[NR_KIDS];
	int i, n = 1, status, ret = 1;

	test_init(argc, argv);
	/* the freezer: v1's if the host has it, else v2's cgroup.freeze */
	if (cg_mount_of("freezer", dir, sizeof(dir)))
		cgs[0].ctrl = "";
	if (cg_setup(cgs, n, "cgroup02") <= 0) {
		fail("no freezer cgroup could be made");
		cg_leave(cgs, n);
		return 1;
	}
	cg_dir(&cgs[0], dir, sizeof(dir), false);
	cg_note("freezer", dir);
	for (i = 0; i < NR_KIDS; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			pr_perror("fork");
			return 1;
		}
		if (kids[i] == 0) {
			for (;;)
				pause();
		}
	}
	test_daemon();
	test_waitsig();
	for (i = 0; i < NR_KIDS; i++) {
		if (waitpid(kids[i], &status, WNOHANG)) {
			fail("child %d is gone", kids[i]);
			goto out;
		}
		if (cg_check(kids[i], cgs, n))
			goto out;
	}
	if (cg_check(0, cgs, n))
		goto out;
	if (!cg_read(dir, "freezer.state", state, sizeof(state)) && strcmp(state, "THAWED")) {
		fail("%s is %s after the restore", dir, state);
		goto out;
	}
	if (!cg_read(dir, "cgroup.freeze", state, sizeof(state)) && strcmp(state, "0")) {
		fail("%s/cgroup.freeze is %s after the restore", dir, state);
		goto out;
	}
	ret = 0;
	pass();
out:
	for (i = 0; i < NR_KIDS; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], &status, 0);
	}
	cg_leave(cgs, n);
	return ret;
}
