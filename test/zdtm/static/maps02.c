// SPDX-License-Identifier: GPL-2.0-only
/*
 * Protections: one mapping split by mprotect() into read-write,
 * read-only, read-exec and PROT_NONE pieces, all holding data, plus a
 * never-touched PROT_NONE reservation.  Afterwards the protections are
 * the same (and enforced), and the data hidden behind PROT_NONE is kept.
 */
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define NR_PAGES 10
#define NR_GUARD 4

static const int page_prot[NR_PAGES] = {
	PROT_READ | PROT_WRITE,
	PROT_NONE,
	PROT_READ | PROT_WRITE,
	PROT_READ,
	PROT_READ,
	PROT_READ | PROT_WRITE,
	PROT_NONE,
	PROT_READ | PROT_WRITE,
	PROT_READ | PROT_EXEC,
	PROT_READ | PROT_WRITE,
};

static void prot_str(int prot, char *s)
{
	s[0] = prot & PROT_READ ? 'r' : '-';
	s[1] = prot & PROT_WRITE ? 'w' : '-';
	s[2] = prot & PROT_EXEC ? 'x' : '-';
	s[3] = 'p';
	s[4] = '\0';
}

static int check_prot(char *page, int prot, const char *what)
{
	unsigned long start, end;
	char perms[5], want[5];

	prot_str(prot, want);
	if (find_vma((unsigned long)page, &start, &end, perms, NULL, 0)) {
		pr_perror("no vma for %s page %p", what, page);
		return 1;
	}
	if (strcmp(perms, want)) {
		fail("%s page %p: perms %s, want %s", what, page, perms, want);
		return 1;
	}
	if (probe_read(page) != !!(prot & PROT_READ)) {
		fail("%s page %p: read access is wrong", what, page);
		return 1;
	}
	if (probe_write(page) != !!(prot & PROT_WRITE)) {
		fail("%s page %p: write access is wrong", what, page);
		return 1;
	}
	return 0;
}

static int check_data(char *mem)
{
	size_t off;
	int i;

	/* Open everything up to look behind PROT_NONE. */
	if (mprotect(mem, NR_PAGES * PAGE_SIZE, PROT_READ)) {
		pr_perror("mprotect");
		return 1;
	}
	for (i = 0; i < NR_PAGES; i++) {
		off = datachk(mem + i * PAGE_SIZE, PAGE_SIZE, i);
		if (off != (size_t)-1) {
			fail("page %d differs at byte %zu", i, off);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *mem, *guard;
	int i;

	test_init(argc, argv);
	mem = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	guard = mmap(NULL, NR_GUARD * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || guard == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	for (i = 0; i < NR_PAGES; i++) {
		datagen(mem + i * PAGE_SIZE, PAGE_SIZE, i);
		if (mprotect(mem + i * PAGE_SIZE, PAGE_SIZE, page_prot[i])) {
			pr_perror("mprotect page %d", i);
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < NR_PAGES; i++)
		if (check_prot(mem + i * PAGE_SIZE, page_prot[i], "split"))
			return 1;
	for (i = 0; i < NR_GUARD; i++)
		if (check_prot(guard + i * PAGE_SIZE, PROT_NONE, "guard"))
			return 1;
	if (check_data(mem))
		return 1;
	if (mprotect(guard, NR_GUARD * PAGE_SIZE, PROT_READ)) {
		pr_perror("mprotect guard");
		return 1;
	}
	if (!is_zero(guard, NR_GUARD * PAGE_SIZE)) {
		fail("the untouched reservation is not zero");
		return 1;
	}
	pass();
	return 0;
}
