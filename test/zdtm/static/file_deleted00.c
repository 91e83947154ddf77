// SPDX-License-Identifier: GPL-2.0-only
/*
 * An open file that was unlinked: still open at the same offset, still
 * unlinked, still named "<path> (deleted)", same contents.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FILE_SIZE (5 * PAGE_SIZE + 123)
#define OFFSET 4567

int main(int argc, char **argv)
{
	char buf[FILE_SIZE], link[64], path[4096], want[4096 + 16];
	struct stat st;
	ssize_t len;
	int fd;

	test_init(argc, argv);
	datagen(buf, sizeof(buf), 9);
	fd = open(test_filename, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0 || write_all(fd, buf, sizeof(buf))) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	if (lseek(fd, OFFSET, SEEK_SET) != OFFSET || unlink(test_filename)) {
		pr_perror("lseek/unlink");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (fstat(fd, &st)) {
		pr_perror("fstat");
		return 1;
	}
	if (st.st_nlink != 0 || st.st_size != FILE_SIZE || (st.st_mode & 07777) != 0600) {
		fail("file now has %lu links, %ld bytes, mode %o", (unsigned long)st.st_nlink,
		     (long)st.st_size, st.st_mode & 07777);
		return 1;
	}
	if (lseek(fd, 0, SEEK_CUR) != OFFSET) {
		fail("offset moved to %ld", (long)lseek(fd, 0, SEEK_CUR));
		return 1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	if (len < 0) {
		pr_perror("readlink");
		return 1;
	}
	path[len] = '\0';
	snprintf(want, sizeof(want), "%s (deleted)", test_filename);
	if (strcmp(path, want)) {
		fail("fd now names %s", path);
		return 1;
	}
	if (pread(fd, buf, sizeof(buf), 0) != FILE_SIZE ||
	    datachk(buf, sizeof(buf), 9) != (size_t)-1) {
		fail("contents changed");
		return 1;
	}
	pass();
	return 0;
}
