// SPDX-License-Identifier: GPL-2.0-only
/*
 * Anonymous memory named with prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME): a
 * private region and a shared one, each named (one name with a space in
 * it).  After restore /proc/self/maps shows [anon:NAME] and
 * [anon_shmem:NAME] again, with the contents.  A kernel built without
 * CONFIG_ANON_VMA_NAME cannot name memory (EINVAL): the test says so and
 * checks only that unnamed memory stays unnamed.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "vma_util.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define LEN (4 * PAGE_SIZE)

struct region {
	int flags;
	const char *name;	/* what it is named */
	const char *shown;	/* and what maps shows */
	char *p;
};

static struct region regions[] = {
	{ MAP_PRIVATE, "zdtm private", "[anon:zdtm private]", NULL },
	{ MAP_SHARED, "zdtm-shared", "[anon_shmem:zdtm-shared]", NULL },
};

static int check(int named)
{
	char path[256], perms[5];
	unsigned long s, e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		struct region *r = &regions[i];

		path[0] = '\0';
		if (find_vma((unsigned long)r->p, &s, &e, perms, path, sizeof(path)) ||
		    s != (unsigned long)r->p || e != s + LEN) {
			fail("%s: the VMA is %lx-%lx", r->name, s, e);
			return 1;
		}
		if (named && strcmp(path, r->shown)) {
			fail("%s: maps shows \"%s\"", r->name, path);
			return 1;
		}
		if (!named && path[0] == '[') {
			fail("%s: maps shows \"%s\"", r->name, path);
			return 1;
		}
		if (pattern_check(r->p, LEN, (unsigned long)r->p, i) >= 0) {
			fail("%s: contents differ", r->name);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int named = 1;
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		struct region *r = &regions[i];

		r->p = map_isolated(LEN, PROT_READ | PROT_WRITE, r->flags | MAP_ANONYMOUS);
		if (r->p == MAP_FAILED) {
			pr_perror("mmap");
			return 1;
		}
		pattern_fill(r->p, LEN, (unsigned long)r->p, i);
		if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, r->p, LEN, r->name)) {
			if (errno != EINVAL) {
				pr_perror("PR_SET_VMA_ANON_NAME");
				return 1;
			}
			named = 0;
		}
	}
	if (!named)
		test_msg("this kernel cannot name VMAs (no CONFIG_ANON_VMA_NAME)\n");
	if (check(named))
		return 1;

	test_daemon();
	test_waitsig();

	if (check(named))
		return 1;
	pass();
	return 0;
}
