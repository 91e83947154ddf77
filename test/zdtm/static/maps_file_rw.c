// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared file mappings keep the access mode of the file they were made
 * from: a file opened O_RDWR mapped MAP_SHARED with PROT_READ only can
 * be made writable with mprotect() afterwards, and writes through it
 * reach the file; one opened O_RDONLY cannot (EACCES).  Both fds are
 * closed, so only the mappings hold the files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN (2 * PAGE_SIZE)

static char *map_file(const char *path, int mode, uint32_t seed)
{
	static char buf[LEN];
	char *p;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	datagen(buf, LEN, seed);
	if (fd < 0 || write_all(fd, buf, LEN) || close(fd)) {
		pr_perror("create %s", path);
		return NULL;
	}
	fd = open(path, mode);
	if (fd < 0) {
		pr_perror("open %s", path);
		return NULL;
	}
	p = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		pr_perror("mmap %s", path);
		return NULL;
	}
	return p;
}

int main(int argc, char **argv)
{
	char ro_path[4096], buf[8];
	char *rw, *ro;
	int fd;

	test_init(argc, argv);
	snprintf(ro_path, sizeof(ro_path), "%s.ro", test_filename);
	rw = map_file(test_filename, O_RDWR, 1);
	ro = map_file(ro_path, O_RDONLY, 2);
	if (!rw || !ro)
		return 1;

	test_daemon();
	test_waitsig();

	if (datachk(rw, LEN, 1) != (size_t)-1 || datachk(ro, LEN, 2) != (size_t)-1) {
		fail("the mapped contents changed");
		return 1;
	}
	if (mprotect(ro, LEN, PROT_READ | PROT_WRITE) != -1 || errno != EACCES) {
		fail("the mapping of the O_RDONLY file became writable (or: %m)");
		return 1;
	}
	if (mprotect(rw, LEN, PROT_READ | PROT_WRITE)) {
		pr_perror("mprotect(PROT_WRITE) of the mapping of the O_RDWR file");
		return 1;
	}
	memcpy(rw + PAGE_SIZE, "written", 8);
	fd = open(test_filename, O_RDONLY);
	if (fd < 0 || pread(fd, buf, 8, PAGE_SIZE) != 8 || memcmp(buf, "written", 8)) {
		fail("a write through the mapping did not reach the file");
		return 1;
	}
	close(fd);
	pass();
	return 0;
}
