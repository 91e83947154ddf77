// SPDX-License-Identifier: GPL-2.0-only
/*
 * A named FIFO opened at both ends with data queued in it: still the
 * FIFO at that path afterwards, with the same data and nothing more.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DATA_LEN 20000

static int check(int rfd, int wfd)
{
	static char buf[DATA_LEN];
	struct stat st, r, w;

	if (stat(test_filename, &st) || fstat(rfd, &r) || fstat(wfd, &w)) {
		pr_perror("stat");
		return 1;
	}
	if (!S_ISFIFO(st.st_mode) || r.st_ino != st.st_ino || w.st_ino != st.st_ino ||
	    r.st_dev != st.st_dev) {
		fail("the fds are not the FIFO at %s any more", test_filename);
		return 1;
	}
	if ((fcntl(rfd, F_GETFL) & O_ACCMODE) != O_RDONLY ||
	    (fcntl(wfd, F_GETFL) & O_ACCMODE) != O_WRONLY) {
		fail("access modes changed");
		return 1;
	}
	if (read_all(rfd, buf, DATA_LEN) || datachk(buf, DATA_LEN, 4) != (size_t)-1) {
		fail("the queued data changed");
		return 1;
	}
	if (read(rfd, buf, 1) != -1 || errno != EAGAIN) {
		fail("more data than was queued");
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
		pr_perror("mkfifo %s", test_filename);
		return 1;
	}
	rfd = open(test_filename, O_RDONLY | O_NONBLOCK);
	wfd = open(test_filename, O_WRONLY);
	if (rfd < 0 || wfd < 0) {
		pr_perror("open fifo");
		return 1;
	}
	datagen(buf, DATA_LEN, 4);
	if (write_all(wfd, buf, DATA_LEN)) {
		pr_perror("write");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(rfd, wfd))
		return 1;
	pass();
	return 0;
}
