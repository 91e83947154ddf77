// SPDX-License-Identifier: GPL-2.0-only
/*
 * The program break, grown and then shrunk to an address that is not
 * page aligned: the exact break, the heap's contents and its end are
 * kept, and the break can grow again afterwards.
 */
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define GROW1 (64 * 1024)
#define GROW2 (128 * 1024)
#define SHRINK (96 * 1024 - 100)

#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

static unsigned long kernel_brk(void)
{
	return syscall(SYS_brk, 0);
}

static int check_heap(char *base, char *cur)
{
	unsigned long start, end;
	char perms[5], path[64];
	size_t off;

	off = datachk(base, GROW1, 1);
	if (off != (size_t)-1) {
		fail("first part differs at byte %zu", off);
		return 1;
	}
	off = datachk(base + GROW1, cur - base - GROW1, 2);
	if (off != (size_t)-1) {
		fail("second part differs at byte %zu", off);
		return 1;
	}
	if (find_vma((unsigned long)base, &start, &end, perms, path, sizeof(path))) {
		pr_perror("no vma for the heap");
		return 1;
	}
	if (end != PAGE_ALIGN((unsigned long)cur) || strcmp(perms, "rw-p")) {
		fail("heap vma %lx-%lx %s, break %p", start, end, perms, cur);
		return 1;
	}
	if (probe_read((char *)end)) {
		fail("memory above the heap end %lx is mapped", end);
		return 1;
	}
	return 0;
}

static int check_regrow(char *cur)
{
	char *top = (char *)PAGE_ALIGN((unsigned long)cur);

	if (sbrk(4 * PAGE_SIZE) == (void *)-1) {
		pr_perror("sbrk can't grow any more");
		return 1;
	}
	if (kernel_brk() != (unsigned long)cur + 4 * PAGE_SIZE) {
		fail("kernel break %lx after growing", kernel_brk());
		return 1;
	}
	if (!is_zero(top, 3 * PAGE_SIZE)) {
		fail("new heap pages are not zero");
		return 1;
	}
	memset(top, 0x5a, 3 * PAGE_SIZE);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long start_brk, start_brk2;
	char *base, *cur;

	test_init(argc, argv);
	base = sbrk(0);
	if (sbrk(GROW1) == (void *)-1) {
		pr_perror("sbrk");
		return 1;
	}
	datagen(base, GROW1, 1);
	if (sbrk(GROW2) == (void *)-1) {
		pr_perror("sbrk");
		return 1;
	}
	datagen(base + GROW1, GROW2, 2);
	if (sbrk(-(GROW1 + GROW2 - SHRINK)) == (void *)-1) {
		pr_perror("sbrk shrink");
		return 1;
	}
	cur = sbrk(0);
	if (cur != base + SHRINK || kernel_brk() != (unsigned long)cur) {
		fail("break at %p, kernel says %lx", cur, kernel_brk());
		return 1;
	}
	if (proc_stat_field(47, &start_brk)) {
		pr_perror("can't read start_brk");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (sbrk(0) != cur || kernel_brk() != (unsigned long)cur) {
		fail("break moved: %p -> %p (kernel %lx)", cur, sbrk(0), kernel_brk());
		return 1;
	}
	if (proc_stat_field(47, &start_brk2) || start_brk2 != start_brk) {
		fail("start_brk changed: %llx -> %llx", start_brk, start_brk2);
		return 1;
	}
	if (check_heap(base, cur) || check_regrow(cur))
		return 1;
	pass();
	return 0;
}
