/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_INFECT_H
#define CR_INFECT_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/user.h>

#include "util.h"

struct pstree_item;

/*
 * Running syscalls inside a stopped process.  A session (remote_start ..
 * remote_stop) maps a scratch area in the process with one syscall run
 * from a word of its code (poked, and put back right after), and writes
 * there a `syscall` followed by an rt_sigreturn stub and, per thread, a
 * signal frame holding the thread's own registers and signal mask.
 * Between calls every thread is parked at the stub with all signals
 * blocked: should criu die, the kernel lets it run, and rt_sigreturn
 * puts it back as it was.  A call runs the `syscall` of the area and
 * stops at its entry and exit.  The end undoes all of it; only the
 * final munmap is again run from a poked word.
 */
struct remote_thread {
	pid_t tid;
	struct user_regs_struct regs;	/* its own, with the restart fixup */
	struct user_regs_struct frame_regs;	/* the same for its frame */
	u64 mask;			/* its own signal mask */
	u64 frame;			/* remote address of its frame */
	bool parked;			/* at the stub, signals blocked */
	bool keep_restart;		/* rt_sigreturn would lose its restart block */
	int batch_sig;			/* ends its batches; 0 not chosen, -1 none */
};

struct remote_ctl {
	pid_t pid;		/* the process */
	u64 code_addr;		/* a word of its code for poked calls (or, at restore,
				   the restorer's syscall instruction) */
	u64 scratch;		/* remote address of the data part of the area */
	size_t scratch_len;
	u64 batch;		/* remote address of the batch table */
	u64 area;		/* the whole area: code, frames, data */
	size_t area_len, exec_len;
	int mem_fd;		/* /proc/PID/mem */
	int nr_threads;
	struct remote_thread *th;	/* NULL: no session, plain calls */
};

/*
 * Start a session in every thread of it; exec_addr: a word of its code.
 * On failure everything done so far is undone.
 */
int remote_start(struct remote_ctl *ctl, struct pstree_item *it, u64 exec_addr);
/* End it: every thread as it was, the area unmapped.  Also after errors. */
int remote_stop(struct remote_ctl *ctl);

/* The frame of a parked thread (infect-frame.c). */
size_t park_frame_size(void);
int build_park_frame(pid_t tid, const struct user_regs_struct *r, u64 mask, u64 at, u8 *buf);

/*
 * Run one syscall in thread tid of the process: in a session from the
 * area, else from ctl->code_addr with the registers saved and put back.
 * Returns 0 and the raw result in *ret (negative errno on failure inside
 * the task), or -1 when ptrace itself failed.
 */
int remote_syscall(struct remote_ctl *ctl, pid_t tid, long *ret, long nr, u64 a1, u64 a2,
		   u64 a3, u64 a4, u64 a5, u64 a6);

/* One syscall of a batch: its number, arguments and raw result. */
struct remote_call {
	long nr;
	u64 a[6];
	long ret;
};

#define REMOTE_BATCH_MAX	128
#define REMOTE_BATCH_AREA	(REMOTE_BATCH_MAX * sizeof(struct remote_call))

/*
 * Run n (at most REMOTE_BATCH_MAX) syscalls in thread tid of a session in
 * one stop: a short loop in the area runs them and ends with a signal the
 * thread ignores (see infect.c); one by one when the thread has no such
 * signal or is under seccomp.  Returns -1 only when ptrace itself failed.
 */
int remote_syscalls(struct remote_ctl *ctl, pid_t tid, struct remote_call *calls, int n);
/* The thread's /proc status as the caller read it in the session: spares a read. */
struct proc_status;
void remote_thread_status(struct remote_ctl *ctl, pid_t tid, const struct proc_status *st);

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
