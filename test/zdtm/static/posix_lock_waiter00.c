// SPDX-License-Identifier: GPL-2.0-only
/*
 * A lock waiter is not a lock: the test holds a POSIX write lock on a
 * whole file and a child waits for it in F_SETLKW.  Afterwards the test
 * must still be the holder (F_OFD_GETLK from another description names
 * it), and the child still waiting; once the test unlocks, the child
 * gets the lock and F_OFD_GETLK names the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static int wrlock(int fd, int cmd, short type)
{
	struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};

	return fcntl(fd, cmd, &f);
}

/*
 * Another description of the file, kept open: closing any fd of the file
 * would drop the test's own POSIX lock.
 */
static int query_fd;

/* The pid holding a write-conflicting lock on the file, 0 if none, -1 on error. */
static pid_t holder(void)
{
	struct flock f = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};

	if (fcntl(query_fd, F_OFD_GETLK, &f)) {
		pr_perror("F_OFD_GETLK");
		return -1;
	}
	if (f.l_type != F_WRLCK || f.l_start != 0 || f.l_len != 0)
		return f.l_type == F_UNLCK ? 0 : -1;
	return f.l_pid;
}

/* /proc/locks shows pid waiting ("->") for a POSIX lock */
static int is_waiting(pid_t pid)
{
	char buf[16384], *l;
	ssize_t len = read_file("/proc/locks", buf, sizeof(buf) - 1);
	int p;

	if (len < 0)
		return 0;
	buf[len] = '\0';
	for (l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (sscanf(l, "%*d: -> POSIX %*s %*s %d", &p) == 1 && p == pid)
			return 1;
	return 0;
}

static int wait_waiting(pid_t pid)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (is_waiting(pid))
			return 0;
		usleep(10000);
	}
	fail("child %d never waited for the lock", pid);
	return 1;
}

static void __attribute__((noreturn)) waiter(int report)
{
	int fd = open(test_filename, O_RDWR);

	if (fd < 0 || wrlock(fd, F_SETLKW, F_WRLCK))
		_exit(1);
	if (write_all(report, "L", 1))
		_exit(1);
	test_waitsig();
	_exit(0);
}

int main(int argc, char **argv)
{
	struct pollfd pfd;
	int fd, p[2], status;
	pid_t child, h;
	char c;

	test_init(argc, argv);
	fd = open(test_filename, O_RDWR | O_CREAT | O_TRUNC, 0644);
	query_fd = open(test_filename, O_RDONLY);
	if (fd < 0 || query_fd < 0 || pipe(p) || wrlock(fd, F_SETLK, F_WRLCK)) {
		pr_perror("setup");
		return 1;
	}
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0)
		waiter(p[1]);
	close(p[1]);
	if (wait_waiting(child) || holder() != getpid())
		return 1;

	test_daemon();
	test_waitsig();

	h = holder();
	if (h != getpid()) {
		fail("the lock is held by %d, not by the test (%d)", h, getpid());
		return 1;
	}
	pfd.fd = p[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0) {
		fail("the waiter got the lock while the test held it");
		return 1;
	}
	if (!is_waiting(child)) {
		fail("child %d no longer waits for the lock", child);
		return 1;
	}
	if (wrlock(fd, F_SETLK, F_UNLCK)) {
		pr_perror("unlock");
		return 1;
	}
	if (poll(&pfd, 1, 5000) != 1 || read(p[0], &c, 1) != 1 || c != 'L') {
		fail("the waiter did not get the lock once it was free");
		return 1;
	}
	h = holder();
	if (h != child) {
		fail("the lock is held by %d, not by the waiter (%d)", h, child);
		return 1;
	}
	status = stop_child(child, 5000);
	if (status) {
		fail("the waiter ended with status %#x", status);
		return 1;
	}
	pass();
	return 0;
}
