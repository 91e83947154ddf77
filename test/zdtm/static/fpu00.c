// SPDX-License-Identifier: GPL-2.0-only
/*
 * FPU and vector registers held live across the checkpoint: the x87
 * stack and control word, MXCSR, and the widest vector registers the CPU
 * has (zmm0-31 and k0-7, or ymm0-15, or xmm0-15).  One asm block loads
 * them, waits with bare pause() system calls until SIGTERM has been seen
 * (nothing in between touches the registers) and stores them again.
 */
#include <stddef.h>
#include <string.h>

#include "zdtmtst.h"

struct fpstate {
	long double st[8]; /* offset 0, 16 bytes each */
	uint16_t fcw; /* 128 */
	uint16_t pad;
	uint32_t mxcsr; /* 132 */
	uint16_t k[8]; /* 136 */
	uint8_t vec[32][64] __attribute__((aligned(64))); /* 192 */
};

_Static_assert(offsetof(struct fpstate, fcw) == 128, "fcw");
_Static_assert(offsetof(struct fpstate, mxcsr) == 132, "mxcsr");
_Static_assert(offsetof(struct fpstate, k) == 136, "k");
_Static_assert(offsetof(struct fpstate, vec) == 192, "vec");

static const uint16_t default_fcw = 0x037f;
static const uint32_t default_mxcsr = 0x1f80;

/* The asm reads best one instruction per line. */
/* clang-format off */
#define X87_LOAD                                                         \
	"fninit\n\t"                                                     \
	"fldcw 128(%%rsi)\n\t"                                           \
	"fldt 0(%%rsi)\n\t fldt 16(%%rsi)\n\t"                           \
	"fldt 32(%%rsi)\n\t fldt 48(%%rsi)\n\t"                          \
	"fldt 64(%%rsi)\n\t fldt 80(%%rsi)\n\t"                          \
	"fldt 96(%%rsi)\n\t fldt 112(%%rsi)\n\t"                         \
	"ldmxcsr 132(%%rsi)\n\t"

#define X87_STORE                                                        \
	"fstpt 112(%%rdi)\n\t fstpt 96(%%rdi)\n\t"                       \
	"fstpt 80(%%rdi)\n\t fstpt 64(%%rdi)\n\t"                        \
	"fstpt 48(%%rdi)\n\t fstpt 32(%%rdi)\n\t"                        \
	"fstpt 16(%%rdi)\n\t fstpt 0(%%rdi)\n\t"                         \
	"fnstcw 128(%%rdi)\n\t"                                          \
	"stmxcsr 132(%%rdi)\n\t"                                         \
	"fldcw %[fcw]\n\t"                                               \
	"ldmxcsr %[mxcsr]\n\t"

/* pause() until the SIGTERM flag is set; only rax, rcx, r11 change. */
#define WAIT_LOOP                                                        \
	"1:\n\t"                                                         \
	"movl $34, %%eax\n\t"                                            \
	"syscall\n\t"                                                    \
	"cmpl $0, %[flag]\n\t"                                           \
	"je 1b\n\t"

#define VEC(insn, reg, i, base, size)                                    \
	insn " " #base "+" #size "*" #i "(%%rsi), %%" #reg #i "\n\t"
#define VEC_ST(insn, reg, i, base, size)                                 \
	insn " %%" #reg #i ", " #base "+" #size "*" #i "(%%rdi)\n\t"

#define X8(m, insn, reg, base, size)                                     \
	m(insn, reg, 0, base, size) m(insn, reg, 1, base, size)          \
	m(insn, reg, 2, base, size) m(insn, reg, 3, base, size)          \
	m(insn, reg, 4, base, size) m(insn, reg, 5, base, size)          \
	m(insn, reg, 6, base, size) m(insn, reg, 7, base, size)
#define X8_HI(m, insn, reg, base, size)                                  \
	m(insn, reg, 8, base, size) m(insn, reg, 9, base, size)          \
	m(insn, reg, 10, base, size) m(insn, reg, 11, base, size)        \
	m(insn, reg, 12, base, size) m(insn, reg, 13, base, size)        \
	m(insn, reg, 14, base, size) m(insn, reg, 15, base, size)
#define X16(m, insn, reg, base, size)                                    \
	X8(m, insn, reg, base, size) X8_HI(m, insn, reg, base, size)
#define X16_TOP(m, insn, reg, base, size)                                \
	m(insn, reg, 16, base, size) m(insn, reg, 17, base, size)        \
	m(insn, reg, 18, base, size) m(insn, reg, 19, base, size)        \
	m(insn, reg, 20, base, size) m(insn, reg, 21, base, size)        \
	m(insn, reg, 22, base, size) m(insn, reg, 23, base, size)        \
	m(insn, reg, 24, base, size) m(insn, reg, 25, base, size)        \
	m(insn, reg, 26, base, size) m(insn, reg, 27, base, size)        \
	m(insn, reg, 28, base, size) m(insn, reg, 29, base, size)        \
	m(insn, reg, 30, base, size) m(insn, reg, 31, base, size)

#define OPERANDS                                                         \
	: "+S"(in), "+D"(out)                                            \
	: [flag] "m"(test_sigterm_seen), [fcw] "m"(default_fcw),         \
	  [mxcsr] "m"(default_mxcsr)

#define CLOBBER_BASE                                                     \
	"rax", "rcx", "r11", "memory", "cc", "st", "st(1)", "st(2)",     \
	"st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "xmm0", "xmm1",     \
	"xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",  \
	"xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

static void hold_sse(const struct fpstate *in, struct fpstate *out)
{
	asm volatile(X87_LOAD
		     X16(VEC, "movdqu", xmm, 192, 64)
		     WAIT_LOOP
		     X16(VEC_ST, "movdqu", xmm, 192, 64)
		     X87_STORE
		     OPERANDS
		     : CLOBBER_BASE);
}

__attribute__((target("avx"))) static void hold_avx(const struct fpstate *in,
						    struct fpstate *out)
{
	asm volatile(X87_LOAD
		     X16(VEC, "vmovdqu", ymm, 192, 64)
		     WAIT_LOOP
		     X16(VEC_ST, "vmovdqu", ymm, 192, 64)
		     X87_STORE
		     "vzeroupper\n\t"
		     OPERANDS
		     : CLOBBER_BASE);
}

#define KLD(insn, reg, i, base, size) VEC(insn, reg, i, base, size)
#define KST(insn, reg, i, base, size) VEC_ST(insn, reg, i, base, size)

__attribute__((target("avx512f"))) static void
hold_avx512(const struct fpstate *in, struct fpstate *out)
{
	asm volatile(X87_LOAD
		     X16(VEC, "vmovdqu64", zmm, 192, 64)
		     X16_TOP(VEC, "vmovdqu64", zmm, 192, 64)
		     X8(KLD, "kmovw", k, 136, 2)
		     WAIT_LOOP
		     X16(VEC_ST, "vmovdqu64", zmm, 192, 64)
		     X16_TOP(VEC_ST, "vmovdqu64", zmm, 192, 64)
		     X8(KST, "kmovw", k, 136, 2)
		     X87_STORE
		     "vzeroupper\n\t"
		     OPERANDS
		     : CLOBBER_BASE, "xmm16", "xmm17", "xmm18", "xmm19",
		       "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
		       "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
		       "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

/* clang-format on */

static void make_input(struct fpstate *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 8; i++)
		s->st[i] = (i + 1) / 7.0L * (i % 2 ? -1e10L : 3e-7L);
	s->fcw = 0x0f7f; /* round toward zero, 64-bit precision */
	s->mxcsr = 0xff80; /* round toward zero, flush to zero */
	datagen(s->k, sizeof(s->k), 42);
	datagen(s->vec, sizeof(s->vec), 43);
}

static int compare(const struct fpstate *a, const struct fpstate *b, int nvec, int vsize, int nk)
{
	int i;

	for (i = 0; i < 8; i++)
		if (memcmp(&a->st[i], &b->st[i], 10)) {
			fail("x87 register %d changed", 7 - i);
			return 1;
		}
	if (a->fcw != b->fcw || a->mxcsr != b->mxcsr) {
		fail("control words changed: fcw %#x -> %#x, mxcsr %#x -> %#x", a->fcw, b->fcw,
		     a->mxcsr, b->mxcsr);
		return 1;
	}
	for (i = 0; i < nvec; i++)
		if (memcmp(a->vec[i], b->vec[i], vsize)) {
			fail("vector register %d (%d bytes) changed", i, vsize);
			return 1;
		}
	for (i = 0; i < nk; i++)
		if (a->k[i] != b->k[i]) {
			fail("k%d changed: %#x -> %#x", i, a->k[i], b->k[i]);
			return 1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	static struct fpstate in, out;
	int nvec, vsize, nk = 0;

	test_init(argc, argv);
	make_input(&in);
	memset(&out, 0, sizeof(out));
	__builtin_cpu_init();

	test_daemon();
	if (__builtin_cpu_supports("avx512f")) {
		test_msg("holding x87, zmm0-31 and k0-7");
		hold_avx512(&in, &out);
		nvec = 32, vsize = 64, nk = 8;
	} else if (__builtin_cpu_supports("avx")) {
		test_msg("holding x87 and ymm0-15");
		hold_avx(&in, &out);
		nvec = 16, vsize = 32;
	} else {
		test_msg("holding x87 and xmm0-15");
		hold_sse(&in, &out);
		nvec = 16, vsize = 16;
	}
	if (compare(&in, &out, nvec, vsize, nk))
		return 1;
	pass();
	return 0;
}
