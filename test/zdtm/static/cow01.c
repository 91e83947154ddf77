// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copy-on-write sharing over three generations.  The test fills 16 MiB of
 * private anonymous memory and maps a 4 MiB file privately, writing every
 * other page of it; its child rewrites a quarter of both regions, and the
 * grandchild, forked after that, another quarter of the anonymous one.
 * After the restore every process must hold exactly its contents, the
 * tree must share both regions as before (each process against its
 * parent), the file pages nobody wrote must still be the file's (a write
 * to the file shows in all three), and writes after the restore stay in
 * the process that made them.  After the fork the test maps more memory
 * right below its anonymous region, which merges with it in the test but
 * not in the child (whose VMA was inherited): the child's VMA is then a
 * part of its parent's.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "cow_util.h"

#define ANON (16UL << 20)
#define ANON_PAGES (ANON / PAGE_SIZE)
#define FILE_LEN (4UL << 20)
#define FILE_PAGES (FILE_LEN / PAGE_SIZE)
#define FILE_PAGE_PROBE 3	/* written by nobody */
#define BELOW (1UL << 20)

enum { PARENT, CHILD, GRANDCHILD, NR_PROCS };

#define BASE_SEED 0x1111000011110000ULL
#define BELOW_SEED 0x6666000066660000ULL
#define FILE_SEED 0x4444000044440000ULL
#define NEW_FILE_SEED 0x5555000055550000ULL
#define MARK_SEED 0x3333000033330000ULL
#define OWN_SEED(role) (0x2222000022220000ULL + (role))

static uint8_t *anon, *fmap;
static int ready_pipe[2], file_fd;

/* Each generation writes its quarter of the anonymous region over what it inherited. */
static uint64_t anon_seed(int role, size_t p, int marked)
{
	if (marked && p == (size_t)role * 4)
		return MARK_SEED + role;
	if (role >= CHILD && p % 4 == 1)
		return OWN_SEED(CHILD);
	if (role == GRANDCHILD && p % 4 == 2)
		return OWN_SEED(GRANDCHILD);
	return BASE_SEED;
}

/* The file as mapped: at the file's offsets its pattern is address-derived in the mapping. */
static uint64_t file_seed(int role, size_t p, int rewritten)
{
	if (p % 2 == 0)
		return OWN_SEED(PARENT);
	if (role >= CHILD && p % 4 == 1)
		return OWN_SEED(CHILD);
	return rewritten && p == FILE_PAGE_PROBE ? NEW_FILE_SEED : FILE_SEED;
}

static int check(int role, int marked, int rewritten)
{
	size_t p;

	for (p = 0; role == PARENT && p < BELOW / PAGE_SIZE; p++)
		if (!cow_page_ok(anon - BELOW + p * PAGE_SIZE, BELOW_SEED)) {
			fail("the memory below the region: page %zu is wrong", p);
			return 1;
		}

	for (p = 0; p < ANON_PAGES; p++)
		if (!cow_page_ok(anon + p * PAGE_SIZE, anon_seed(role, p, marked))) {
			fail("process %d: anonymous page %zu is wrong", role, p);
			return 1;
		}
	for (p = 0; p < FILE_PAGES; p++)
		if (!cow_page_ok(fmap + p * PAGE_SIZE, file_seed(role, p, rewritten))) {
			fail("process %d: file page %zu is wrong", role, p);
			return 1;
		}
	return 0;
}

static void write_pages(uint8_t *base, size_t pages, size_t every, size_t which, uint64_t seed)
{
	size_t p;

	for (p = which; p < pages; p += every)
		cow_fill_page(base + p * PAGE_SIZE, seed);
}

/* The file's contents are the pattern the mapping would show at fmap. */
static int write_file_page(size_t p, uint64_t seed)
{
	uint64_t page[COW_WORDS];
	size_t i;

	for (i = 0; i < COW_WORDS; i++)
		page[i] = cow_word((uint64_t *)(fmap + p * PAGE_SIZE) + i, seed);
	if (pwrite(file_fd, page, PAGE_SIZE, p * PAGE_SIZE) != PAGE_SIZE) {
		pr_perror("pwrite");
		return 1;
	}
	return 0;
}

static int stop(pid_t pid, const char *who)
{
	int status = stop_child(pid, 10000);

	if (status)
		fail("%s (pid %d) ended with status %#x", who, pid, status);
	return status != 0;
}

static void __attribute__((noreturn)) grandchild_main(void)
{
	write_pages(anon, ANON_PAGES, 4, 2, OWN_SEED(GRANDCHILD));
	/* every page mapped before the measure, as the check after the restore maps them */
	if (check(GRANDCHILD, 0, 0) || write_all(ready_pipe[1], "r", 1))
		_exit(1);
	test_waitsig();
	if (check(GRANDCHILD, 0, 1))
		_exit(1);
	cow_fill_page(anon + GRANDCHILD * 4 * PAGE_SIZE, MARK_SEED + GRANDCHILD);
	_exit(check(GRANDCHILD, 1, 1));
}

static void __attribute__((noreturn)) child_main(void)
{
	pid_t gc;

	write_pages(anon, ANON_PAGES, 4, 1, OWN_SEED(CHILD));
	write_pages(fmap, FILE_PAGES, 4, 1, OWN_SEED(CHILD));
	gc = fork();
	if (gc < 0)
		_exit(1);
	if (gc == 0)
		grandchild_main();
	if (check(CHILD, 0, 0) || write_all(ready_pipe[1], "r", 1))
		_exit(1);
	test_waitsig();
	if (check(CHILD, 0, 1))
		_exit(1);
	cow_fill_page(anon + CHILD * 4 * PAGE_SIZE, MARK_SEED + CHILD);
	if (stop(gc, "the grandchild"))
		_exit(1);
	_exit(check(CHILD, 1, 1));
}

static int setup(void)
{
	size_t p;

	/* with room held below it, for the mapping that merges with it after the fork */
	anon = mmap(NULL, ANON + BELOW, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon != MAP_FAILED && mprotect(anon + BELOW, ANON, PROT_READ | PROT_WRITE))
		anon = MAP_FAILED;
	if (anon != MAP_FAILED)
		anon += BELOW;
	file_fd = open(test_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (anon == MAP_FAILED || file_fd < 0 || ftruncate(file_fd, FILE_LEN) || pipe(ready_pipe)) {
		pr_perror("setup");
		return 1;
	}
	fmap = mmap(NULL, FILE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, file_fd, 0);
	if (fmap == MAP_FAILED) {
		pr_perror("mmap the file");
		return 1;
	}
	for (p = 0; p < FILE_PAGES; p++)
		if (write_file_page(p, FILE_SEED))
			return 1;
	write_pages(anon, ANON_PAGES, 1, 0, BASE_SEED);
	write_pages(fmap, FILE_PAGES, 2, 0, OWN_SEED(PARENT));
	return 0;
}

int main(int argc, char **argv)
{
	static const int parent[NR_PROCS] = { -1, 0, 1 };
	struct cow_snap pre[2], post[2];
	pid_t procs[NR_PROCS];
	char buf[2];
	int ret = 0;

	test_init(argc, argv);
	if (setup())
		return 1;
	procs[PARENT] = getpid();
	procs[CHILD] = fork();
	if (procs[CHILD] < 0) {
		pr_perror("fork");
		return 1;
	}
	if (procs[CHILD] == 0)
		child_main();
	if (mmap(anon - BELOW, BELOW, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != anon - BELOW) {
		pr_perror("mmap below the region");
		return 1;
	}
	write_pages(anon - BELOW, BELOW / PAGE_SIZE, 1, 0, BELOW_SEED);
	{
		unsigned long start, end;
		char perms[5], path[64];

		if (find_vma((unsigned long)anon, &start, &end, perms, path, sizeof(path)) ||
		    start != (unsigned long)(anon - BELOW))
			test_msg("the memory below did not merge with the region");
	}
	if (check(PARENT, 0, 0) || read_all(ready_pipe[0], buf, 2)) {
		fail("the children did not get ready");
		return 1;
	}
	/* the grandchild's pid, from the child's children */
	{
		char path[64], kids[64];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", procs[CHILD],
			 procs[CHILD]);
		len = read_file(path, kids, sizeof(kids) - 1);
		if (len <= 0) {
			pr_perror("read %s", path);
			return 1;
		}
		kids[len] = '\0';
		procs[GRANDCHILD] = atoi(kids);
	}
	if (cow_snapshot(procs, parent, NR_PROCS, (unsigned long)anon, ANON_PAGES, &pre[0]) ||
	    cow_snapshot(procs, parent, NR_PROCS, (unsigned long)fmap, FILE_PAGES, &pre[1]))
		return 1;
	test_daemon();
	test_waitsig();

	if (check(PARENT, 0, 0))
		return 1;
	if (cow_snapshot(procs, parent, NR_PROCS, (unsigned long)anon, ANON_PAGES, &post[0]) ||
	    cow_snapshot(procs, parent, NR_PROCS, (unsigned long)fmap, FILE_PAGES, &post[1]) ||
	    cow_compare(&pre[0], &post[0], ANON_PAGES) || cow_compare(&pre[1], &post[1], FILE_PAGES))
		ret = 1;
	/* a page nobody wrote is still the file's, in every process */
	if (write_file_page(FILE_PAGE_PROBE, NEW_FILE_SEED))
		return 1;
	cow_fill_page(anon, MARK_SEED + PARENT);
	ret |= stop(procs[CHILD], "the child");
	if (ret || check(PARENT, 1, 1))
		return 1;
	pass();
	return 0;
}
