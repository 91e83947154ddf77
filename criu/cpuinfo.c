// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU a dump needs.  Every dump writes cpuinfo.img (CRIU's format):
 * this CPU's CPUID feature words, XCR0 and XSAVE sizes.  Restore, and
 * `criu cpuinfo check`, compare it with the CPU they run on, as far as
 * --cpu-cap asks (fpu: what the FPU state needs; ins: the instruction
 * sets a program may have chosen at start; cpu: every feature word).
 *
 * Whatever --cpu-cap says, each thread's XSAVE state in its core image
 * must fit this CPU: XRSTOR faults on a component XCR0 does not enable,
 * and the restorer would die in its final rt_sigreturn.
 */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

#include "cpuinfo.h"
#include "cpuinfo.pb-c.h"
#include "cr_options.h"
#include "image.h"
#include "regs.h"
#include "util.h"

/*
 * The feature words, in the order of CRIU's cpuid_leafs (a fact of its
 * format): leaf, subleaf and register of each; words 3, 7 and 8 are
 * Linux's synthetic ones and stay 0 (they are not compared).
 */
#define NCAPS 19
#define NCAPS_V1 12
enum { R_EAX, R_EBX, R_ECX, R_EDX, R_NONE };

static const struct {
	u32 leaf, sub;
	int reg;
} cap_words[NCAPS] = {
	{ 0x1, 0, R_EDX },	  { 0x80000001, 0, R_EDX }, { 0x80860001, 0, R_EDX },
	{ 0, 0, R_NONE },	  { 0x1, 0, R_ECX },	    { 0xc0000001, 0, R_EDX },
	{ 0x80000001, 0, R_ECX }, { 0, 0, R_NONE },	    { 0, 0, R_NONE },
	{ 0x7, 0, R_EBX },	  { 0xd, 1, R_EAX },	    { 0x7, 0, R_ECX },
	{ 0xf, 1, R_EDX },	  { 0x80000008, 0, R_EBX }, { 0x6, 0, R_EAX },
	{ 0x8000000a, 0, R_EDX }, { 0xf, 0, R_EDX },	    { 0x80000007, 0, R_EBX },
	{ 0x7, 0, R_EDX },
};

/* Instruction-set features (the "ins" check), named as /proc/cpuinfo does. */
static const struct {
	u8 word, bit;
	const char *name;
} ins_bits[] = {
	{ 0, 0, "fpu" }, { 0, 4, "tsc" }, { 0, 8, "cx8" }, { 0, 11, "sep" },
	{ 0, 15, "cmov" }, { 0, 19, "clflush" }, { 0, 23, "mmx" }, { 0, 24, "fxsr" },
	{ 0, 25, "sse" }, { 0, 26, "sse2" },
	{ 1, 11, "syscall" }, { 1, 22, "mmxext" }, { 1, 27, "rdtscp" },
	{ 1, 30, "3dnowext" }, { 1, 31, "3dnow" },
	{ 4, 0, "pni" }, { 4, 1, "pclmulqdq" }, { 4, 3, "monitor" }, { 4, 9, "ssse3" },
	{ 4, 12, "fma" }, { 4, 13, "cx16" }, { 4, 19, "sse4_1" }, { 4, 20, "sse4_2" },
	{ 4, 22, "movbe" }, { 4, 23, "popcnt" }, { 4, 25, "aes" }, { 4, 26, "xsave" },
	{ 4, 27, "osxsave" }, { 4, 28, "avx" }, { 4, 29, "f16c" }, { 4, 30, "rdrand" },
	{ 6, 5, "abm" }, { 6, 6, "sse4a" }, { 6, 7, "misalignsse" },
	{ 6, 8, "3dnowprefetch" }, { 6, 11, "xop" }, { 6, 16, "fma4" }, { 6, 21, "tbm" },
	{ 9, 0, "fsgsbase" }, { 9, 3, "bmi1" }, { 9, 4, "hle" }, { 9, 5, "avx2" },
	{ 9, 8, "bmi2" }, { 9, 9, "erms" }, { 9, 11, "rtm" }, { 9, 14, "mpx" },
	{ 9, 16, "avx512f" }, { 9, 17, "avx512dq" }, { 9, 18, "rdseed" }, { 9, 19, "adx" },
	{ 9, 21, "avx512ifma" }, { 9, 23, "clflushopt" }, { 9, 24, "clwb" },
	{ 9, 26, "avx512pf" }, { 9, 27, "avx512er" }, { 9, 28, "avx512cd" },
	{ 9, 29, "sha_ni" }, { 9, 30, "avx512bw" }, { 9, 31, "avx512vl" },
	{ 10, 0, "xsaveopt" }, { 10, 1, "xsavec" }, { 10, 2, "xgetbv1" }, { 10, 3, "xsaves" },
	{ 11, 1, "avx512vbmi" }, { 11, 6, "avx512_vbmi2" }, { 11, 8, "gfni" },
	{ 11, 9, "vaes" }, { 11, 10, "vpclmulqdq" }, { 11, 11, "avx512_vnni" },
	{ 11, 12, "avx512_bitalg" }, { 11, 14, "avx512_vpopcntdq" }, { 11, 22, "rdpid" },
	{ 11, 27, "movdiri" }, { 11, 28, "movdir64b" },
	{ 13, 0, "clzero" },
	{ 18, 2, "avx512_4vnniw" }, { 18, 3, "avx512_4fmaps" }, { 18, 14, "serialize" },
	{ 18, 22, "amx_bf16" }, { 18, 23, "avx512_fp16" }, { 18, 24, "amx_tile" },
	{ 18, 25, "amx_int8" },
};

/* The FPU state needs these (the "fpu" check), besides XCR0 and sizes. */
static const struct {
	u8 word, bit;
	const char *name;
} fpu_bits[] = {
	{ 0, 0, "fpu" }, { 0, 24, "fxsr" }, { 4, 27, "osxsave" }, { 10, 3, "xsaves" },
};

static const char *const xfeature_names[] = {
	"x87", "sse", "avx", "mpx_bndregs", "mpx_bndcsr", "avx512_opmask",
	"avx512_zmm_hi256", "avx512_hi16_zmm", "pt", "pkru", "pasid", "cet_user",
	"cet_supervisor", "hdc", "uintr", "lbr", "hwp", "amx_tilecfg", "amx_tiledata",
	"apx",
};

struct cpu_desc {
	int vendor;
	u32 family, model, stepping;
	u32 caps[NCAPS];
	char model_id[49];
	u64 xfeatures;
	u32 xsave_size, xsave_size_max;
};

static struct cpu_desc here;
static bool here_read;
static u32 here_mxcsr_mask;

static u64 read_xcr0(void)
{
	u32 lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((u64)hi << 32) | lo;
}

static u32 cpuid_reg(u32 leaf, u32 sub, int reg)
{
	u32 r[4] = { 0 }, max = __get_cpuid_max(leaf & 0xf0000000, NULL);

	if (reg == R_NONE || leaf > max)
		return 0;
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
	return r[reg];
}

static void read_identity(struct cpu_desc *c)
{
	u32 a, b, d, e, sig[3], i;

	__cpuid(0, a, sig[0], sig[2], sig[1]);
	if (!memcmp(sig, "GenuineIntel", 12))
		c->vendor = CPUINFO_X86_ENTRY__VENDOR__INTEL;
	else if (!memcmp(sig, "AuthenticAMD", 12))
		c->vendor = CPUINFO_X86_ENTRY__VENDOR__AMD;
	a = cpuid_reg(1, 0, R_EAX);
	c->family = (a >> 8) & 0xf;
	c->model = (a >> 4) & 0xf;
	c->stepping = a & 0xf;
	if (c->family == 0xf)
		c->family += (a >> 20) & 0xff;
	if (c->family >= 6)
		c->model |= ((a >> 16) & 0xf) << 4;
	if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004) {
		for (i = 0; i < 3; i++) {
			__cpuid(0x80000002 + i, a, b, d, e);
			memcpy(c->model_id + 16 * i, &a, 4);
			memcpy(c->model_id + 16 * i + 4, &b, 4);
			memcpy(c->model_id + 16 * i + 8, &d, 4);
			memcpy(c->model_id + 16 * i + 12, &e, 4);
		}
	}
}

static const struct cpu_desc *this_cpu(void)
{
	u8 fx[512] __attribute__((aligned(16)));
	int i;

	if (here_read)
		return &here;
	read_identity(&here);
	for (i = 0; i < NCAPS; i++)
		here.caps[i] = cpuid_reg(cap_words[i].leaf, cap_words[i].sub, cap_words[i].reg);
	here.xfeatures = read_xcr0();
	here.xsave_size = cpuid_reg(0xd, 0, R_EBX);
	here.xsave_size_max = cpuid_reg(0xd, 0, R_ECX);
	/* MXCSR_MASK of FXSAVE; 0 means the default 0xffbf (SDM vol. 1, 11.6.6) */
	memset(fx, 0, sizeof(fx));
	asm volatile("fxsave %0" : "=m"(fx));
	memcpy(&here_mxcsr_mask, fx + 28, 4);
	if (!here_mxcsr_mask)
		here_mxcsr_mask = 0xffbf;
	here_read = true;
	return &here;
}

/* ---- --cpu-cap ---- */

int cpu_cap_parse(const char *arg)
{
	unsigned int caps = 0;
	char buf[128], *tok, *save;

	if (!arg || !*arg) {
		opts.cpu_cap = CPU_CAP_ALL;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "fpu"))
			caps |= CPU_CAP_FPU;
		else if (!strcmp(tok, "ins"))
			caps |= CPU_CAP_INS;
		else if (!strcmp(tok, "cpu"))
			caps |= CPU_CAP_CPU;
		else if (!strcmp(tok, "all"))
			caps |= CPU_CAP_ALL;
		else if (!strcmp(tok, "none"))
			caps = CPU_CAP_NONE;
		else
			return -1;
	}
	opts.cpu_cap = caps;
	return 0;
}

/* ---- cpuinfo.img ---- */

int cpuinfo_dump(void)
{
	const struct cpu_desc *c = this_cpu();
	CpuinfoEntry ce = CPUINFO_ENTRY__INIT;
	CpuinfoX86Entry xe = CPUINFO_X86_ENTRY__INIT, *xp = &xe;

	if (opts.cpu_cap_set && opts.cpu_cap == CPU_CAP_NONE)
		return 0;	/* as in CRIU: no image at all */
	xe.vendor_id = c->vendor;
	xe.cpu_family = c->family;
	xe.model = c->model;
	xe.stepping = c->stepping;
	xe.capability_ver = 2;
	xe.n_capability = NCAPS;
	xe.capability = (u32 *)c->caps;
	xe.model_id = c->model_id[0] ? (char *)c->model_id : NULL;
	xe.has_xfeatures_mask = xe.has_xsave_size = xe.has_xsave_size_max = true;
	xe.xfeatures_mask = c->xfeatures;
	xe.xsave_size = c->xsave_size;
	xe.xsave_size_max = c->xsave_size_max;
	ce.n_x86_entry = 1;
	ce.x86_entry = &xp;
	pr_info("cpuinfo: family %u model %u, XCR0 %#llx, xsave %u/%u bytes\n", c->family,
		c->model, (unsigned long long)c->xfeatures, c->xsave_size, c->xsave_size_max);
	return pb_write_image(CR_FD_CPUINFO, &ce.base, 0);
}

/* Append "name" to a comma-separated list in buf. */
static void list_add(char *buf, size_t len, const char *name)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", name);
}

static void xfeature_list(u64 mask, char *buf, size_t len)
{
	char one[32];
	int i;

	for (i = 0; i < 64; i++) {
		if (!(mask & (1ULL << i)))
			continue;
		if (i < (int)ARRAY_SIZE(xfeature_names))
			snprintf(one, sizeof(one), "%s (bit %d)", xfeature_names[i], i);
		else
			snprintf(one, sizeof(one), "bit %d", i);
		list_add(buf, len, one);
	}
}

static bool has_bit(const u32 *caps, int word, int bit)
{
	return caps[word] & (1U << bit);
}

/* What the image's CPU had and this one lacks, as far as caps asks. */
static void missing_features(const struct cpu_desc *img, unsigned int caps, char *buf,
			     size_t len)
{
	const struct cpu_desc *c = this_cpu();
	char one[48];
	size_t i;
	int w, b;

	if (caps & CPU_CAP_FPU) {
		for (i = 0; i < ARRAY_SIZE(fpu_bits); i++)
			if (has_bit(img->caps, fpu_bits[i].word, fpu_bits[i].bit) &&
			    !has_bit(c->caps, fpu_bits[i].word, fpu_bits[i].bit))
				list_add(buf, len, fpu_bits[i].name);
		if (img->xfeatures & ~c->xfeatures) {
			list_add(buf, len, "xsave features ");
			xfeature_list(img->xfeatures & ~c->xfeatures, buf + strlen(buf),
				      len - strlen(buf));
		}
		if (img->xsave_size != c->xsave_size || img->xsave_size_max != c->xsave_size_max) {
			snprintf(one, sizeof(one), "xsave size %u/%u (here %u/%u)", img->xsave_size,
				 img->xsave_size_max, c->xsave_size, c->xsave_size_max);
			list_add(buf, len, one);
		}
	}
	if (caps & CPU_CAP_INS)
		for (i = 0; i < ARRAY_SIZE(ins_bits); i++)
			if (has_bit(img->caps, ins_bits[i].word, ins_bits[i].bit) &&
			    !has_bit(c->caps, ins_bits[i].word, ins_bits[i].bit))
				list_add(buf, len, ins_bits[i].name);
	if (caps & CPU_CAP_CPU)
		for (w = 0; w < NCAPS; w++)
			for (b = 0; cap_words[w].reg != R_NONE && b < 32; b++)
				if (has_bit(img->caps, w, b) != has_bit(c->caps, w, b)) {
					snprintf(one, sizeof(one), "cpuid word %d bit %d %s", w, b,
						 has_bit(img->caps, w, b) ? "missing" : "extra");
					list_add(buf, len, one);
				}
}

static int img_to_desc(CpuinfoEntry *ce, struct cpu_desc *d)
{
	const struct cpu_desc *c = this_cpu();
	CpuinfoX86Entry *x;

	if (ce->n_x86_entry != 1) {
		pr_err("cpuinfo.img: %zu x86 entries, expected one\n", ce->n_x86_entry);
		return -1;
	}
	x = ce->x86_entry[0];
	if (!((x->capability_ver == 2 && x->n_capability == NCAPS) ||
	      (x->capability_ver == 1 && x->n_capability == NCAPS_V1))) {
		pr_err("cpuinfo.img: capability version %u with %zu words is not one we know\n",
		       x->capability_ver, x->n_capability);
		return -1;
	}
	/* words an old image lacks, and what it does not say, are this CPU's */
	*d = *c;
	memcpy(d->caps, x->capability, x->n_capability * sizeof(u32));
	if (x->has_xfeatures_mask)
		d->xfeatures = x->xfeatures_mask;
	if (x->has_xsave_size)
		d->xsave_size = x->xsave_size;
	if (x->has_xsave_size_max)
		d->xsave_size_max = x->xsave_size_max;
	d->family = x->cpu_family;
	d->model = x->model;
	return 0;
}

int cpuinfo_check(unsigned int caps, bool need_image)
{
	struct cpu_desc img;
	CpuinfoEntry *ce;
	char buf[1024] = "";
	int ret;

	if (caps == CPU_CAP_NONE)
		return 0;
	ret = pb_read_image(CR_FD_CPUINFO, O_RSTR | (need_image ? 0 : O_OPT), (void **)&ce,
			    &cpuinfo_entry__descriptor, 0);
	if (ret <= 0)
		return ret;
	ret = img_to_desc(ce, &img);
	pb_free(ce);
	if (ret)
		return -1;
	missing_features(&img, caps, buf, sizeof(buf));
	if (buf[0]) {
		pr_err("this CPU cannot run the images (cpuinfo.img, family %u model %u): it lacks "
		       "%s (--cpu-cap decides what is checked)\n", img.family, img.model, buf);
		return -1;
	}
	pr_info("cpuinfo.img: this CPU has what the images need (checked: %s%s%s)\n",
		caps & CPU_CAP_FPU ? "fpu " : "", caps & CPU_CAP_INS ? "ins " : "",
		caps & CPU_CAP_CPU ? "cpu" : "");
	return 0;
}

/* ---- every thread's FPU state ---- */

static const struct {
	int comp;
	size_t unit;
} xs_units[] = { { 2, 4 }, { 3, 8 }, { 4, 8 }, { 5, 8 }, { 6, 8 }, { 7, 8 }, { 9, 4 } };

static size_t xs_count(const UserX86XsaveEntry *x, int comp)
{
	switch (comp) {
	case 2: return x->n_ymmh_space;
	case 3: return x->n_bndreg_state;
	case 4: return x->n_bndcsr_state;
	case 5: return x->n_opmask_reg;
	case 6: return x->n_zmm_upper;
	case 7: return x->n_hi16_zmm;
	case 9: return x->n_pkru;
	}
	return 0;
}

/* Component data the image holds that this CPU has no room for, or 0. */
static int check_components(const UserX86XsaveEntry *x, int tid)
{
	const struct xsave_layout *l = xsave_layout();
	u64 xcr0 = this_cpu()->xfeatures;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(xs_units); i++) {
		int comp = xs_units[i].comp;
		size_t bytes = xs_count(x, comp) * xs_units[i].unit;

		if (!bytes)
			continue;
		if (!(xcr0 & (1ULL << comp))) {
			pr_err("core-%d.img: the thread has %s state (xsave component %d), which "
			       "this CPU lacks (XCR0 %#llx)\n", tid, xfeature_names[comp], comp,
			       (unsigned long long)xcr0);
			return -1;
		}
		if (bytes > l->comp_size[comp]) {
			pr_err("core-%d.img: %zu bytes of %s state, this CPU's is %u bytes\n", tid,
			       bytes, xfeature_names[comp], l->comp_size[comp]);
			return -1;
		}
	}
	return 0;
}

int cpu_check_thread(const CoreEntry *core, int tid)
{
	const UserX86FpregsEntry *f = core->thread_info->fpregs;
	u64 xcr0 = this_cpu()->xfeatures, extra;
	char names[512] = "";

	if (f->mxcsr & ~here_mxcsr_mask) {
		pr_err("core-%d.img: MXCSR %#x sets bits this CPU reserves (MXCSR_MASK %#x)\n", tid,
		       f->mxcsr, here_mxcsr_mask);
		return -1;
	}
	if (!f->xsave)
		return 0;
	extra = f->xsave->xstate_bv & ~xcr0;
	if (extra) {
		xfeature_list(extra, names, sizeof(names));
		pr_err("core-%d.img: the thread's FPU state uses xsave features this CPU lacks: %s "
		       "(xstate_bv %#llx, XCR0 here %#llx)\n", tid, names,
		       (unsigned long long)f->xsave->xstate_bv, (unsigned long long)xcr0);
		return -1;
	}
	return check_components(f->xsave, tid);
}

/* ---- criu cpuinfo dump|check ---- */

int cr_cpuinfo(const char *sub)
{
	int ret;

	if (!sub || (strcmp(sub, "dump") && strcmp(sub, "check"))) {
		pr_err("cpuinfo needs dump or check: criu cpuinfo dump|check -D DIR\n");
		return -1;
	}
	if (open_image_dir(opts.imgs_dir, !strcmp(sub, "dump")))
		return -1;
	if (!strcmp(sub, "dump")) {
		ret = cpuinfo_dump();
	} else {
		/* as CRIU: no --cpu-cap (or none) checks everything but strictness */
		unsigned int caps = opts.cpu_cap_set && opts.cpu_cap ? opts.cpu_cap
								      : CPU_CAP_FPU | CPU_CAP_INS;
		ret = cpuinfo_check(caps, true);
	}
	close_image_dir();
	return ret;
}
