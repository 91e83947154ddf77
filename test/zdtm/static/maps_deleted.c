// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mappings of a file that was unlinked: a shared one written after the
 * unlink and a private one with a copied page.  The data stays, and the
 * mappings still name the old path, marked deleted.
 */
#include <fcntl.h>
#include <stdio.h>
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

static int check_vma(char *addr, const char *want_perms)
{
	char path[4096], want[4096 + 16], perms[5];
	unsigned long start, end;

	if (find_vma((unsigned long)addr, &start, &end, perms, path, sizeof(path))) {
		pr_perror("no vma at %p", addr);
		return 1;
	}
	snprintf(want, sizeof(want), "%s (deleted)", test_filename);
	if (strcmp(path, want) || strcmp(perms, want_perms)) {
		fail("mapping at %p is %s %s, want %s %s", addr, perms, path, want_perms, want);
		return 1;
	}
	return 0;
}

static int check_page(char *mem, int i, uint32_t seed, const char *what)
{
	if (datachk(mem + i * PAGE_SIZE, PAGE_SIZE, seed) != (size_t)-1) {
		fail("%s page %d is wrong", what, i);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *shared, *priv;
	int fd;

	test_init(argc, argv);
	fd = make_file(test_filename);
	if (fd < 0) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	shared = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	priv = mmap(NULL, NR_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (shared == MAP_FAILED || priv == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	close(fd);
	if (unlink(test_filename)) {
		pr_perror("unlink");
		return 1;
	}
	datagen(shared, PAGE_SIZE, 300);
	datagen(priv + 1 * PAGE_SIZE, PAGE_SIZE, 401);

	test_daemon();
	test_waitsig();

	if (check_vma(shared, "rw-s") || check_vma(priv, "rw-p"))
		return 1;
	if (check_page(shared, 0, 300, "shared") || check_page(shared, 1, 101, "shared") ||
	    check_page(shared, 3, 103, "shared") || check_page(priv, 1, 401, "private") ||
	    check_page(priv, 2, 102, "private"))
		return 1;
	/* The private copy must not leak into the file. */
	if (check_page(shared, 1, 101, "shared"))
		return 1;
	pass();
	return 0;
}
