// SPDX-License-Identifier: GPL-2.0-only
/*
 * A memfd with data, an offset and seals: same name, size, contents,
 * offset and seals afterwards, and the seals are still enforced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIZE (3 * PAGE_SIZE + 100)
#define OFFSET 1000
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

static int check(int fd)
{
	char buf[SIZE], link[64], path[256];
	ssize_t len;
	off_t end;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len < 0) {
		pr_perror("readlink");
		return 1;
	}
	path[len] = '\0';
	if (strcmp(path, "/memfd:zdtm-memfd (deleted)")) {
		fail("memfd is now %s", path);
		return 1;
	}
	if (fcntl(fd, F_GET_SEALS) != SEALS) {
		fail("seals %#x, want %#x", fcntl(fd, F_GET_SEALS), SEALS);
		return 1;
	}
	if (lseek(fd, 0, SEEK_CUR) != OFFSET) {
		fail("offset %ld, want %d", (long)lseek(fd, 0, SEEK_CUR), OFFSET);
		return 1;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end != SIZE || pread(fd, buf, SIZE, 0) != SIZE || datachk(buf, SIZE, 6) != (size_t)-1) {
		fail("size %ld or contents changed", (long)end);
		return 1;
	}
	if (ftruncate(fd, SIZE / 2) == 0 || errno != EPERM) {
		fail("F_SEAL_SHRINK is not enforced");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char buf[SIZE];
	int fd;

	test_init(argc, argv);
	fd = memfd_create("zdtm-memfd", MFD_ALLOW_SEALING);
	if (fd < 0) {
		pr_perror("memfd_create");
		return 1;
	}
	datagen(buf, SIZE, 6);
	if (write_all(fd, buf, SIZE) || lseek(fd, OFFSET, SEEK_SET) != OFFSET ||
	    fcntl(fd, F_ADD_SEALS, SEALS)) {
		pr_perror("memfd setup");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(fd))
		return 1;
	pass();
	return 0;
}
