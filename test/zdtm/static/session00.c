// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sessions and process groups: the test (a session leader) has a child
 * leading its own process group in the test's session, and a child that
 * started its own session, with a child of its own in that session.
 * Afterwards all ids are the same, as seen by the processes themselves
 * and by the test.
 */
#include <unistd.h>

#include "zdtmtst.h"

struct ids {
	pid_t pid, pgid, sid;
};

enum { OWN_GROUP, OWN_SESSION, IN_SESSION, NR_KIDS };

static int ready_pipe[2];

static void get_ids(struct ids *ids)
{
	ids->pid = getpid();
	ids->pgid = getpgid(0);
	ids->sid = getsid(0);
}

static int same_ids(const struct ids *a, const struct ids *b)
{
	return a->pid == b->pid && a->pgid == b->pgid && a->sid == b->sid;
}

static void __attribute__((noreturn)) kid_main(int kind)
{
	struct ids before, after;
	pid_t sub = 0;

	if (kind == OWN_GROUP && setpgid(0, 0))
		_exit(10);
	if (kind == OWN_SESSION && setsid() < 0)
		_exit(11);
	if (kind == OWN_SESSION) {
		sub = fork();
		if (sub < 0)
			_exit(12);
		if (sub == 0)
			kid_main(IN_SESSION);
	}
	get_ids(&before);
	close(ready_pipe[0]);
	if (write_all(ready_pipe[1], "r", 1))
		_exit(13);
	close(ready_pipe[1]);

	test_waitsig();
	get_ids(&after);
	if (!same_ids(&before, &after)) {
		fail("kid %d: pid/pgid/sid %d/%d/%d -> %d/%d/%d", kind, before.pid, before.pgid,
		     before.sid, after.pid, after.pgid, after.sid);
		_exit(1);
	}
	if (sub && stop_child(sub, 5000))
		_exit(2);
	_exit(0);
}

static int check_from_outside(pid_t pid, pid_t pgid, pid_t sid)
{
	if (getpgid(pid) != pgid || getsid(pid) != sid) {
		fail("pid %d: pgid %d sid %d, want %d %d", pid, getpgid(pid), getsid(pid), pgid,
		     sid);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t group_kid, session_kid, me = getpid();
	char buf[3];
	int status, ret;

	test_init(argc, argv);
	me = getpid();
	if (pipe(ready_pipe)) {
		pr_perror("pipe");
		return 1;
	}
	group_kid = fork();
	if (group_kid == 0)
		kid_main(OWN_GROUP);
	session_kid = fork();
	if (session_kid == 0)
		kid_main(OWN_SESSION);
	if (group_kid < 0 || session_kid < 0) {
		pr_perror("fork");
		return 1;
	}
	close(ready_pipe[1]);
	if (read_all(ready_pipe[0], buf, 3)) {
		fail("the children did not get ready");
		return 1;
	}
	close(ready_pipe[0]);

	test_daemon();
	test_waitsig();

	ret = check_from_outside(me, me, me) || check_from_outside(group_kid, group_kid, me) ||
	      check_from_outside(session_kid, session_kid, session_kid);
	/* Stop both children whatever the checks said. */
	status = stop_child(group_kid, 5000);
	if (status) {
		fail("the group leader child ended with %#x", status);
		ret = 1;
	}
	status = stop_child(session_kid, 5000);
	if (status) {
		fail("the session leader child ended with %#x", status);
		ret = 1;
	}
	if (ret)
		return 1;
	pass();
	return 0;
}
