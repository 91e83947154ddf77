// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private anonymous memory: regions of several sizes filled with a
 * pattern, with untouched pages in between that must still read as zero.
 */
#include <sys/mman.h>

#include "zdtmtst.h"

struct region {
	size_t pages;
	unsigned int stride; /* fill every stride-th page */
	char *addr;
};

static struct region regions[] = {
	{1, 1, NULL}, {16, 1, NULL}, {64, 3, NULL}, {256, 17, NULL}, /* a sparse megabyte */
	/* 1024 separate pages in one VMA: more regions than one PAGEMAP_SCAN walk reports */
	{8192, 8, NULL},
};

static void fill(struct region *r, unsigned int idx)
{
	size_t i;

	for (i = 0; i < r->pages; i += r->stride)
		datagen(r->addr + i * PAGE_SIZE, PAGE_SIZE, idx * 1000 + i);
}

static int check(struct region *r, unsigned int idx)
{
	size_t i, off;

	for (i = 0; i < r->pages; i++) {
		char *page = r->addr + i * PAGE_SIZE;

		if (i % r->stride) {
			if (!is_zero(page, PAGE_SIZE)) {
				fail("region %u page %zu is not zero", idx, i);
				return 1;
			}
			continue;
		}
		off = datachk(page, PAGE_SIZE, idx * 1000 + i);
		if (off != (size_t)-1) {
			fail("region %u page %zu differs at byte %zu", idx, i, off);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int i;
	int ret = 0;

	test_init(argc, argv);
	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		struct region *r = &regions[i];

		r->addr = mmap(NULL, r->pages * PAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->addr == MAP_FAILED) {
			pr_perror("mmap %zu pages", r->pages);
			return 1;
		}
		fill(r, i);
	}
	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(regions); i++)
		ret |= check(&regions[i], i);
	if (ret)
		return 1;
	pass();
	return 0;
}
