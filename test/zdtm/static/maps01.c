// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared anonymous memory: contents survive, and the mapping is still
 * shared afterwards (a child's writes are seen by the parent).
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_PAGES 32

static int check_shared(char *mem)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		pr_perror("fork");
		return 1;
	}
	if (pid == 0) {
		datagen(mem + 5 * PAGE_SIZE, PAGE_SIZE, 777);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || status) {
		fail("child failed: status %#x", status);
		return 1;
	}
	if (datachk(mem + 5 * PAGE_SIZE, PAGE_SIZE, 777) != (size_t)-1) {
		fail("a child's write is not seen: the mapping is not shared");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t off;
	char *mem;
	int i;

	test_init(argc, argv);
	mem = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	/* Even pages carry data, odd ones stay untouched. */
	for (i = 0; i < NR_PAGES; i += 2)
		datagen(mem + i * PAGE_SIZE, PAGE_SIZE, i);

	test_daemon();
	test_waitsig();

	for (i = 0; i < NR_PAGES; i++) {
		char *page = mem + i * PAGE_SIZE;

		if (i % 2) {
			if (!is_zero(page, PAGE_SIZE)) {
				fail("page %d is not zero", i);
				return 1;
			}
			continue;
		}
		off = datachk(page, PAGE_SIZE, i);
		if (off != (size_t)-1) {
			fail("page %d differs at byte %zu", i, off);
			return 1;
		}
	}
	if (check_shared(mem))
		return 1;
	pass();
	return 0;
}
