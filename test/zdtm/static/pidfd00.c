// SPDX-License-Identifier: GPL-2.0-only
/*
 * pidfds of tasks in the tree: one of the test's child and one of the
 * test itself (PIDFD_NONBLOCK, no close-on-exec).  Afterwards each one's
 * fdinfo names the same pid, the flags are the same, signals sent with
 * pidfd_send_signal reach the child, and waitid(P_PIDFD) reaps it with
 * its exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int fdinfo_pid(int fd)
{
	char path[64], buf[1024], *l;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return -2;
	buf[n] = '\0';
	l = strstr(buf, "\nPid:");
	return l ? atoi(l + 5) : -2;
}

static int check_fd(int fd, pid_t pid, int nonblock, int cloexec, const char *what)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD), p = fdinfo_pid(fd);
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (strcmp(link, "anon_inode:[pidfd]") || p != pid || !!(fl & O_NONBLOCK) != nonblock ||
	    !!(fdfl & FD_CLOEXEC) != cloexec) {
		fail("%s: fd %d is %s of pid %d, nonblock %d cloexec %d; want pid %d, %d %d", what,
		     fd, link, p, !!(fl & O_NONBLOCK), !!(fdfl & FD_CLOEXEC), pid, nonblock,
		     cloexec);
		return 1;
	}
	return 0;
}

/* SIGTERM through the pidfd until the child exits; reaped through it too. */
static int stop_by_pidfd(int fd, pid_t pid)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	siginfo_t si;
	int i;

	for (i = 0; i < 500; i++) {
		if (syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0)) {
			pr_perror("pidfd_send_signal");
			return 1;
		}
		memset(&si, 0, sizeof(si));
		if (waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG)) {
			pr_perror("waitid(P_PIDFD)");
			return 1;
		}
		if (si.si_pid) {
			if (si.si_pid != pid || si.si_code != CLD_EXITED || si.si_status != 0) {
				fail("waitid(P_PIDFD): pid %d code %d status %d, want %d exited 0",
				     si.si_pid, si.si_code, si.si_status, pid);
				return 1;
			}
			return 0;
		}
		nanosleep(&tick, NULL);
	}
	fail("the child did not exit");
	return 1;
}

int main(int argc, char **argv)
{
	int cfd, sfd;
	pid_t child;

	test_init(argc, argv);
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0) {
		test_waitsig();
		_exit(0);
	}
	cfd = syscall(SYS_pidfd_open, child, 0);
	sfd = syscall(SYS_pidfd_open, getpid(), O_NONBLOCK);
	if (cfd < 0 || sfd < 0 || fcntl(sfd, F_SETFD, 0)) {
		pr_perror("pidfd_open");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_fd(cfd, child, 0, 1, "child's pidfd") || check_fd(sfd, getpid(), 1, 0, "own pidfd"))
		goto err;
	if (syscall(SYS_pidfd_send_signal, sfd, 0, NULL, 0)) {
		pr_perror("pidfd_send_signal to itself");
		goto err;
	}
	if (stop_by_pidfd(cfd, child))
		return 1;
	pass();
	return 0;
err:
	stop_child(child, 5000);
	return 1;
}
