/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_INFECT_H
#define CR_INFECT_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/user.h>

#include "util.h"

/*
 * Running syscalls inside a stopped thread: its registers are saved, a
 * `syscall` is written over two bytes of an executable mapping, the
 * thread is run into it with PTRACE_SYSCALL and caught at its entry and
 * exit, and in the end code and registers are put back.  A scratch mapping made in the
 * task carries arguments and results.
 */
struct remote_ctl {
	pid_t pid;		/* the process */
	u64 code_addr;		/* where the syscall instruction was put */
	u64 saved_code;		/* the word it replaced */
	u64 scratch;		/* remote address of the scratch area */
	size_t scratch_len;
	int mem_fd;		/* /proc/PID/mem, for the scratch area */
};

/* Prepare remote calls in process pid; exec_addr: an executable address. */
int remote_start(struct remote_ctl *ctl, pid_t pid, u64 exec_addr);
/* Put the code back and unmap the scratch area. */
int remote_stop(struct remote_ctl *ctl);

/*
 * Run one syscall in thread tid of the process (all threads share the
 * code).  Returns 0 and the raw result in *ret (negative errno on
 * failure inside the task), or -1 when ptrace itself failed.
 */
int remote_syscall(struct remote_ctl *ctl, pid_t tid, long *ret, long nr, u64 a1, u64 a2,
		   u64 a3, u64 a4, u64 a5, u64 a6);

/* Say which signal stopped tid, where, and during what. */
void report_stop(pid_t tid, int sig, const char *during);
/* Continue tid to its next syscall-entry or -exit stop. */
int remote_syscall_stop(pid_t tid);
/* Redo an interrupted syscall by hand (see infect.c). */
void fixup_syscall_restart(struct user_regs_struct *r);
/* The same for registers saved in an image, where no restart block survives. */
void fixup_restart_for_image(struct user_regs_struct *r);

int remote_write(struct remote_ctl *ctl, u64 addr, const void *buf, size_t len);
int remote_read(struct remote_ctl *ctl, u64 addr, void *buf, size_t len);

#endif
