/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_REGS_H
#define CR_REGS_H

#include <sys/types.h>

#include "core-x86.pb-c.h"
#include "util.h"

/* Registers, FPU/SSE/AVX state and TLS descriptors of a stopped thread. */
int dump_thread_cpu(pid_t tid, struct arena *a, ThreadInfoX86 **ti);

/* The kernel's XSAVE layout on this CPU (CPUID leaf 0xD). */
struct xsave_layout {
	u64 xfeatures;		/* XCR0: what user XSAVE holds */
	u32 size;		/* bytes of the user XSAVE area */
	u32 offset[32];		/* of each component, 0 if absent */
	u32 comp_size[32];
};
const struct xsave_layout *xsave_layout(void);

#endif
