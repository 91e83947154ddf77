// SPDX-License-Identifier: GPL-2.0-only
/*
 * A FIFO whose name was unlinked while both ends stay open, with data
 * queued: afterwards both fds are still one FIFO with no name ("PATH
 * (deleted)", no links), the path is free, the data is the same and it
 * still carries data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DATA_LEN 5000
#define SEED 5

static int check_name(int fd)
{
	char path[64], link[4200], want[4200];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%s (deleted)", test_filename);
	if (strcmp(link, want)) {
		fail("fd %d is %s, want %s", fd, link, want);
		return 1;
	}
	return 0;
}

static int check(int rfd, int wfd)
{
	static char buf[DATA_LEN];
	struct stat r, w, st;

	if (fstat(rfd, &r) || fstat(wfd, &w) || !S_ISFIFO(r.st_mode) || r.st_ino != w.st_ino ||
	    r.st_dev != w.st_dev || r.st_nlink != 0) {
		fail("the fds are not one unlinked FIFO");
		return 1;
	}
	if (!stat(test_filename, &st) || errno != ENOENT) {
		fail("%s exists again", test_filename);
		return 1;
	}
	if (check_name(rfd) || check_name(wfd))
		return 1;
	if ((fcntl(rfd, F_GETFL) & O_ACCMODE) != O_RDONLY ||
	    (fcntl(wfd, F_GETFL) & O_ACCMODE) != O_WRONLY) {
		fail("the access modes changed");
		return 1;
	}
	if (read_all(rfd, buf, DATA_LEN) || datachk(buf, DATA_LEN, SEED) != (size_t)-1) {
		fail("the queued data changed");
		return 1;
	}
	if (read(rfd, buf, 1) != -1 || errno != EAGAIN) {
		fail("more data than was queued");
		return 1;
	}
	if (write_all(wfd, "ping", 4) || read_all(rfd, buf, 4) || memcmp(buf, "ping", 4)) {
		fail("the FIFO does not carry data any more");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[DATA_LEN];
	int rfd, wfd;

	test_init(argc, argv);
	if (mkfifo(test_filename, 0600)) {
		pr_perror("mkfifo");
		return 1;
	}
	rfd = open(test_filename, O_RDONLY | O_NONBLOCK);
	wfd = open(test_filename, O_WRONLY);
	datagen(buf, DATA_LEN, SEED);
	if (rfd < 0 || wfd < 0 || write_all(wfd, buf, DATA_LEN) || unlink(test_filename)) {
		pr_perror("FIFO setup");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(rfd, wfd))
		return 1;
	pass();
	return 0;
}
