// SPDX-License-Identifier: GPL-2.0
/*
 * x86_64 thread state: general registers (PTRACE_GETREGS), the XSAVE
 * area (PTRACE_GETREGSET NT_X86_XSTATE) split into the image's fields,
 * and the three TLS descriptors of the GDT.
 */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <asm/ldt.h>

#include "infect.h"
#include "regs.h"
#include "util.h"

#define XSAVE_BUF_SIZE	(16 << 10)
#define GDT_ENTRY_TLS_MIN 12
#define GDT_ENTRY_TLS_ENTRIES 3

/* XSAVE component numbers */
enum {
	XFEATURE_FP, XFEATURE_SSE, XFEATURE_YMM, XFEATURE_BNDREGS, XFEATURE_BNDCSR,
	XFEATURE_OPMASK, XFEATURE_ZMM_HI256, XFEATURE_HI16_ZMM, XFEATURE_PT,
	XFEATURE_PKRU, XFEATURE_XTILE_DATA = 18,
};

static struct xsave_layout layout;

const struct xsave_layout *xsave_layout(void)
{
	unsigned int eax, ebx, ecx, edx, lo, hi;
	int i;

	if (layout.size)
		return &layout;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	/*
	 * AMX tile data is enabled in XCR0 but a task only gets it after
	 * ARCH_REQ_XCOMP_PERM: its signal frame (and so what sigreturn
	 * accepts) is sized without it.  A frame claiming more than the
	 * task's size makes sigreturn restore the legacy state only.
	 */
	layout.xfeatures = (((u64)hi << 32) | lo) & ~(1ULL << XFEATURE_XTILE_DATA);
	layout.size = 576;	/* legacy area and header */
	for (i = 2; i < 32; i++) {
		if (!(layout.xfeatures & (1ULL << i)))
			continue;
		__cpuid_count(0xd, i, eax, ebx, ecx, edx);
		layout.comp_size[i] = eax;
		layout.offset[i] = ebx;
		if (ebx + eax > layout.size)
			layout.size = ebx + eax;
	}
	return &layout;
}

static int dump_gpregs(pid_t tid, struct arena *a, UserX86RegsEntry **out)
{
	struct user_regs_struct r;
	UserX86RegsEntry *g;

	if (ptrace(PTRACE_GETREGS, tid, NULL, &r)) {
		pr_perror("cannot read registers of tid %d", tid);
		return -1;
	}
	/*
	 * A thread stopped inside a syscall shows -ERESTART* in ax; record
	 * the state the kernel's restart would have produced, so that the
	 * restored thread redoes the call.
	 */
	fixup_restart_for_image(&r);
	g = arena_new(a, UserX86RegsEntry);
	if (!g)
		return -1;
	user_x86_regs_entry__init(g);
	g->r15 = r.r15; g->r14 = r.r14; g->r13 = r.r13; g->r12 = r.r12;
	g->bp = r.rbp; g->bx = r.rbx; g->r11 = r.r11; g->r10 = r.r10;
	g->r9 = r.r9; g->r8 = r.r8; g->ax = r.rax; g->cx = r.rcx;
	g->dx = r.rdx; g->si = r.rsi; g->di = r.rdi; g->orig_ax = r.orig_rax;
	g->ip = r.rip; g->cs = r.cs; g->flags = r.eflags; g->sp = r.rsp;
	g->ss = r.ss; g->fs_base = r.fs_base; g->gs_base = r.gs_base;
	g->ds = r.ds; g->es = r.es; g->fs = r.fs; g->gs = r.gs;
	g->has_mode = true;
	g->mode = USER_X86_REGS_MODE__NATIVE;

	*out = g;
	return 0;
}

static uint32_t *copy_u32s(struct arena *a, const void *src, size_t n)
{
	uint32_t *d = arena_array(a, uint32_t, n);

	if (d)
		memcpy(d, src, n * 4);
	return d;
}

static uint64_t *copy_u64s(struct arena *a, const void *src, size_t n)
{
	uint64_t *d = arena_array(a, uint64_t, n);

	if (d)
		memcpy(d, src, n * 8);
	return d;
}

#define XS_COPY(field, comp, type, count)                                          \
	do {                                                                        \
		if (l->offset[comp] && (l->xfeatures & (1ULL << (comp)))) {         \
			x->n_##field = count;                                        \
			x->field = copy_##type##s(a, buf + l->offset[comp], count);  \
			if (!x->field)                                               \
				return -1;                                           \
		}                                                                   \
	} while (0)

static int dump_xsave_ext(const u8 *buf, size_t len, struct arena *a, UserX86XsaveEntry **out)
{
	const struct xsave_layout *l = xsave_layout();
	UserX86XsaveEntry *x;

	if (len < 576)
		return 0;	/* legacy area only */
	x = arena_new(a, UserX86XsaveEntry);
	if (!x)
		return -1;
	user_x86_xsave_entry__init(x);
	memcpy(&x->xstate_bv, buf + 512, 8);
	XS_COPY(ymmh_space, XFEATURE_YMM, u32, 64);
	XS_COPY(bndreg_state, XFEATURE_BNDREGS, u64, 8);
	XS_COPY(bndcsr_state, XFEATURE_BNDCSR, u64, 2);
	XS_COPY(opmask_reg, XFEATURE_OPMASK, u64, 8);
	XS_COPY(zmm_upper, XFEATURE_ZMM_HI256, u64, 64);
	XS_COPY(hi16_zmm, XFEATURE_HI16_ZMM, u64, 128);
	XS_COPY(pkru, XFEATURE_PKRU, u32, 2);
	*out = x;
	return 0;
}

static int dump_fpregs(pid_t tid, struct arena *a, UserX86FpregsEntry **out)
{
	struct iovec iov;
	UserX86FpregsEntry *f;
	u8 *buf;
	u16 w16;

	buf = arena_alloc(a, XSAVE_BUF_SIZE);
	if (!buf)
		return -1;
	iov.iov_base = buf;
	iov.iov_len = XSAVE_BUF_SIZE;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov)) {
		pr_perror("cannot read the XSAVE state of tid %d", tid);
		return -1;
	}
	f = arena_new(a, UserX86FpregsEntry);
	if (!f)
		return -1;
	user_x86_fpregs_entry__init(f);
	/* the FXSAVE layout: Intel SDM vol. 1, 10.5.1 */
	memcpy(&w16, buf + 0, 2);
	f->cwd = w16;
	memcpy(&w16, buf + 2, 2);
	f->swd = w16;
	memcpy(&w16, buf + 4, 2);
	f->twd = w16;
	memcpy(&w16, buf + 6, 2);
	f->fop = w16;
	memcpy(&f->rip, buf + 8, 8);
	memcpy(&f->rdp, buf + 16, 8);
	memcpy(&f->mxcsr, buf + 24, 4);
	memcpy(&f->mxcsr_mask, buf + 28, 4);
	f->n_st_space = 32;
	f->st_space = copy_u32s(a, buf + 32, 32);
	f->n_xmm_space = 64;
	f->xmm_space = copy_u32s(a, buf + 160, 64);
	f->n_padding = 24;
	f->padding = copy_u32s(a, buf + 416, 24);
	if (!f->st_space || !f->xmm_space || !f->padding)
		return -1;
	if (dump_xsave_ext(buf, iov.iov_len, a, &f->xsave))
		return -1;
	*out = f;
	return 0;
}

static int dump_tls(pid_t tid, struct arena *a, ThreadInfoX86 *ti)
{
	int i;

	ti->tls = arena_array(a, UserDescT *, GDT_ENTRY_TLS_ENTRIES);
	if (!ti->tls)
		return -1;
	for (i = 0; i < GDT_ENTRY_TLS_ENTRIES; i++) {
		struct user_desc d = { .entry_number = GDT_ENTRY_TLS_MIN + i };
		UserDescT *u = arena_new(a, UserDescT);

		if (!u)
			return -1;
		user_desc_t__init(u);
		if (ptrace(PTRACE_GET_THREAD_AREA, tid, (void *)(long)d.entry_number, &d)) {
			pr_perror("cannot read TLS entry %u of tid %d", d.entry_number, tid);
			return -1;
		}
		u->entry_number = d.entry_number;
		u->base_addr = d.base_addr;
		u->limit = d.limit;
		u->seg_32bit = d.seg_32bit;
		u->contents_h = !!(d.contents & 2);
		u->contents_l = !!(d.contents & 1);
		u->read_exec_only = d.read_exec_only;
		u->limit_in_pages = d.limit_in_pages;
		u->seg_not_present = d.seg_not_present;
		u->usable = d.useable;
		ti->tls[i] = u;
	}
	ti->n_tls = GDT_ENTRY_TLS_ENTRIES;
	return 0;
}

int dump_thread_cpu(pid_t tid, struct arena *a, ThreadInfoX86 **out)
{
	ThreadInfoX86 *ti = arena_new(a, ThreadInfoX86);

	if (!ti)
		return -1;
	thread_info_x86__init(ti);
	if (dump_gpregs(tid, a, &ti->gpregs) || dump_fpregs(tid, a, &ti->fpregs) ||
	    dump_tls(tid, a, ti))
		return -1;
	*out = ti;
	return 0;
}

/* ---- restore: the frame rt_sigreturn reads ---- */

#include "restore.h"
#include "sigframe.h"

size_t sigframe_size(void)
{
	return sizeof(struct k_rt_sigframe) + 64 + xsave_layout()->size + 4;
}

#define XS_PUT(field, comp, unit)                                                   \
	do {                                                                         \
		if (x->n_##field && l->offset[comp] &&                               \
		    x->n_##field * (unit) <= l->comp_size[comp])                     \
			memcpy(buf + l->offset[comp], x->field, x->n_##field * (unit)); \
	} while (0)

static int build_xsave(u8 *buf, UserX86FpregsEntry *f)
{
	const struct xsave_layout *l = xsave_layout();
	struct fpx_sw_bytes sw = {
		.magic1 = FP_XSTATE_MAGIC1,
		.extended_size = l->size + 4,
		.xfeatures = l->xfeatures,
		.xstate_size = l->size,
	};
	u32 magic2 = FP_XSTATE_MAGIC2;
	UserX86XsaveEntry *x = f->xsave;
	u16 w;

	if (f->n_st_space != 32 || f->n_xmm_space != 64) {
		pr_err("core image: FPU state has %zu/%zu words, expected 32/64\n", f->n_st_space,
		       f->n_xmm_space);
		return -1;
	}
	memset(buf, 0, l->size + 4);
	w = f->cwd;
	memcpy(buf + 0, &w, 2);
	w = f->swd;
	memcpy(buf + 2, &w, 2);
	w = f->twd;
	memcpy(buf + 4, &w, 2);
	w = f->fop;
	memcpy(buf + 6, &w, 2);
	memcpy(buf + 8, &f->rip, 8);
	memcpy(buf + 16, &f->rdp, 8);
	memcpy(buf + 24, &f->mxcsr, 4);
	memcpy(buf + 28, &f->mxcsr_mask, 4);
	memcpy(buf + 32, f->st_space, 128);
	memcpy(buf + 160, f->xmm_space, 256);
	memcpy(buf + FX_SW_BYTES_OFF, &sw, sizeof(sw));
	memcpy(buf + l->size, &magic2, 4);
	if (!x) {
		/* legacy state only: x87 and SSE are valid */
		u64 bv = 3;

		memcpy(buf + 512, &bv, 8);
		return 0;
	}
	memcpy(buf + 512, &x->xstate_bv, 8);
	XS_PUT(ymmh_space, XFEATURE_YMM, 4);
	XS_PUT(bndreg_state, XFEATURE_BNDREGS, 8);
	XS_PUT(bndcsr_state, XFEATURE_BNDCSR, 8);
	XS_PUT(opmask_reg, XFEATURE_OPMASK, 8);
	XS_PUT(zmm_upper, XFEATURE_ZMM_HI256, 8);
	XS_PUT(hi16_zmm, XFEATURE_HI16_ZMM, 8);
	XS_PUT(pkru, XFEATURE_PKRU, 4);
	return 0;
}

int build_sigframe(void *area, CoreEntry *core, u64 *rsp)
{
	struct k_rt_sigframe *fr = area;
	ThreadInfoX86 *ti = core->thread_info;
	UserX86RegsEntry *g;
	struct k_sigcontext *sc;
	ThreadSasEntry *sas = core->thread_core ? core->thread_core->sas : NULL;
	u8 *fpstate;

	if (!ti || !ti->gpregs || !ti->fpregs) {
		pr_err("core image: no x86_64 registers\n");
		return -1;
	}
	g = ti->gpregs;
	if (g->has_mode && g->mode != USER_X86_REGS_MODE__NATIVE) {
		pr_err("unsupported: a 32-bit (compat) task\n");
		return -1;
	}
	memset(fr, 0, sizeof(*fr));
	fpstate = (u8 *)(((unsigned long)(fr + 1) + 63) & ~63UL);
	if (build_xsave(fpstate, ti->fpregs))
		return -1;

	fr->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	/* everything stays blocked; criu sets the real mask with ptrace */
	fr->uc.uc_sigmask = ~0ULL;
	if (sas) {
		fr->uc.uc_stack.ss_sp = sas->ss_sp;
		fr->uc.uc_stack.ss_size = sas->ss_size;
		fr->uc.uc_stack.ss_flags = sas->ss_flags;
	} else {
		fr->uc.uc_stack.ss_flags = 2;	/* SS_DISABLE */
	}
	sc = &fr->uc.uc_mcontext;
	sc->r8 = g->r8; sc->r9 = g->r9; sc->r10 = g->r10; sc->r11 = g->r11;
	sc->r12 = g->r12; sc->r13 = g->r13; sc->r14 = g->r14; sc->r15 = g->r15;
	sc->di = g->di; sc->si = g->si; sc->bp = g->bp; sc->bx = g->bx;
	sc->dx = g->dx; sc->ax = g->ax; sc->cx = g->cx; sc->sp = g->sp;
	sc->ip = g->ip; sc->flags = g->flags;
	sc->cs = g->cs;
	sc->ss = g->ss;
	sc->fpstate = (u64)(unsigned long)fpstate;
	*rsp = (u64)(unsigned long)&fr->uc;
	return 0;
}
