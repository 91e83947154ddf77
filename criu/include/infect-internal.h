/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_INFECT_INTERNAL_H
#define CR_INFECT_INTERNAL_H

/* Shared by infect.c and infect-batch.c only. */
#include "infect.h"

/* The area's first page: `syscall` at 0, the rt_sigreturn stub at 2, batches at 16 */
#define STUB_SIGRETURN	2
/* after the callers' data: the batch table, then the siginfo that ends a batch */
#define AREA_BATCH_SIZE	(REMOTE_BATCH_AREA + PAGE_SIZE)

int infect_set_regs(pid_t tid, struct user_regs_struct *r);
int infect_set_mask(pid_t tid, u64 mask);
struct remote_thread *infect_find_thread(struct remote_ctl *ctl, pid_t tid);
/* At the stub, on the thread's frame, not in a syscall. */
void infect_stub_regs(struct remote_ctl *ctl, struct remote_thread *rt,
		      struct user_regs_struct *r);
/* Registers at the stub, then all signals blocked. */
int infect_park(struct remote_ctl *ctl, struct remote_thread *rt);

/* infect-batch.c: the batch loop into the area's code page */
int write_batch_code(struct remote_ctl *ctl);

#endif
