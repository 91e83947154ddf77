// SPDX-License-Identifier: GPL-2.0
/*
 * The frame a thread is parked on while criu runs syscalls in it: an
 * rt_sigreturn frame holding the thread's own registers, FPU/SSE/AVX
 * state and signal mask, so that the thread, if criu dies, runs one
 * rt_sigreturn and goes on exactly where it was stopped.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "infect.h"
#include "regs.h"
#include "sigframe.h"
#include "util.h"

#define XSTATE_READ_MAX (16 << 10)
#define FRAME_ALIGN 64		/* XRSTOR wants a 64-byte aligned area */
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((size_t)(a) - 1))

/* an altstack mode the kernel rejects: rt_sigreturn leaves the altstack as it is */
#define SS_NO_CHANGE 3

static size_t fpstate_off(void)
{
	return ALIGN_UP(sizeof(struct k_rt_sigframe), FRAME_ALIGN);
}

size_t park_frame_size(void)
{
	return ALIGN_UP(fpstate_off() + xsave_layout()->size + 4, FRAME_ALIGN);
}

static int fill_xstate(pid_t tid, u8 *xs)
{
	const struct xsave_layout *l = xsave_layout();
	static u8 raw[XSTATE_READ_MAX] __attribute__((aligned(64)));
	struct iovec iov = { raw, sizeof(raw) };
	struct fpx_sw_bytes sw = {
		.magic1 = FP_XSTATE_MAGIC1,
		.extended_size = l->size + 4,
		.xfeatures = l->xfeatures,
		.xstate_size = l->size,
	};
	u32 magic2 = FP_XSTATE_MAGIC2;
	u64 bv;

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov)) {
		pr_perror("cannot read the XSAVE state of tid %d", tid);
		return -1;
	}
	memset(xs, 0, l->size + 4);
	memcpy(xs, raw, min((size_t)l->size, iov.iov_len));
	memcpy(xs + FX_SW_BYTES_OFF, &sw, sizeof(sw));
	memcpy(&bv, xs + 512, sizeof(bv));
	bv &= l->xfeatures;
	memcpy(xs + 512, &bv, sizeof(bv));
	memcpy(xs + l->size, &magic2, sizeof(magic2));
	return 0;
}

int build_park_frame(pid_t tid, const struct user_regs_struct *r, u64 mask, u64 at, u8 *buf)
{
	struct k_rt_sigframe *fr = (struct k_rt_sigframe *)buf;
	struct k_sigcontext *sc = &fr->uc.uc_mcontext;

	memset(buf, 0, park_frame_size());
	if (fill_xstate(tid, buf + fpstate_off()))
		return -1;
	fr->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	fr->uc.uc_stack.ss_flags = SS_NO_CHANGE;
	fr->uc.uc_sigmask = mask;
	sc->r8 = r->r8; sc->r9 = r->r9; sc->r10 = r->r10; sc->r11 = r->r11;
	sc->r12 = r->r12; sc->r13 = r->r13; sc->r14 = r->r14; sc->r15 = r->r15;
	sc->di = r->rdi; sc->si = r->rsi; sc->bp = r->rbp; sc->bx = r->rbx;
	sc->dx = r->rdx; sc->ax = r->rax; sc->cx = r->rcx; sc->sp = r->rsp;
	sc->ip = r->rip; sc->flags = r->eflags;
	sc->cs = r->cs;
	sc->ss = r->ss;
	sc->fpstate = at + fpstate_off();
	return 0;
}
