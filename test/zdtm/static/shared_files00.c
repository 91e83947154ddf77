// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two processes with one fd table: a child made with
 * clone(CLONE_FILES | SIGCHLD).  Before the checkpoint the child opens a
 * file and the parent sets close-on-exec on a descriptor; both must be
 * seen by the other.  Afterwards kcmp says they still share the table,
 * the parent sees the child's descriptor, and in a short exchange over
 * shared memory a descriptor opened, changed or closed by one is opened,
 * changed or closed for the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

/* the parent and child meet here (MAP_SHARED) */
struct meet {
	volatile int step;	/* 1: child ready, 2: check now, 3: child done */
	volatile int child_fd;	/* opened by the child before the checkpoint */
	volatile int new_fd;	/* opened by the parent after the restore */
	volatile int dup_fd;	/* duplicated by the child after the restore */
	volatile int child_ok;
	char why[128];
};

static struct meet *m;

/*
 * A futex wait without a timeout is restarted by the restore as it was;
 * a sleep would come back with EINTR, changing errno in the memory the
 * runner compares.
 */
static void wait_step(int want)
{
	int cur;

	while ((cur = m->step) < want)
		syscall(SYS_futex, &m->step, FUTEX_WAIT, cur, NULL, NULL, 0);
}

static void set_step(int step)
{
	m->step = step;
	syscall(SYS_futex, &m->step, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static int child_fail(const char *why)
{
	snprintf(m->why, sizeof(m->why), "%s (errno %d)", why, errno);
	m->child_ok = 0;
	set_step(3);
	return 1;
}

/* Runs after the restore, in the child, on the shared table. */
static int child_checks(int file_fd)
{
	if (fcntl(m->new_fd, F_GETFD) < 0)
		return child_fail("the parent's new fd is not open in the child");
	if (fcntl(file_fd, F_GETFD) != FD_CLOEXEC)
		return child_fail("the parent's FD_CLOEXEC is not seen by the child");
	if (close(m->child_fd))
		return child_fail("the child's fd was not open after the restore");
	/* high, so that it cannot take the number just closed */
	m->dup_fd = fcntl(file_fd, F_DUPFD, 50);
	if (m->dup_fd < 0)
		return child_fail("dup");
	m->child_ok = 1;
	set_step(3);
	return 0;
}

static int child_main(int file_fd)
{
	m->child_fd = open("/dev/null", O_RDONLY);
	if (m->child_fd < 0)
		return child_fail("open /dev/null");
	set_step(1);
	wait_step(2);
	return child_checks(file_fd);
}

static int same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int parent_checks(pid_t child, int file_fd)
{
	if (syscall(SYS_kcmp, getpid(), child, KCMP_FILES, 0, 0) != 0) {
		fail("the parent and child %d no longer share their fd table", child);
		return 1;
	}
	if (fcntl(m->child_fd, F_GETFD) != 0) {
		fail("the child's fd %d is not open in the parent", m->child_fd);
		return 1;
	}
	m->new_fd = open(test_filename, O_RDONLY);
	if (m->new_fd < 0) {
		pr_perror("open %s", test_filename);
		return 1;
	}
	set_step(2);
	wait_step(3);
	if (!m->child_ok) {
		fail("child: %s", m->why);
		return 1;
	}
	if (fcntl(m->child_fd, F_GETFD) >= 0 || errno != EBADF) {
		fail("fd %d closed by the child is still open in the parent", m->child_fd);
		return 1;
	}
	if (!same_file(m->dup_fd, file_fd)) {
		fail("fd %d duplicated by the child is not the file in the parent", m->dup_fd);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int file_fd, status;
	pid_t child;

	test_init(argc, argv);
	m = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	file_fd = open(test_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file_fd < 0 || write_all(file_fd, "shared", 6)) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	/* like fork, on a copy of the stack, but with one fd table */
	child = syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
	if (child < 0) {
		pr_perror("clone(CLONE_FILES)");
		return 1;
	}
	if (child == 0)
		_exit(child_main(file_fd));
	wait_step(1);
	if (fcntl(m->child_fd, F_GETFD) != 0) {
		fail("before the checkpoint, the child's fd %d is not seen", m->child_fd);
		return 1;
	}
	if (fcntl(file_fd, F_SETFD, FD_CLOEXEC)) {
		pr_perror("F_SETFD");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (parent_checks(child, file_fd)) {
		kill(child, SIGKILL);
		return 1;
	}
	if (waitpid(child, &status, 0) != child || status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	unlink(test_filename);
	pass();
	return 0;
}
