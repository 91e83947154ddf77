// SPDX-License-Identifier: GPL-2.0-only
/*
 * OFD (F_OFD_SETLK) locks: a write lock on bytes 0-99 of a file through
 * a description that only a child still holds (the test closed its own
 * copy), a read lock from byte 200 to EOF through a second description
 * of the test, and a read lock on all of another file.  Afterwards new
 * descriptions ask F_OFD_GETLK: same types and ranges; the second
 * description's own lock does not stand in its way; and once the child
 * has exited, its lock is gone with its description.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static char path_a[4096], path_b[4096];
static int fd_a2;

static int ofd(int fd, int cmd, struct flock *f, short type, off_t start, off_t len)
{
	memset(f, 0, sizeof(*f));
	f->l_type = type;
	f->l_whence = SEEK_SET;
	f->l_start = start;
	f->l_len = len;
	return fcntl(fd, cmd, f);
}

/* F_OFD_GETLK through fd (or a new description of path if fd < 0). */
static int expect(const char *path, int fd, short type, off_t start, off_t len, short want,
		  off_t wstart, off_t wlen)
{
	int qfd = fd >= 0 ? fd : open(path, O_RDONLY);
	struct flock f;
	int ret = 0;

	if (qfd < 0 || ofd(qfd, F_OFD_GETLK, &f, type, start, len)) {
		pr_perror("F_OFD_GETLK on %s", path);
		ret = 1;
	} else if (f.l_type != want ||
		   (want != F_UNLCK && (f.l_start != wstart || f.l_len != wlen || f.l_pid != -1))) {
		fail("%s: type %d at %ld+%ld: told type %d at %ld+%ld pid %d, expected %d at %ld+%ld",
		     path, type, (long)start, (long)len, f.l_type, (long)f.l_start, (long)f.l_len,
		     f.l_pid, want, (long)wstart, (long)wlen);
		ret = 1;
	}
	if (fd < 0 && qfd >= 0)
		close(qfd);
	return ret;
}

static int check(void)
{
	return expect(path_a, -1, F_WRLCK, 0, 1, F_WRLCK, 0, 100) ||
	       expect(path_a, -1, F_RDLCK, 99, 1, F_WRLCK, 0, 100) ||
	       expect(path_a, -1, F_WRLCK, 100, 100, F_UNLCK, 0, 0) ||
	       expect(path_a, -1, F_WRLCK, 200, 1, F_RDLCK, 200, 0) ||
	       expect(path_a, -1, F_RDLCK, 5000, 1, F_UNLCK, 0, 0) ||
	       expect(path_a, fd_a2, F_WRLCK, 300, 1, F_UNLCK, 0, 0) ||
	       expect(path_b, -1, F_WRLCK, 0, 0, F_RDLCK, 0, 0);
}

int main(int argc, char **argv)
{
	int fd_a, fd_b, status;
	struct flock f;
	pid_t child;

	test_init(argc, argv);
	snprintf(path_a, sizeof(path_a), "%s.a", test_filename);
	snprintf(path_b, sizeof(path_b), "%s.b", test_filename);
	fd_a = open(path_a, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fd_a2 = open(path_a, O_RDWR);
	fd_b = open(path_b, O_RDONLY | O_CREAT | O_TRUNC, 0644);
	if (fd_a < 0 || fd_a2 < 0 || fd_b < 0) {
		pr_perror("open");
		return 1;
	}
	if (ofd(fd_a, F_OFD_SETLK, &f, F_WRLCK, 0, 100) ||
	    ofd(fd_a2, F_OFD_SETLK, &f, F_RDLCK, 200, 0) ||
	    ofd(fd_b, F_OFD_SETLK, &f, F_RDLCK, 0, 0)) {
		pr_perror("F_OFD_SETLK");
		return 1;
	}
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0) {
		test_waitsig();
		_exit(0);
	}
	close(fd_a);
	if (check())
		return 1;

	test_daemon();
	test_waitsig();

	if (check())
		return 1;
	status = stop_child(child, 5000);
	if (status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	if (expect(path_a, -1, F_WRLCK, 0, 1, F_UNLCK, 0, 0))
		return 1;
	pass();
	return 0;
}
