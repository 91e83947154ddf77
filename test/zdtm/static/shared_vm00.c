// SPDX-License-Identifier: GPL-2.0-only
/*
 * Processes on one mm without being threads.  Child A is made with
 * clone(CLONE_VM | SIGCHLD): its own fd table, cwd and signal handlers.
 * Child B with clone(CLONE_VM | CLONE_SIGHAND | CLONE_FILES | CLONE_FS |
 * SIGCHLD): everything shared but the thread group.  They talk to the
 * parent through ordinary private globals, which only a shared mm shows
 * to the other side.  Afterwards kcmp says what is shared is shared and
 * what is not is not; the children see a value the parent writes, the
 * parent reads a page a child maps; A still has its own descriptor and
 * SIGUSR1 disposition, and B sees a handler the parent installs; the
 * oom_score_adj A set (the kernel gives it to every process on the mm)
 * is still everyone's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define A_FD 100		/* only in child A's table */
#define A_OOM 567		/* set by child A: the kernel keeps it per mm */
#define STACK (256 << 10)

enum { A, B, NR };

/* private memory: seen by the children only because they share the mm */
static struct child {
	volatile int step;	/* 1: ready, 2: check now, 3: done */
	volatile pid_t pid;
	volatile int ok;
	volatile unsigned long page;	/* mapped by the child after the restore */
	char why[96];
} kids[NR];
static volatile unsigned long token;

static void wake(volatile int *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* No timeout in the children: the restore restarts such a wait as it was. */
static void child_wait(volatile int *w, int want)
{
	int cur;

	while ((cur = *w) < want)
		syscall(SYS_futex, w, FUTEX_WAIT, cur, NULL, NULL, 0);
}

static int parent_wait(volatile int *w, int want)
{
	uint64_t end = now_ns() + 5000000000ULL;
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int cur;

	while ((cur = *w) < want) {
		if (now_ns() > end)
			return -1;
		syscall(SYS_futex, w, FUTEX_WAIT, cur, &ts, NULL, 0);
	}
	return 0;
}

static int child_done(struct child *c, const char *why)
{
	if (why)
		snprintf(c->why, sizeof(c->why), "%s", why);
	c->ok = !why;
	c->step = 3;
	wake(&c->step);
	return 0;
}

static void *handler_of(int sig)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, &sa))
		return (void *)-1;
	return (void *)sa.sa_handler;
}

/* raising it needs no privilege */
static int set_oom(int v)
{
	char buf[16];
	int fd = open("/proc/self/oom_score_adj", O_WRONLY), len, ret;

	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "%d", v);
	ret = write(fd, buf, len) == len ? 0 : -1;
	close(fd);
	return ret;
}

static int get_oom(void)
{
	char buf[16];
	ssize_t n = read_file("/proc/self/oom_score_adj", buf, sizeof(buf) - 1);

	if (n <= 0)
		return -10000;
	buf[n] = '\0';
	return atoi(buf);
}

static void usr2_handler(int sig)
{
	(void)sig;
}

/* The children run on the parent's memory and TLS: nothing but raw calls. */
static int child_main(void *arg)
{
	struct child *c = arg;
	unsigned long *p;
	int role = c - kids;

	c->pid = syscall(SYS_getpid);
	if (role == A && (dup2(0, A_FD) != A_FD || signal(SIGUSR1, SIG_IGN) == SIG_ERR ||
			  set_oom(A_OOM)))
		return child_done(c, "setup");
	c->step = 1;
	wake(&c->step);
	child_wait(&c->step, 2);

	if (syscall(SYS_getpid) != c->pid)
		return child_done(c, "the pid changed");
	if (token != 0x5eed)
		return child_done(c, "the parent's write to its memory is not seen");
	if (role == A && (fcntl(A_FD, F_GETFD) < 0 || handler_of(SIGUSR1) != SIG_IGN))
		return child_done(c, "child A lost its own fd or SIGUSR1 disposition");
	if (get_oom() != A_OOM)
		return child_done(c, "the oom_score_adj of the mm changed");
	if (role == B && handler_of(SIGUSR2) != (void *)usr2_handler)
		return child_done(c, "child B does not see the parent's new handler");
	p = (void *)syscall(SYS_mmap, NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return child_done(c, "mmap");
	p[0] = 0xfeed0000 + role;
	c->page = (unsigned long)p;
	return child_done(c, NULL);
}

static int check_kcmp(pid_t pid, int type, int want_shared, const char *what)
{
	long r = syscall(SYS_kcmp, getpid(), pid, type, 0, 0);

	if (r < 0 || (r == 0) != want_shared) {
		fail("pid %d: kcmp says %s: %s, expected %s (kcmp %ld)", pid, what,
		     r == 0 ? "shared" : "not shared", want_shared ? "shared" : "not shared", r);
		return 1;
	}
	return 0;
}

static int check_child(pid_t pid, int role)
{
	struct child *c = &kids[role];
	int shared = role == B;

	if (check_kcmp(pid, KCMP_VM, 1, "the mm") ||
	    check_kcmp(pid, KCMP_SIGHAND, shared, "the signal handlers") ||
	    check_kcmp(pid, KCMP_FILES, shared, "the fd table") ||
	    check_kcmp(pid, KCMP_FS, shared, "the fs struct"))
		return 1;
	c->step = 2;
	wake(&c->step);
	if (parent_wait(&c->step, 3)) {
		fail("child %c did not answer", 'A' + role);
		return 1;
	}
	if (!c->ok) {
		fail("child %c: %s", 'A' + role, c->why);
		return 1;
	}
	if (*(unsigned long *)c->page != 0xfeed0000UL + role) {
		fail("the page child %c mapped is not the parent's", 'A' + role);
		return 1;
	}
	munmap((void *)c->page, PAGE_SIZE);
	return 0;
}

static pid_t start_child(int role, int flags)
{
	char *stack = malloc(STACK);
	pid_t pid;

	if (!stack)
		return -1;
	pid = clone(child_main, stack + STACK, flags | SIGCHLD, &kids[role]);
	if (pid < 0)
		pr_perror("clone of child %c", 'A' + role);
	return pid;
}

int main(int argc, char **argv)
{
	pid_t pid[NR];
	int i, status, ret = 0;

	test_init(argc, argv);
	pid[A] = start_child(A, CLONE_VM);
	pid[B] = start_child(B, CLONE_VM | CLONE_SIGHAND | CLONE_FILES | CLONE_FS);
	if (pid[A] < 0 || pid[B] < 0)
		return 1;
	for (i = 0; i < NR; i++)
		if (parent_wait(&kids[i].step, 1) || kids[i].pid != pid[i]) {
			fail("child %c did not start", 'A' + i);
			return 1;
		}
	if (fcntl(A_FD, F_GETFD) >= 0) {
		fail("child A's fd %d is in the parent's table", A_FD);
		return 1;
	}

	test_daemon();
	test_waitsig();

	token = 0x5eed;
	if (signal(SIGUSR2, usr2_handler) == SIG_ERR) {
		pr_perror("signal");
		return 1;
	}
	for (i = 0; i < NR; i++)
		ret |= check_child(pid[i], i);
	for (i = 0; i < NR; i++) {
		if (ret)
			kill(pid[i], SIGKILL);
		if (waitpid(pid[i], &status, 0) != pid[i] || (!ret && status)) {
			fail("child %c ended with status %#x", 'A' + i, status);
			ret = 1;
		}
	}
	if (ret)
		return 1;
	pass();
	return 0;
}
