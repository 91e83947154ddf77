// SPDX-License-Identifier: GPL-2.0-only
/* The task's ids: pid, tid, parent, process group and session. */
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

struct ids {
	pid_t pid, tid, ppid, pgid, sid;
};

static void get_ids(struct ids *ids)
{
	ids->pid = getpid();
	ids->tid = syscall(SYS_gettid);
	ids->ppid = getppid();
	ids->pgid = getpgid(0);
	ids->sid = getsid(0);
}

#define CHECK(field)                                                         \
	do {                                                                 \
		if (a.field != b.field) {                                    \
			fail(#field " changed: %d -> %d", a.field, b.field); \
			ret = 1;                                             \
		}                                                            \
	} while (0)

int main(int argc, char **argv)
{
	struct ids a, b;
	int ret = 0;

	test_init(argc, argv);
	test_daemon();
	get_ids(&a);
	if (a.sid != a.pid || a.pgid != a.pid) {
		fail("not a session leader: pid %d pgid %d sid %d", a.pid, a.pgid, a.sid);
		return 1;
	}
	test_waitsig();

	get_ids(&b);
	CHECK(pid);
	CHECK(tid);
	CHECK(ppid);
	CHECK(pgid);
	CHECK(sid);
	if (ret)
		return 1;
	pass();
	return 0;
}
