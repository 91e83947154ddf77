// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guard regions (madvise MADV_GUARD_INSTALL, Linux 6.13): guard pages
 * inside one anonymous mapping full of data.  They do not split the
 * mapping and have no contents.  Afterwards the mapping is still one
 * VMA, every guard page still faults, /proc/self/pagemap still marks it
 * as a guard (bit 58), and the pages around the guards keep their data.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#define PM_GUARD (1ULL << 58)
#define NR_PAGES 16

/* pages 3-5, 9 and 15 are guards */
static int is_guard(int i)
{
	return (i >= 3 && i <= 5) || i == 9 || i == 15;
}

static int check(char *mem)
{
	unsigned long start, end;
	uint64_t pm;
	char perms[5];
	int fd, i;

	/* it may have merged with a neighbour, but guards never split it */
	if (find_vma((unsigned long)mem, &start, &end, perms, NULL, 0) ||
	    start > (unsigned long)mem || end < (unsigned long)mem + NR_PAGES * PAGE_SIZE) {
		fail("the guards split the mapping");
		return 1;
	}
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) {
		pr_perror("open pagemap");
		return 1;
	}
	for (i = 0; i < NR_PAGES; i++) {
		char *page = mem + i * PAGE_SIZE;

		if (pread(fd, &pm, sizeof(pm), ((uintptr_t)page / PAGE_SIZE) * 8) != sizeof(pm)) {
			pr_perror("pread pagemap");
			close(fd);
			return 1;
		}
		if (is_guard(i)) {
			if (!(pm & PM_GUARD) || probe_read(page)) {
				fail("page %d is no longer a guard (pagemap %#llx)", i,
				     (unsigned long long)pm);
				close(fd);
				return 1;
			}
			continue;
		}
		if (pm & PM_GUARD) {
			fail("page %d became a guard", i);
			close(fd);
			return 1;
		}
		if (datachk(page, PAGE_SIZE, i) != (size_t)-1) {
			fail("page %d lost its data", i);
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	char *mem;
	int i;

	test_init(argc, argv);
	mem = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	for (i = 0; i < NR_PAGES; i++)
		datagen(mem + i * PAGE_SIZE, PAGE_SIZE, i);
	for (i = 0; i < NR_PAGES; i++)
		if (is_guard(i) && madvise(mem + i * PAGE_SIZE, PAGE_SIZE, MADV_GUARD_INSTALL)) {
			pr_perror("madvise(MADV_GUARD_INSTALL) page %d", i);
			return 1;
		}
	if (check(mem))
		return 1;

	test_daemon();
	test_waitsig();

	if (check(mem))
		return 1;
	pass();
	return 0;
}
