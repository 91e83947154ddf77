// SPDX-License-Identifier: GPL-2.0-only
/*
 * membarrier registrations of the process: private expedited and global
 * expedited.  After the restore the kernel reports the same registrations
 * and a private expedited barrier works (it fails with EPERM unregistered).
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define GET_REGISTRATIONS (1 << 9)

static long mb(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

static int check(const char *when, long want)
{
	long regs = mb(GET_REGISTRATIONS);

	if (regs != want) {
		fail("%s: registrations %#lx, want %#lx", when, regs, want);
		return 1;
	}
	if (mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
		fail("%s: private expedited barrier: %m", when);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long want;

	test_init(argc, argv);
	if (mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
	    mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED)) {
		pr_perror("membarrier register");
		return 1;
	}
	want = mb(GET_REGISTRATIONS);
	if (want < 0) {
		pr_perror("membarrier(GET_REGISTRATIONS)");
		return 1;
	}
	if (check("before", want))
		return 1;

	test_daemon();
	test_waitsig();

	if (check("after", want))
		return 1;
	pass();
	return 0;
}
