// SPDX-License-Identifier: GPL-2.0-only
/*
 * A shared file mapping written through: the file shows what was written
 * into the mapping, and afterwards the two are still one (writes on
 * either side are seen on the other).
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

static int check_page(char *mem, int fd, int i, uint32_t seed)
{
	char buf[PAGE_SIZE];

	if (datachk(mem + i * PAGE_SIZE, PAGE_SIZE, seed) != (size_t)-1) {
		fail("mapped page %d is wrong", i);
		return 1;
	}
	if (pread(fd, buf, PAGE_SIZE, i * PAGE_SIZE) != PAGE_SIZE) {
		pr_perror("pread");
		return 1;
	}
	if (datachk(buf, PAGE_SIZE, seed) != (size_t)-1) {
		fail("file page %d is wrong", i);
		return 1;
	}
	return 0;
}

static int check(char *mem, int fd)
{
	char buf[PAGE_SIZE], path[4096], perms[5];
	unsigned long start, end;

	if (find_vma((unsigned long)mem, &start, &end, perms, path, sizeof(path))) {
		pr_perror("no vma");
		return 1;
	}
	if (strcmp(path, test_filename) || strcmp(perms, "rw-s")) {
		fail("mapping is now %s %s", perms, path);
		return 1;
	}
	if (check_page(mem, fd, 0, 100) || check_page(mem, fd, 1, 201) ||
	    check_page(mem, fd, 2, 102) || check_page(mem, fd, 3, 103))
		return 1;

	/* Still shared: write on each side, read on the other. */
	datagen(mem + 2 * PAGE_SIZE, PAGE_SIZE, 302);
	datagen(buf, PAGE_SIZE, 303);
	if (pwrite(fd, buf, PAGE_SIZE, 3 * PAGE_SIZE) != PAGE_SIZE) {
		pr_perror("pwrite");
		return 1;
	}
	return check_page(mem, fd, 2, 302) || check_page(mem, fd, 3, 303);
}

int main(int argc, char **argv)
{
	char *mem;
	int fd;

	test_init(argc, argv);
	fd = make_file(test_filename);
	if (fd < 0) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	mem = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	close(fd);
	datagen(mem + 1 * PAGE_SIZE, PAGE_SIZE, 201);

	test_daemon();
	test_waitsig();

	fd = open(test_filename, O_RDWR);
	if (fd < 0) {
		pr_perror("open %s", test_filename);
		return 1;
	}
	if (check(mem, fd))
		return 1;
	pass();
	return 0;
}
