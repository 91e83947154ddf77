// SPDX-License-Identifier: GPL-2.0-only
/*
 * A private file mapping with copy-on-write pages: the modified pages
 * keep their own data, the others still show the file, and the file
 * itself is untouched.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_PAGES 4

static int make_file(const char *path)
{
	char buf[PAGE_SIZE];
	int fd, i;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	for (i = 0; i < NR_PAGES; i++) {
		datagen(buf, PAGE_SIZE, 100 + i);
		if (write_all(fd, buf, PAGE_SIZE)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Pages 1 and 3 are written (copied), 0 is only read, 2 never touched. */
static int page_seed(int i)
{
	return i % 2 ? 200 + i : 100 + i;
}

static int check(char *mem, int fd)
{
	char buf[PAGE_SIZE], path[4096], perms[5];
	unsigned long start, end;
	size_t off;
	int i;

	if (find_vma((unsigned long)mem, &start, &end, perms, path, sizeof(path))) {
		pr_perror("no vma");
		return 1;
	}
	if (strcmp(path, test_filename) || strcmp(perms, "rw-p")) {
		fail("mapping is now %s %s", perms, path);
		return 1;
	}
	for (i = 0; i < NR_PAGES; i++) {
		off = datachk(mem + i * PAGE_SIZE, PAGE_SIZE, page_seed(i));
		if (off != (size_t)-1) {
			fail("mapped page %d differs at byte %zu", i, off);
			return 1;
		}
		if (pread(fd, buf, PAGE_SIZE, i * PAGE_SIZE) != PAGE_SIZE) {
			pr_perror("pread");
			return 1;
		}
		if (datachk(buf, PAGE_SIZE, 100 + i) != (size_t)-1) {
			fail("file page %d was changed", i);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	volatile char sink;
	char *mem;
	int fd;

	test_init(argc, argv);
	fd = make_file(test_filename);
	if (fd < 0) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	mem = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (mem == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	close(fd);
	sink = mem[0];
	(void)sink;
	datagen(mem + 1 * PAGE_SIZE, PAGE_SIZE, 201);
	datagen(mem + 3 * PAGE_SIZE, PAGE_SIZE, 203);

	test_daemon();
	test_waitsig();

	fd = open(test_filename, O_RDONLY);
	if (fd < 0) {
		pr_perror("open %s", test_filename);
		return 1;
	}
	if (check(mem, fd))
		return 1;
	pass();
	return 0;
}
