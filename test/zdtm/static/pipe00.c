// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pipe with unread data in it, both ends open, with a non-default
 * buffer size: the same data (and nothing more) comes out afterwards,
 * the ends are still one pipe, and it still carries data.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PIPE_SZ (128 * 1024)
#define DATA_LEN 100000

static int check(int p[2], int size)
{
	static char buf[DATA_LEN + 1];
	struct stat r, w;

	if (fstat(p[0], &r) || fstat(p[1], &w) || !S_ISFIFO(r.st_mode) || r.st_ino != w.st_ino) {
		fail("the two ends are not one pipe any more");
		return 1;
	}
	if (fcntl(p[0], F_GETPIPE_SZ) != size) {
		fail("pipe size %d, want %d", fcntl(p[0], F_GETPIPE_SZ), size);
		return 1;
	}
	if (read_all(p[0], buf, DATA_LEN) || datachk(buf, DATA_LEN, 3) != (size_t)-1) {
		fail("the queued data changed");
		return 1;
	}
	if (read(p[0], buf, 1) != -1 || errno != EAGAIN) {
		fail("more data than was queued");
		return 1;
	}
	if (write_all(p[1], "ping", 4) || read_all(p[0], buf, 4) || memcmp(buf, "ping", 4)) {
		fail("the pipe does not carry data any more");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[DATA_LEN];
	int p[2], size;

	test_init(argc, argv);
	if (pipe(p) || fcntl(p[0], F_SETFL, O_NONBLOCK)) {
		pr_perror("pipe");
		return 1;
	}
	size = fcntl(p[0], F_SETPIPE_SZ, PIPE_SZ);
	if (size < DATA_LEN) {
		pr_perror("F_SETPIPE_SZ");
		return 1;
	}
	datagen(buf, DATA_LEN, 3);
	if (write_all(p[1], buf, DATA_LEN)) {
		pr_perror("write");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(p, size))
		return 1;
	pass();
	return 0;
}
