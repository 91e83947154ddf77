// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transparent huge pages: 8 MiB of anonymous memory, 2 MiB aligned,
 * MADV_HUGEPAGE, every byte written.  After restore the contents are the
 * same and AnonHugePages of the VMA is at least 90% of what it was (the
 * restore must not bring the memory back in 4 KiB pages).  Where THP is
 * "never" the test says so and checks only the contents.
 */
#include <sys/mman.h>

#include "vma_util.h"

#define THP (2UL << 20)
#define LEN (4 * THP)

static int thp_never(void)
{
	char buf[256];

	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf) - 1) < 0)
		return 1;
	return strstr(buf, "[never]") != NULL;
}

int main(int argc, char **argv)
{
	long before, after;
	char *raw, *p;
	int never;

	test_init(argc, argv);
	never = thp_never();
	raw = mmap(NULL, LEN + THP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	p = (char *)(((unsigned long)raw + THP - 1) & ~(THP - 1));
	/* just this range, so that no neighbour merges with it */
	if (p > raw)
		munmap(raw, p - raw);
	munmap(p + LEN, raw + THP - p);
	if (madvise(p, LEN, MADV_HUGEPAGE)) {
		pr_perror("madvise(MADV_HUGEPAGE)");
		return 1;
	}
	pattern_fill(p, LEN, (unsigned long)p, 5);
	before = vma_kb((unsigned long)p, "AnonHugePages");
	if (never)
		test_msg("THP is never here: only the contents are checked\n");
	else if (before < (long)(LEN >> 10) / 2) {
		fail("only %ld kB of huge pages before the dump", before);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (pattern_check(p, LEN, (unsigned long)p, 5) >= 0) {
		fail("the contents differ");
		return 1;
	}
	after = vma_kb((unsigned long)p, "AnonHugePages");
	test_msg("AnonHugePages: %ld kB before, %ld kB after\n", before, after);
	if (!never && after * 10 < before * 9) {
		fail("AnonHugePages %ld kB after restore, %ld kB before", after, before);
		return 1;
	}
	if (vma_has_flag((unsigned long)p, "hg") != 1) {
		fail("VmFlags lacks hg");
		return 1;
	}
	pass();
	return 0;
}
