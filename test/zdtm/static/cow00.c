// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copy-on-write sharing: the test fills 64 MiB of private anonymous memory
 * and forks four children that only read it and one that rewrites every
 * other page.  After the restore each process must hold exactly its
 * contents, the tree must share the region physically as much as it did
 * before (same page frames as the parent's where PFNs show, else the
 * region's Pss summed over the tree), and a write by one process after
 * the restore must not be seen by any other.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "cow_util.h"

#define REGION (64UL << 20)
#define PAGES (REGION / PAGE_SIZE)
#define NR_READERS 4
#define NR_PROCS (NR_READERS + 2)	/* the parent, readers, the writer */
#define WRITER (NR_PROCS - 1)

#define BASE_SEED 0x1111000011110000ULL
#define WRITER_SEED 0x2222000022220000ULL
#define MARK_SEED 0x3333000033330000ULL

static uint8_t *region;
static int ready_pipe[2];

/* What page p of process role holds; after the restore each marks one page of its own. */
static uint64_t seed_of(int role, size_t p, int marked)
{
	if (marked && p == (size_t)role * 2)
		return MARK_SEED + role;
	if (role == WRITER && (p & 1))
		return WRITER_SEED;
	return BASE_SEED;
}

static int check_region(int role, int marked)
{
	size_t p;

	for (p = 0; p < PAGES; p++)
		if (!cow_page_ok(region + p * PAGE_SIZE, seed_of(role, p, marked))) {
			fail("process %d: page %zu of the region is wrong", role, p);
			return 1;
		}
	return 0;
}

static void mark(int role)
{
	cow_fill_page(region + role * 2 * PAGE_SIZE, MARK_SEED + role);
}

static void __attribute__((noreturn)) child_main(int role)
{
	volatile uint64_t sum = 0;
	size_t p;

	if (role == WRITER)
		for (p = 1; p < PAGES; p += 2)
			cow_fill_page(region + p * PAGE_SIZE, WRITER_SEED);
	else
		for (p = 0; p < PAGES; p++)
			sum += *(uint64_t *)(region + p * PAGE_SIZE);
	if (write_all(ready_pipe[1], "r", 1))
		_exit(1);
	close(ready_pipe[1]);
	test_waitsig();
	/* the parent's mark and the earlier children's must not show here */
	if (check_region(role, 0))
		_exit(1);
	mark(role);
	_exit(check_region(role, 1));
}

int main(int argc, char **argv)
{
	static const int parent[NR_PROCS] = { -1, 0, 0, 0, 0, 0 };
	struct cow_snap pre, post;
	pid_t procs[NR_PROCS];
	char buf[NR_PROCS];
	int i, ret = 0;
	size_t p;

	test_init(argc, argv);
	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || pipe(ready_pipe)) {
		pr_perror("setup");
		return 1;
	}
	for (p = 0; p < PAGES; p++)
		cow_fill_page(region + p * PAGE_SIZE, BASE_SEED);
	procs[0] = getpid();
	for (i = 1; i < NR_PROCS; i++) {
		procs[i] = fork();
		if (procs[i] < 0) {
			pr_perror("fork");
			return 1;
		}
		if (procs[i] == 0)
			child_main(i);
	}
	close(ready_pipe[1]);
	if (read_all(ready_pipe[0], buf, NR_PROCS - 1)) {
		fail("the children did not get ready");
		return 1;
	}
	if (cow_snapshot(procs, parent, NR_PROCS, (unsigned long)region, PAGES, &pre))
		return 1;
	test_daemon();
	test_waitsig();

	if (check_region(0, 0))
		return 1;
	if (cow_snapshot(procs, parent, NR_PROCS, (unsigned long)region, PAGES, &post) ||
	    cow_compare(&pre, &post, PAGES))
		ret = 1;
	mark(0);
	for (i = 1; i < NR_PROCS; i++) {
		int status = stop_child(procs[i], 10000);

		if (status) {
			fail("child %d (pid %d) ended with status %#x", i, procs[i], status);
			ret = 1;
		}
	}
	/* no child's mark shows here */
	if (ret || check_region(0, 1))
		return 1;
	pass();
	return 0;
}
