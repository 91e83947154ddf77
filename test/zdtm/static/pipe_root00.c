// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pipes whose inodes belong to root (made by the runner, see
 * "root_pipes" in zdtm.py), held by a test that is not root: criu must
 * reach their data without reopening them, which a rootless criu may
 * not do.
 *
 * Pipe A: the test holds only the write end, its child only the read
 * end, with data queued: after the restore the child reads exactly that
 * data, then more written by the parent.
 * Pipe B: the test holds only the write end; the read end lives outside
 * the tree (the runner's).  Nobody in the tree can read its data, so it
 * may be lost; the write end must still be a pipe's write end.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define DATA_LEN 30000
#define SEED 77

static int parse_fds(int fds[4])
{
	const char *e = getenv("ZDTM_ROOT_PIPES");

	if (!e || sscanf(e, "%d,%d,%d,%d", &fds[0], &fds[1], &fds[2], &fds[3]) != 4) {
		fail("ZDTM_ROOT_PIPES is not set (\"%s\")", e ? e : "");
		return 1;
	}
	return 0;
}

static int is_root_pipe(int fd, int acc, const char *what)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode) || fl < 0 || (fl & O_ACCMODE) != acc) {
		fail("%s: fd %d is not a pipe end with access mode %d (flags %#x)", what, fd,
		     acc, fl);
		return 1;
	}
	return 0;
}

static void __attribute__((noreturn)) child(int rfd)
{
	static char buf[DATA_LEN];

	test_waitsig();
	if (read_all(rfd, buf, DATA_LEN) || datachk(buf, DATA_LEN, SEED) != (size_t)-1) {
		fail("child: the queued data of pipe A changed");
		_exit(1);
	}
	if (read_all(rfd, buf, 4) || memcmp(buf, "pong", 4)) {
		fail("child: pipe A does not carry new data");
		_exit(1);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	static char buf[DATA_LEN];
	int fds[4], status;
	pid_t pid;

	test_init(argc, argv);
	if (parse_fds(fds))
		return 1;
	/* the test is not root: the inodes are not its own */
	datagen(buf, DATA_LEN, SEED);
	if (write_all(fds[1], buf, DATA_LEN) || write_all(fds[3], "lost", 4)) {
		pr_perror("write");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(fds[1]);
		close(fds[2]);
		close(fds[3]);
		child(fds[0]);
	}
	close(fds[0]);
	close(fds[2]);
	signal(SIGPIPE, SIG_IGN);

	test_daemon();
	test_waitsig();

	if (is_root_pipe(fds[1], O_WRONLY, "pipe A") || is_root_pipe(fds[3], O_WRONLY, "pipe B"))
		goto err;
	if (write_all(fds[1], "pong", 4)) {
		pr_perror("pipe A: write after restore");
		goto err;
	}
	status = stop_child(pid, 5000);
	if (status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	pass();
	return 0;
err:
	stop_child(pid, 5000);
	return 1;
}
