// SPDX-License-Identifier: GPL-2.0-only
/*
 * A memfd with a mode of its own (fchmod 0640), a name with a space in
 * it, a size that is not a page multiple, and every seal that forbids
 * changing it (write, shrink, grow, and the seal seal itself), plus a
 * read-only second description of it at another offset.  Afterwards:
 * the same mode, name, size, contents, offsets and seals, and the seals
 * still hold (writing, resizing and sealing again all fail with EPERM).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NAME "zdtm memfd01"
#define SIZE (2 * PAGE_SIZE + 777)
#define MODE 0640
#define SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define SEED 11

static int check_fd(int fd, off_t pos, int acc)
{
	char buf[SIZE], link[64], path[256];
	struct stat st;
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	len = readlink(link, path, sizeof(path) - 1);
	path[len > 0 ? len : 0] = '\0';
	if (strcmp(path, "/memfd:" NAME " (deleted)")) {
		fail("fd %d is now %s", fd, path);
		return 1;
	}
	if (fstat(fd, &st) || (st.st_mode & 07777) != MODE || st.st_size != SIZE) {
		fail("fd %d: mode %#o size %lld, want %#o %d", fd, st.st_mode & 07777,
		     (long long)st.st_size, MODE, (int)SIZE);
		return 1;
	}
	if (fcntl(fd, F_GET_SEALS) != SEALS || (fcntl(fd, F_GETFL) & O_ACCMODE) != acc) {
		fail("fd %d: seals %#x flags %#x, want %#x, access %d", fd, fcntl(fd, F_GET_SEALS),
		     fcntl(fd, F_GETFL), SEALS, acc);
		return 1;
	}
	if (lseek(fd, 0, SEEK_CUR) != pos) {
		fail("fd %d: offset %lld, want %lld", fd, (long long)lseek(fd, 0, SEEK_CUR),
		     (long long)pos);
		return 1;
	}
	if (pread(fd, buf, SIZE, 0) != SIZE || datachk(buf, SIZE, SEED) != (size_t)-1) {
		fail("fd %d: the contents changed", fd);
		return 1;
	}
	return 0;
}

static int check_sealed(int fd)
{
	if (pwrite(fd, "x", 1, 0) != -1 || errno != EPERM) {
		fail("a write went through the write seal");
		return 1;
	}
	if (ftruncate(fd, SIZE + 1) != -1 || errno != EPERM || ftruncate(fd, 1) != -1 ||
	    errno != EPERM) {
		fail("resizing went through the seals");
		return 1;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) != -1 || errno != EPERM) {
		fail("sealing again went through F_SEAL_SEAL");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char buf[SIZE], path[64];
	int fd, rfd;

	test_init(argc, argv);
	datagen(buf, SIZE, SEED);
	fd = memfd_create(NAME, MFD_ALLOW_SEALING);
	if (fd < 0 || write_all(fd, buf, SIZE) || fchmod(fd, MODE) || lseek(fd, 100, SEEK_SET) < 0 ||
	    fcntl(fd, F_ADD_SEALS, SEALS)) {
		pr_perror("memfd setup");
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY);
	if (rfd < 0 || lseek(rfd, 2000, SEEK_SET) < 0) {
		pr_perror("reopen");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_fd(fd, 100, O_RDWR) || check_fd(rfd, 2000, O_RDONLY) || check_sealed(fd))
		return 1;
	pass();
	return 0;
}
