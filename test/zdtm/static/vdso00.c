// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vDSO: its clock_gettime, called directly through the symbol found
 * in the image at AT_SYSINFO_EHDR, keeps working and agrees with the
 * clock_gettime system call, and CLOCK_MONOTONIC never goes back.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

typedef int (*vdso_gettime_t)(clockid_t, struct timespec *);

#define MAX_SKEW_NS (200 * 1000 * 1000LL)

static void *vdso_sym(const char *name)
{
	const Elf64_Ehdr *eh = (void *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Phdr *ph;
	const Elf64_Shdr *sh;
	unsigned long base = 0;
	int i;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return NULL;
	/* The image is linked at some address; find the load bias. */
	ph = (const void *)((const char *)eh + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			base = (unsigned long)eh - ph[i].p_vaddr + ph[i].p_offset;
			break;
		}
	sh = (const void *)((const char *)eh + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *str;
		size_t n, j;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		sym = (const void *)((const char *)eh + sh[i].sh_offset);
		str = (const char *)eh + sh[sh[i].sh_link].sh_offset;
		n = sh[i].sh_size / sizeof(*sym);
		for (j = 0; j < n; j++)
			if (sym[j].st_name && sym[j].st_value &&
			    !strcmp(str + sym[j].st_name, name))
				return (void *)(base + sym[j].st_value);
	}
	return NULL;
}

static long long ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* Reads clk through the vDSO and the syscall; checks they agree. */
static int read_clock(vdso_gettime_t fn, clockid_t clk, long long *ns)
{
	struct timespec v, s;
	long long d;

	if (fn(clk, &v)) {
		fail("vDSO clock_gettime(%d) failed", clk);
		return 1;
	}
	if (syscall(SYS_clock_gettime, clk, &s)) {
		pr_perror("clock_gettime(%d)", clk);
		return 1;
	}
	d = ts_ns(&s) - ts_ns(&v);
	if (d < 0 || d > MAX_SKEW_NS) {
		fail("clock %d: vDSO %lld.%09ld, syscall %lld.%09ld", clk, (long long)v.tv_sec,
		     v.tv_nsec, (long long)s.tv_sec, s.tv_nsec);
		return 1;
	}
	*ns = ts_ns(&v);
	return 0;
}

int main(int argc, char **argv)
{
	long long mono0, mono1, real0, real1;
	vdso_gettime_t fn;

	test_init(argc, argv);
	fn = vdso_sym("__vdso_clock_gettime");
	if (!fn) {
		fail("no __vdso_clock_gettime in the vDSO");
		return 1;
	}
	if (read_clock(fn, CLOCK_MONOTONIC, &mono0) || read_clock(fn, CLOCK_REALTIME, &real0))
		return 1;

	test_daemon();
	test_waitsig();

	if (vdso_sym("__vdso_clock_gettime") != (void *)fn) {
		fail("__vdso_clock_gettime moved");
		return 1;
	}
	if (read_clock(fn, CLOCK_MONOTONIC, &mono1) || read_clock(fn, CLOCK_REALTIME, &real1))
		return 1;
	if (mono1 <= mono0) {
		fail("CLOCK_MONOTONIC went back: %lld -> %lld", mono0, mono1);
		return 1;
	}
	if (real1 < real0) {
		fail("CLOCK_REALTIME went back: %lld -> %lld", real0, real1);
		return 1;
	}
	pass();
	return 0;
}
