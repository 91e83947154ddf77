// SPDX-License-Identifier: GPL-2.0-only
/*
 * madvise() state kept on each VMA: MADV_DONTFORK, DONTDUMP, WIPEONFORK,
 * HUGEPAGE, NOHUGEPAGE, MERGEABLE, SEQUENTIAL, RANDOM, each on a region of
 * its own, and a MAP_DROPPABLE mapping.  After restore each region shows
 * exactly its own flags in VmFlags, keeps its contents, and a child forked
 * then sees what the flags promise: no DONTFORK region, a zeroed
 * WIPEONFORK one, the others' contents.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vma_util.h"

#define NR_PAGES 8
#define LEN (NR_PAGES * PAGE_SIZE)

struct region {
	const char *name;
	int advice;		/* -1: none, mapped MAP_DROPPABLE */
	const char *flags;	/* what VmFlags must show, of the ones checked */
	char *p;
};

static struct region regions[] = {
	{ "dontfork", MADV_DONTFORK, "dc", NULL },
	{ "dontdump", MADV_DONTDUMP, "dd", NULL },
	{ "wipeonfork", MADV_WIPEONFORK, "wf", NULL },
	{ "hugepage", MADV_HUGEPAGE, "hg", NULL },
	{ "nohugepage", MADV_NOHUGEPAGE, "nh", NULL },
	{ "mergeable", MADV_MERGEABLE, "mg", NULL },
	{ "sequential", MADV_SEQUENTIAL, "sr", NULL },
	{ "random", MADV_RANDOM, "rr", NULL },
	{ "droppable", -1, "dp wf dd nr", NULL },
};

static const char *const checked[] = { "dc", "dd", "wf", "hg", "nh", "mg", "sr", "rr", "dp" };

static int check_flags(struct region *r)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(checked); i++) {
		int want = strstr(r->flags, checked[i]) != NULL;
		int has = vma_has_flag((unsigned long)r->p, checked[i]);

		if (has < 0) {
			fail("%s: no VMA at %p", r->name, r->p);
			return 1;
		}
		if (has != want) {
			fail("%s: VmFlags %s %s", r->name, has ? "has" : "lacks", checked[i]);
			return 1;
		}
	}
	return 0;
}

static int check_contents(struct region *r, int child)
{
	long bad;

	if (child && strstr(r->flags, "wf"))
		return !is_zero(r->p, LEN);
	bad = pattern_check(r->p, LEN, (unsigned long)r->p, r->advice + 7);
	if (bad >= 0 && !child)
		fail("%s: byte %ld differs", r->name, bad);
	return bad >= 0;
}

/* What a child forked after restore sees. */
static int check_fork(void)
{
	int status;
	size_t i;
	pid_t pid = fork();

	if (pid < 0) {
		pr_perror("fork");
		return 1;
	}
	if (pid == 0) {
		for (i = 0; i < ARRAY_SIZE(regions); i++) {
			struct region *r = &regions[i];

			if (r->advice == MADV_DONTFORK) {
				if (probe_read(r->p))
					_exit(10 + i);
			} else if (check_contents(r, 1)) {
				_exit(10 + i);
			}
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		pr_perror("waitpid");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		i = WIFEXITED(status) ? WEXITSTATUS(status) - 10 : 0;
		fail("the forked child disagrees on %s (status %#x)",
		     i < ARRAY_SIZE(regions) ? regions[i].name : "?", status);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		struct region *r = &regions[i];
		int type = r->advice < 0 ? MAP_DROPPABLE : MAP_PRIVATE;

		r->p = map_isolated(LEN, PROT_READ | PROT_WRITE, type | MAP_ANONYMOUS);
		if (r->p == MAP_FAILED) {
			pr_perror("mmap %s", r->name);
			return 1;
		}
		if (r->advice >= 0 && madvise(r->p, LEN, r->advice)) {
			pr_perror("madvise %s", r->name);
			return 1;
		}
		pattern_fill(r->p, LEN, (unsigned long)r->p, r->advice + 7);
		if (check_flags(r))
			return 1;
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(regions); i++)
		if (check_flags(&regions[i]) || check_contents(&regions[i], 0))
			return 1;
	if (check_fork())
		return 1;
	pass();
	return 0;
}
