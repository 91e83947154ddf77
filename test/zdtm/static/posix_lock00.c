// SPDX-License-Identifier: GPL-2.0-only
/*
 * POSIX (fcntl F_SETLK) locks: a write lock on bytes 10-29 and a read
 * lock from byte 100 to EOF of one file, a read lock on the first page
 * of another.  The first file is also open through a dup and a second
 * description, and closing any of them would drop the locks.  A child
 * holds its own write lock on bytes 50-59 through the same description.
 * Afterwards a helper child asks F_GETLK about ranges in and around each
 * lock: it must see the same types, ranges and holders.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static char path_a[4096], path_b[4096];
static pid_t child;

struct query {
	int file;		/* 0: path_a, 1: path_b */
	short type;		/* what the helper asks for */
	off_t start, len;
	short want_type;	/* what it must be told */
	off_t want_start, want_len;
	int by_child;		/* the holder: 0 the test, 1 its child */
};

static const struct query queries[] = {
	{0, F_WRLCK, 0, 10, F_UNLCK, 0, 0, 0},
	{0, F_RDLCK, 10, 1, F_WRLCK, 10, 20, 0},
	{0, F_WRLCK, 29, 1, F_WRLCK, 10, 20, 0},
	{0, F_WRLCK, 30, 20, F_UNLCK, 0, 0, 0},
	{0, F_RDLCK, 55, 1, F_WRLCK, 50, 10, 1},
	{0, F_WRLCK, 60, 40, F_UNLCK, 0, 0, 0},
	{0, F_RDLCK, 100, 0, F_UNLCK, 0, 0, 0},
	{0, F_WRLCK, 1000000, 1, F_RDLCK, 100, 0, 0},
	{1, F_WRLCK, 0, 0, F_RDLCK, 0, 4096, 0},
	{1, F_WRLCK, 4096, 0, F_UNLCK, 0, 0, 0},
};

static int set_lock(int fd, short type, off_t start, off_t len)
{
	struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	return fcntl(fd, F_SETLK, &f);
}

/* In a child (POSIX locks never conflict within a process): F_GETLK each query. */
static int ask_child(struct flock *out)
{
	int p[2], status;
	size_t i;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fds[2] = {open(path_a, O_RDWR), open(path_b, O_RDONLY)};

		for (i = 0; i < ARRAY_SIZE(queries); i++) {
			const struct query *q = &queries[i];
			struct flock f = {.l_type = q->type, .l_whence = SEEK_SET,
					  .l_start = q->start, .l_len = q->len};

			if (fds[q->file] < 0 || fcntl(fds[q->file], F_GETLK, &f))
				_exit(1);
			if (write_all(p[1], &f, sizeof(f)))
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	if (read_all(p[0], out, sizeof(*out) * ARRAY_SIZE(queries)))
		out = NULL;
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid || status || !out)
		return -1;
	return 0;
}

static int check(void)
{
	struct flock got[ARRAY_SIZE(queries)];
	size_t i;

	if (ask_child(got)) {
		fail("the F_GETLK helper failed");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(queries); i++) {
		const struct query *q = &queries[i];
		struct flock *f = &got[i];
		pid_t want_pid = q->by_child ? child : getpid();

		if (f->l_type != q->want_type ||
		    (q->want_type != F_UNLCK &&
		     (f->l_start != q->want_start || f->l_len != q->want_len || f->l_pid != want_pid))) {
			fail("file %d, type %d at %ld+%ld: told type %d at %ld+%ld pid %d, "
			     "expected type %d at %ld+%ld pid %d",
			     q->file, q->type, (long)q->start, (long)q->len, f->l_type,
			     (long)f->l_start, (long)f->l_len, f->l_pid, q->want_type,
			     (long)q->want_start, (long)q->want_len, want_pid);
			return 1;
		}
	}
	return 0;
}

/* A child locking bytes 50-59 through the description it inherited. */
static int start_child(int fd)
{
	int p[2];
	char c;

	if (pipe(p))
		return 1;
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0) {
		close(p[0]);
		if (set_lock(fd, F_WRLCK, 50, 10) || write_all(p[1], "r", 1))
			_exit(1);
		test_waitsig();
		_exit(0);
	}
	close(p[1]);
	if (read_all(p[0], &c, 1)) {
		fail("the child could not lock");
		return 1;
	}
	close(p[0]);
	return 0;
}

int main(int argc, char **argv)
{
	int fd_a, fd_b, fd_dup, fd_a2, status;

	test_init(argc, argv);
	snprintf(path_a, sizeof(path_a), "%s.a", test_filename);
	snprintf(path_b, sizeof(path_b), "%s.b", test_filename);
	fd_a = open(path_a, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fd_b = open(path_b, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd_a < 0 || fd_b < 0) {
		pr_perror("open");
		return 1;
	}
	close(fd_b);
	fd_b = open(path_b, O_RDONLY);
	if (fd_b < 0 || set_lock(fd_a, F_WRLCK, 10, 20) || set_lock(fd_a, F_RDLCK, 100, 0) ||
	    set_lock(fd_b, F_RDLCK, 0, 4096)) {
		pr_perror("lock");
		return 1;
	}
	if (start_child(fd_a))
		return 1;
	fd_dup = dup(fd_a);
	fd_a2 = open(path_a, O_RDONLY);
	if (fd_dup < 0 || fd_a2 < 0) {
		pr_perror("dup/open");
		return 1;
	}
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
	pass();
	return 0;
}
