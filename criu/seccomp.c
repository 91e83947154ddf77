// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp: the mode of each thread from /proc/PID/status.  A task under
 * seccomp cannot be dumped yet: strict mode kills it at the first remote
 * syscall, and filters (PTRACE_SECCOMP_GET_FILTER) need CAP_SYS_ADMIN in
 * the initial namespace and a restore path that does not exist yet.
 * seccomp.img is still written (empty), as in CRIU's image set.
 */
#include "image.h"
#include "seccomp.pb-c.h"
#include "task_state.h"

int dump_seccomp_thread(pid_t tid, const struct proc_status *st, ThreadCoreEntry *tce)
{
	if (st->seccomp) {
		pr_err("unsupported: tid %d is under seccomp (%s mode)\n", tid,
		       st->seccomp == 1 ? "strict" : "filter");
		return -1;
	}
	tce->has_seccomp_mode = true;
	tce->seccomp_mode = st->seccomp == 1 ? SECCOMP_MODE__strict : SECCOMP_MODE__disabled;
	return 0;
}

int seccomp_dump_fini(void)
{
	SeccompEntry se = SECCOMP_ENTRY__INIT;

	/* one image for the whole dump: the id is not part of its name */
	return pb_write_image(CR_FD_SECCOMP, &se.base, 0);
}
