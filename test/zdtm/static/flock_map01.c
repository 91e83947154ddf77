// SPDX-License-Identifier: GPL-2.0-only
/*
 * A flock held through a mapping and taken by a process that has since
 * exited: a child takes an exclusive flock through a description it
 * shares with us and exits, then we map the file MAP_SHARED and close
 * our fd.  /proc/locks names the gone child as the holder; the lock is
 * ours, through the mapping.  Afterwards a child's new description must
 * be refused LOCK_SH, and once we unmap the file the lock must be gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN 4096

/* Run fn(arg) in a child; its exit code, or -1. */
static int in_child(int (*fn)(const void *), const void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		pr_perror("child");
		return -1;
	}
	return WEXITSTATUS(status);
}

static int take_flock(const void *fd)
{
	return flock(*(const int *)fd, LOCK_EX) ? 255 : 0;
}

/* flock(LOCK_SH | LOCK_NB) through a new description: 0 or errno. */
static int try_flock(const void *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 255;
	return flock(fd, LOCK_SH | LOCK_NB) ? errno : 0;
}

int main(int argc, char **argv)
{
	char *map;
	int fd, r;

	test_init(argc, argv);
	fd = open(test_filename, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, LEN)) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	if (in_child(take_flock, &fd)) {
		pr_perror("flock in a child");
		return 1;
	}
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	close(fd);
	if ((r = in_child(try_flock, test_filename)) != EWOULDBLOCK) {
		fail("before the dump: a child's LOCK_SH gave %d", r);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if ((r = in_child(try_flock, test_filename)) != EWOULDBLOCK) {
		fail("a child's LOCK_SH gave %s", r == 255 ? "?" : strerror(r));
		return 1;
	}
	if (munmap(map, LEN)) {
		pr_perror("munmap");
		return 1;
	}
	if ((r = in_child(try_flock, test_filename)) != 0) {
		fail("after munmap: a child's LOCK_SH gave %s", r == 255 ? "?" : strerror(r));
		return 1;
	}
	pass();
	return 0;
}
