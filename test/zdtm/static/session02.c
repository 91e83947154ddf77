// SPDX-License-Identifier: GPL-2.0-only
/*
 * Several sessions and groups whose leader is gone, mixed, with members
 * that are children of different parents.  The test (a child subreaper)
 * gets, in order:
 * - an orphaned session S: its leader forked D1 (which has a child D1c in
 *   S), D3, which exited (a zombie in S), and a group leader X, which
 *   forked D2 in its group and exited; then the session leader exited.
 *   D1, D2 and the zombie D3 are now the test's, D1c is D1's; group X has
 *   no leader either.
 * - in the test's session, a group G whose leader forked M1 (with a child
 *   M1c) and exited; then another child B of the test joined G and forked
 *   Bc in it.
 * Afterwards every member has the same pid, parent, group and session,
 * and the list of all tasks of both sessions (pid, parent, group) is the
 * same as before: no helper is left.
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "session_util.h"

#define NR_MEMBERS 7
#define ZOMBIE_CODE 7

static int ready_pipe[2];

/* A member that waits until its creator has exited, with an optional child. */
static pid_t member(const char *name, int with_child, pid_t creator)
{
	pid_t pid = fork(), kid = 0;

	if (pid)
		return pid;
	close(ready_pipe[0]);
	if (with_child) {
		char kname[32];

		snprintf(kname, sizeof(kname), "%s's child", name);
		kid = fork();
		if (kid < 0)
			_exit(12);
		if (kid == 0)
			member_main(kname, ready_pipe[1], 0);
	}
	while (creator && getppid() == creator)
		usleep(1000);
	member_main(name, ready_pipe[1], kid);
}

static void __attribute__((noreturn)) session_leader(void)
{
	pid_t self = getpid(), x, d3;
	siginfo_t si;
	int status;

	if (setsid() < 0)
		_exit(10);
	if (member("D1", 1, self) < 0)
		_exit(11);
	d3 = fork();
	if (d3 == 0)
		_exit(ZOMBIE_CODE);
	/* left unreaped: it goes to the test as a zombie */
	if (d3 < 0 || waitid(P_PID, d3, &si, WEXITED | WNOWAIT))
		_exit(19);
	x = fork();
	if (x < 0)
		_exit(11);
	if (x == 0) {
		pid_t xself = getpid();

		if (setpgid(0, 0) || member("D2", 0, xself) < 0)
			_exit(14);
		_exit(0);
	}
	if (waitpid(x, &status, 0) != x || status)
		_exit(15);
	_exit(0);
}

static void __attribute__((noreturn)) group_leader(void)
{
	pid_t self = getpid();

	if (setpgid(0, 0) || member("M1", 1, self) < 0)
		_exit(16);
	_exit(0);
}

/* "pid ppid pgid sid" of every task in session a or b, by pid. */
static int snapshot(pid_t a, pid_t b, char *out, size_t size)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	size_t len = 0;
	int pids[256], n = 0, i, j;

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < 256) {
		pid_t pgid, sid;
		int pid = atoi(de->d_name);

		if (pid <= 0 || stat_ids(pid, &pgid, &sid) || (sid != a && sid != b))
			continue;
		pids[n++] = pid;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (pids[j] < pids[i]) {
				int t = pids[i];

				pids[i] = pids[j];
				pids[j] = t;
			}
	out[0] = '\0';
	for (i = 0; i < n && len < size; i++) {
		char path[64], buf[512], *p;
		int ppid, pgid, sid;

		snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
		if (read_file(path, buf, sizeof(buf) - 1) <= 0)
			continue;
		buf[sizeof(buf) - 1] = '\0';
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 2, "%*c %d %d %d", &ppid, &pgid, &sid) != 3)
			return -1;
		/* the test's own parent is the runner's or criu's */
		if (pids[i] == getpid())
			ppid = 0;
		len += snprintf(out + len, size - len, "%d:%d/%d/%d ", pids[i], ppid, pgid, sid);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char before[4096], after[4096], kids[256], buf[NR_MEMBERS], *p;
	pid_t s, g, b, me;
	int status, ret = 0;

	test_init(argc, argv);
	me = getpid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || pipe(ready_pipe)) {
		pr_perror("PR_SET_CHILD_SUBREAPER or pipe");
		return 1;
	}
	s = fork();
	if (s == 0)
		session_leader();
	if (s < 0 || waitpid(s, &status, 0) != s || status) {
		fail("the session leader failed (%#x)", status);
		return 1;
	}
	g = fork();
	if (g == 0)
		group_leader();
	if (g < 0 || waitpid(g, &status, 0) != g || status) {
		fail("the group leader failed (%#x)", status);
		return 1;
	}
	/* 5 members are there: the group G still exists, B can join it */
	if (read_all(ready_pipe[0], buf, 5)) {
		fail("the members did not get ready");
		return 1;
	}
	b = fork();
	if (b == 0) {
		pid_t kid;

		if (setpgid(0, g))
			_exit(17);
		close(ready_pipe[0]);
		kid = fork();
		if (kid == 0)
			member_main("Bc", ready_pipe[1], 0);
		member_main("B", ready_pipe[1], kid > 0 ? kid : 0);
	}
	if (b < 0 || read_all(ready_pipe[0], buf, 2)) {
		fail("B did not get ready");
		return 1;
	}
	if (snapshot(me, s, before, sizeof(before)) || read_children(kids, sizeof(kids))) {
		fail("cannot list the tasks");
		return 1;
	}
	test_msg("before: %s", before);

	test_daemon();
	test_waitsig();

	if (snapshot(me, s, after, sizeof(after)) || strcmp(before, after)) {
		fail("tasks were %s, now %s", before, after);
		ret = 1;
	}
	for (p = kids; *p;) {
		pid_t kid = strtol(p, &p, 10);

		if (kid <= 0)
			break;
		char path[64], st[512], *z;
		int want = 0;
		ssize_t len;

		/* the zombie D3 is reaped with its exit code */
		snprintf(path, sizeof(path), "/proc/%d/stat", kid);
		len = read_file(path, st, sizeof(st) - 1);
		st[len > 0 ? len : 0] = '\0';
		z = strrchr(st, ')');
		if (z && z[1] == ' ' && z[2] == 'Z')
			want = ZOMBIE_CODE << 8;
		status = stop_child(kid, 5000);
		if (status != want) {
			fail("member %d ended with %#x, want %#x", kid, status, want);
			ret = 1;
		}
		while (*p == ' ' || *p == '\n')
			p++;
	}
	if (ret)
		return 1;
	pass();
	return 0;
}
