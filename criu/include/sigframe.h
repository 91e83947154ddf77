/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_SIGFRAME_H
#define CR_SIGFRAME_H

/*
 * The x86_64 signal frame that rt_sigreturn reads at rsp - 8 (kernel ABI:
 * asm/sigcontext.h, asm/ucontext.h, arch/x86/kernel/signal_64.c).  Used by
 * the restorer's last step and by the frame a thread is parked on while
 * it is dumped.
 */
#include "util.h"

struct k_sigcontext {
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	u16 cs, gs, fs, ss;
	u64 err, trapno, oldmask, cr2;
	u64 fpstate;
	u64 reserved1[8];
};

struct k_stack {
	u64 ss_sp;
	s32 ss_flags;
	s32 pad;
	u64 ss_size;
};

struct k_ucontext {
	u64 uc_flags;
	u64 uc_link;
	struct k_stack uc_stack;
	struct k_sigcontext uc_mcontext;
	u64 uc_sigmask;
};

struct k_rt_sigframe {
	u64 pretcode;
	struct k_ucontext uc;
	u8 info[128];
};

/* uc_flags: an XSAVE frame follows; trust the saved ss */
#define UC_FP_XSTATE		0x1
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4

#define FP_XSTATE_MAGIC1	0x46505853U
#define FP_XSTATE_MAGIC2	0x46505845U
#define FX_SW_BYTES_OFF		464

/* the software bytes of an FXSAVE area in a signal frame */
struct fpx_sw_bytes {
	u32 magic1;
	u32 extended_size;
	u64 xfeatures;
	u32 xstate_size;
	u32 padding[7];
};

#endif
