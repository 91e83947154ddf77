// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sessions and groups whose leader is gone.  A daemon-style double fork:
 * a child starts a session, forks a grandchild in it and exits, so the
 * grandchild (re-parented to the test, a child subreaper) lives in an
 * orphaned session with no leader.  And a child that led its own process
 * group forks a member of it and exits: a group with no leader in the
 * test's session.  Afterwards each member has the same pid, parent, group
 * and session; the test has the same children, and the same number of
 * tasks is in that session and that group: no helper is left.
 */
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "session_util.h"

static int ready_pipe[2];

/* Forks a member after making a session (or a group), then exits. */
static pid_t gone_leader(int session)
{
	pid_t lead = fork(), member, creator;
	int status;

	if (lead < 0)
		return -1;
	if (lead == 0) {
		if (session ? setsid() < 0 : setpgid(0, 0) < 0)
			_exit(10);
		creator = getpid();
		member = fork();
		if (member < 0)
			_exit(11);
		if (member == 0) {
			/* the ids to keep are those after the leader's exit */
			while (getppid() == creator)
				usleep(1000);
			close(ready_pipe[0]);
			member_main(session ? "daemon" : "group member", ready_pipe[1], 0);
		}
		_exit(0);
	}
	if (waitpid(lead, &status, 0) != lead || status)
		return -1;
	return lead;
}

int main(int argc, char **argv)
{
	pid_t sid, pgid, me;
	char kids[256], kids_after[256], buf[2];
	int in_sid, in_pgid, in_mine, ret = 0;

	test_init(argc, argv);
	me = getpid();
	/* the orphans come to us, also on the host */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		pr_perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	if (pipe(ready_pipe)) {
		pr_perror("pipe");
		return 1;
	}
	sid = gone_leader(1);
	pgid = gone_leader(0);
	if (sid < 0 || pgid < 0) {
		fail("cannot set up the gone leaders");
		return 1;
	}
	if (read_all(ready_pipe[0], buf, 2)) {
		fail("the members did not get ready");
		return 1;
	}
	in_sid = count_tasks(sid, 1);
	in_pgid = count_tasks(pgid, 0);
	in_mine = count_tasks(me, 1);
	if (in_sid != 1 || in_pgid != 1 || read_children(kids, sizeof(kids))) {
		fail("session %d has %d tasks, group %d has %d", sid, in_sid, pgid, in_pgid);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (read_children(kids_after, sizeof(kids_after)) || strcmp(kids, kids_after)) {
		fail("children were '%s', now '%s'", kids, kids_after);
		ret = 1;
	}
	if (count_tasks(sid, 1) != in_sid || count_tasks(pgid, 0) != in_pgid ||
	    count_tasks(me, 1) != in_mine) {
		fail("session %d has %d tasks, group %d has %d, mine %d (were %d %d %d)", sid,
		     count_tasks(sid, 1), pgid, count_tasks(pgid, 0), count_tasks(me, 1), in_sid,
		     in_pgid, in_mine);
		ret = 1;
	}
	if (getsid(0) != me || getpgid(0) != me) {
		fail("the test left its session");
		ret = 1;
	}
	{
		/* each member checks itself; then they end */
		char *p = kids;
		int status;

		while (*p) {
			pid_t kid = strtol(p, &p, 10);

			if (kid <= 0)
				break;
			status = stop_child(kid, 5000);
			if (status) {
				fail("member %d ended with %#x", kid, status);
				ret = 1;
			}
			while (*p == ' ' || *p == '\n')
				p++;
		}
	}
	if (ret)
		return 1;
	pass();
	return 0;
}
