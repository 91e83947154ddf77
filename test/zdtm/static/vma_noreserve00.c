// SPDX-License-Identifier: GPL-2.0-only
/*
 * A 64 GiB MAP_NORESERVE private mapping with 256 pages touched, one every
 * 256 MiB: restore must not reserve (or fill) the rest.  Afterwards it is
 * one VMA of the same size with "nr", its pages hold what they held, its
 * Rss is those pages, and an untouched page reads as zero.
 */
#include <sys/mman.h>

#include "vma_util.h"

#define LEN (64ULL << 30)
#define NR_TOUCHED 256
#define STEP (LEN / NR_TOUCHED)

static int check(char *p)
{
	unsigned long start, end;
	char perms[5], path[64];
	long rss;
	int i;

	if (find_vma((unsigned long)p, &start, &end, perms, path, sizeof(path)) ||
	    start != (unsigned long)p || end - start != LEN || strcmp(perms, "rw-p")) {
		fail("the mapping is now %lx-%lx %s", start, end, perms);
		return 1;
	}
	if (vma_has_flag((unsigned long)p, "nr") != 1) {
		fail("VmFlags lacks nr");
		return 1;
	}
	rss = vma_kb((unsigned long)p, "Rss");
	if (rss < NR_TOUCHED * 4 || rss > NR_TOUCHED * 4 * 2) {
		fail("Rss is %ld kB, want about %d", rss, NR_TOUCHED * 4);
		return 1;
	}
	for (i = 0; i < NR_TOUCHED; i++) {
		char *pg = p + i * STEP + (i % 7) * PAGE_SIZE;

		if (pattern_check(pg, PAGE_SIZE, (unsigned long)pg, 3) >= 0) {
			fail("touched page %d at %p differs", i, pg);
			return 1;
		}
	}
	if (!is_zero(p + PAGE_SIZE * 8, PAGE_SIZE)) {
		fail("an untouched page is not zero");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *p;
	int i;

	test_init(argc, argv);
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED) {
		pr_perror("mmap of 64 GiB");
		return 1;
	}
	for (i = 0; i < NR_TOUCHED; i++) {
		char *pg = p + i * STEP + (i % 7) * PAGE_SIZE;

		pattern_fill(pg, PAGE_SIZE, (unsigned long)pg, 3);
	}
	/* reading faults in the shared zero page, not a page of its own */
	if (check(p))
		return 1;

	test_daemon();
	test_waitsig();

	if (check(p))
		return 1;
	pass();
	return 0;
}
