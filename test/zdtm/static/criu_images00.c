// SPDX-License-Identifier: GPL-2.0-only
/*
 * Images in CRIU's form: two adjacent private anonymous VMAs (one
 * read-write, one read-only after it was filled) whose pages are all
 * present.  CRIU writes such pages as one pagemap run across the VMA
 * boundary; the runner (.desc "criu_images") merges our runs the same way
 * and drops our ns_flags before the restore.  The test checks each page
 * and both protections.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define HALF 4	/* pages per VMA */

/* The protection /proc/self/maps shows for the VMA starting at addr. */
static int maps_perms(void *addr, char perms[5])
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && s == (unsigned long)addr) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int check_pages(char *base)
{
	size_t i, off;

	for (i = 0; i < 2 * HALF; i++) {
		off = datachk(base + i * PAGE_SIZE, PAGE_SIZE, 7000 + i);
		if (off != (size_t)-1) {
			fail("page %zu differs at byte %zu", i, off);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char perms[5], *base;
	size_t i;

	test_init(argc, argv);
	base = mmap(NULL, 2 * HALF * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	for (i = 0; i < 2 * HALF; i++)
		datagen(base + i * PAGE_SIZE, PAGE_SIZE, 7000 + i);
	if (mprotect(base + HALF * PAGE_SIZE, HALF * PAGE_SIZE, PROT_READ)) {
		pr_perror("mprotect");
		return 1;
	}
	test_daemon();
	test_waitsig();

	if (check_pages(base))
		return 1;
	if (maps_perms(base, perms) || strcmp(perms, "rw-p")) {
		fail("the first VMA is not rw-p");
		return 1;
	}
	if (maps_perms(base + HALF * PAGE_SIZE, perms) || strcmp(perms, "r--p")) {
		fail("the second VMA is not r--p");
		return 1;
	}
	pass();
	return 0;
}
