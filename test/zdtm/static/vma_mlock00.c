// SPDX-License-Identifier: GPL-2.0-only
/*
 * Locked memory: a region mlock()ed, one mlock2(MLOCK_ONFAULT)ed with half
 * its pages touched, one mapped MAP_LOCKED, one locked and then made
 * PROT_NONE.  After restore they show "lo"
 * (and "lf" for the on-fault one) in VmFlags, VmLck in status is what it
 * was, the on-fault region did not get its other pages, and contents are
 * kept.  Two children did mlockall(MCL_FUTURE) and MCL_FUTURE | MCL_ONFAULT:
 * after restore a new mapping of theirs is locked in the same way.
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vma_util.h"

#define NR_PAGES 8
#define LEN (NR_PAGES * PAGE_SIZE)

enum { LOCK, ONFAULT, MAPLOCKED, LOCKNONE, NR };
static const char *const names[NR] = { "mlock", "mlock2 onfault", "MAP_LOCKED",
					"mlock then PROT_NONE" };
static char *regions[NR];
static int ready[2];

static long vmlck_kb(void)
{
	char buf[4096], *l;

	if (read_file("/proc/self/status", buf, sizeof(buf) - 1) < 0)
		return -1;
	l = strstr(buf, "VmLck:");
	return l ? atol(l + 6) : -1;
}

static int check_region(int i)
{
	char *p = regions[i];
	size_t len = i == ONFAULT ? LEN / 2 : LEN;
	long rss = vma_kb((unsigned long)p, "Rss");

	if (vma_has_flag((unsigned long)p, "lo") != 1 ||
	    vma_has_flag((unsigned long)p, "lf") != (i == ONFAULT)) {
		fail("%s: VmFlags lo/lf wrong", names[i]);
		return 1;
	}
	if (rss != (long)(len >> 10)) {
		fail("%s: Rss %ld kB, want %zu", names[i], rss, len >> 10);
		return 1;
	}
	if (i == LOCKNONE && mprotect(p, len, PROT_READ)) {
		pr_perror("mprotect");
		return 1;
	}
	if (pattern_check(p, len, (unsigned long)p, i) >= 0) {
		fail("%s: contents differ", names[i]);
		return 1;
	}
	return 0;
}

/* A child locked all its future mappings: is a mapping made after restore locked? */
static void __attribute__((noreturn)) child(int flags)
{
	char *p;

	if (mlockall(flags)) {
		pr_perror("mlockall(%#x)", flags);
		_exit(1);
	}
	if (write_all(ready[1], "r", 1))
		_exit(1);
	test_waitsig();
	p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		pr_perror("mmap after restore");
		_exit(2);
	}
	if (vma_has_flag((unsigned long)p, "lo") != 1)
		_exit(3);
	if (vma_has_flag((unsigned long)p, "lf") != !!(flags & MCL_ONFAULT))
		_exit(4);
	/* locked, not on fault: every page is there at once */
	if (vma_kb((unsigned long)p, "Rss") != ((flags & MCL_ONFAULT) ? 0 : (long)(LEN >> 10)))
		_exit(5);
	_exit(0);
}

int main(int argc, char **argv)
{
	int flags[2] = { MCL_FUTURE, MCL_FUTURE | MCL_ONFAULT };
	pid_t kids[2];
	long vmlck;
	char buf[2];
	int i;

	test_init(argc, argv);
	if (pipe(ready)) {
		pr_perror("pipe");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			pr_perror("fork");
			return 1;
		}
		if (kids[i] == 0)
			child(flags[i]);
	}
	for (i = 0; i < NR; i++) {
		regions[i] = map_isolated(LEN, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS |
						  (i == MAPLOCKED ? MAP_LOCKED : 0));
		if (regions[i] == MAP_FAILED) {
			pr_perror("mmap %s", names[i]);
			return 1;
		}
	}
	if (mlock(regions[LOCK], LEN) || mlock(regions[LOCKNONE], LEN) ||
	    mlock2(regions[ONFAULT], LEN, MLOCK_ONFAULT)) {
		pr_perror("mlock");
		return 1;
	}
	pattern_fill(regions[LOCK], LEN, (unsigned long)regions[LOCK], LOCK);
	pattern_fill(regions[ONFAULT], LEN / 2, (unsigned long)regions[ONFAULT], ONFAULT);
	pattern_fill(regions[MAPLOCKED], LEN, (unsigned long)regions[MAPLOCKED], MAPLOCKED);
	pattern_fill(regions[LOCKNONE], LEN, (unsigned long)regions[LOCKNONE], LOCKNONE);
	for (i = 0; i < NR; i++)
		if (check_region(i))
			return 1;
	if (mprotect(regions[LOCKNONE], LEN, PROT_NONE)) {
		pr_perror("mprotect PROT_NONE");
		return 1;
	}
	vmlck = vmlck_kb();
	if (read_all(ready[0], buf, 2)) {
		fail("the children did not get ready");
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < NR; i++)
		if (check_region(i))
			return 1;
	if (vmlck_kb() != vmlck) {
		fail("VmLck %ld kB, was %ld", vmlck_kb(), vmlck);
		return 1;
	}
	for (i = 0; i < 2; i++) {
		int status = stop_child(kids[i], 5000);

		if (status) {
			fail("the child with mlockall(%#x) ended with %#x", flags[i], status);
			return 1;
		}
	}
	pass();
	return 0;
}
