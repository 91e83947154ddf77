// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two processes with one fs struct (cwd, root, umask): a child made with
 * clone(CLONE_FS | SIGCHLD).  Before the checkpoint the child changes
 * into a directory and sets the umask, and the parent sees both.
 * Afterwards kcmp says they still share it, both are in that directory
 * with that umask, and in a short exchange over shared memory a chdir
 * and a umask() by the parent move the child and a chdir by the child
 * moves the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MASK_BEFORE 0027
#define MASK_AFTER 0062

/* the parent and child meet here (MAP_SHARED) */
struct meet {
	volatile int step;	/* 1: child ready, 2: check now, 3: child done */
	volatile int child_ok;
	char why[PATH_MAX + 64];
};

static struct meet *m;
static char dir[PATH_MAX], sub[PATH_MAX + 8];

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

static mode_t get_umask(void)
{
	mode_t old = umask(0);

	umask(old);
	return old;
}

static int in_dir(const char *want)
{
	char cwd[PATH_MAX];

	return getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, want);
}

static int child_fail(const char *why)
{
	char cwd[PATH_MAX];

	snprintf(m->why, sizeof(m->why), "%s (cwd %s, umask %03o)", why,
		 getcwd(cwd, sizeof(cwd)) ? cwd : "?", get_umask());
	m->child_ok = 0;
	set_step(3);
	return 1;
}

static int child_main(void)
{
	if (chdir(dir))
		return child_fail("chdir");
	umask(MASK_BEFORE);
	set_step(1);
	wait_step(2);
	/* after the restore: the parent moved us into sub and changed the umask */
	if (!in_dir(sub))
		return child_fail("the parent's chdir did not move the child");
	if (get_umask() != MASK_AFTER)
		return child_fail("the parent's umask is not the child's");
	if (chdir(".."))
		return child_fail("chdir ..");
	m->child_ok = 1;
	set_step(3);
	return 0;
}

static int parent_checks(pid_t child)
{
	if (syscall(SYS_kcmp, getpid(), child, KCMP_FS, 0, 0) != 0) {
		fail("the parent and child %d no longer share cwd and umask", child);
		return 1;
	}
	if (!in_dir(dir) || get_umask() != MASK_BEFORE) {
		fail("after the restore the parent is not in %s with umask %03o", dir,
		     MASK_BEFORE);
		return 1;
	}
	if (chdir(sub)) {
		pr_perror("chdir %s", sub);
		return 1;
	}
	umask(MASK_AFTER);
	set_step(2);
	wait_step(3);
	if (!m->child_ok) {
		fail("child: %s", m->why);
		return 1;
	}
	if (!in_dir(dir)) {
		fail("the child's chdir did not move the parent back to %s", dir);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t child;
	int status;

	test_init(argc, argv);
	m = mmap(NULL, PAGE_SIZE * 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	snprintf(sub, sizeof(sub), "%s/sub", test_filename);
	if ((mkdir(test_filename, 0755) && errno != EEXIST) ||
	    (mkdir(sub, 0755) && errno != EEXIST)) {
		pr_perror("mkdir %s", sub);
		return 1;
	}
	/* getcwd() shows the real path */
	if (!realpath(test_filename, dir)) {
		pr_perror("realpath %s", test_filename);
		return 1;
	}
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	/* like fork, on a copy of the stack, but with one fs struct */
	child = syscall(SYS_clone, CLONE_FS | SIGCHLD, NULL, NULL, NULL, 0);
	if (child < 0) {
		pr_perror("clone(CLONE_FS)");
		return 1;
	}
	if (child == 0)
		_exit(child_main());
	wait_step(1);
	if (!in_dir(dir) || get_umask() != MASK_BEFORE) {
		fail("before the checkpoint, the child's chdir and umask are not the parent's");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (parent_checks(child)) {
		kill(child, SIGKILL);
		return 1;
	}
	if (waitpid(child, &status, 0) != child || status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	rmdir(sub);
	rmdir(dir);
	pass();
	return 0;
}
