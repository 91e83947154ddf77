// SPDX-License-Identifier: GPL-2.0-only
/*
 * An epoll inside an epoll, both shared by a parent and its child after
 * fork.  Afterwards both levels show their registrations, writing to the
 * inner epoll's pipe makes the outer report the inner, the child's
 * epolls are the parent's descriptions (kcmp), and a target the child
 * adds after the restore is seen from the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "epoll_util.h"

#define DATA_PIPE 0x1111222233334444ULL
#define DATA_INNER 0x0123456789abcdefULL
#define DATA_CHILD 0xc0ffeeULL

static int outer, inner, p[2], extra[2];

static int kcmp_file(pid_t other, int fd)
{
	return syscall(SYS_kcmp, getpid(), other, KCMP_FILE, fd, fd);
}

/* The child checks it shares both epolls, then adds a target to the outer. */
static int child_check(pid_t parent)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = DATA_CHILD };

	if (kcmp_file(parent, outer) || kcmp_file(parent, inner)) {
		fail("child: its epolls are not the parent's");
		return 1;
	}
	if (epoll_ctl(outer, EPOLL_CTL_ADD, extra[1], &ev)) {
		pr_perror("child: epoll_ctl");
		return 1;
	}
	return 0;
}

static int check(const struct reg *ro, const struct reg *ri, pid_t child)
{
	struct reg after[2];
	struct epoll_event ev[4];
	int n, status;

	if (check_regs(outer, ro, 1, "outer") || check_regs(inner, ri, 1, "inner"))
		return 1;
	if (ready_now(outer, ev, 4) != 0 || ready_now(inner, ev, 4) != 0) {
		fail("events before anything was written");
		return 1;
	}
	if (write(p[1], "x", 1) != 1) {
		pr_perror("write");
		return 1;
	}
	n = ready_now(outer, ev, 4);
	if (n != 1 || ev[0].data.u64 != DATA_INNER || ev[0].events != EPOLLIN) {
		fail("outer: %d events, not the inner epoll", n);
		return 1;
	}
	n = ready_now(inner, ev, 4);
	if (n != 1 || ev[0].data.u64 != DATA_PIPE || ev[0].events != EPOLLIN) {
		fail("inner: %d events, not the pipe", n);
		return 1;
	}
	status = stop_child(child, 5000);
	if (status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	after[0] = ro[0];
	after[1] = (struct reg){ extra[1], EPOLLOUT | EPOLLERR | EPOLLHUP, DATA_CHILD };
	if (after[1].tfd < after[0].tfd) {
		struct reg t = after[0];

		after[0] = after[1];
		after[1] = t;
	}
	return check_regs(outer, after, 2, "outer after the child's add");
}

static int add(int ep, int fd, unsigned long long data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	struct reg ro[MAX_REGS], ri[MAX_REGS];
	int ready[2];
	pid_t child, parent;
	char c;

	test_init(argc, argv);
	outer = epoll_create1(0);
	inner = epoll_create1(EPOLL_CLOEXEC);
	if (outer < 0 || inner < 0 || pipe2(p, O_NONBLOCK) || pipe2(extra, O_NONBLOCK) ||
	    pipe(ready) || add(inner, p[0], DATA_PIPE) || add(outer, inner, DATA_INNER)) {
		pr_perror("setup");
		return 1;
	}
	if (read_regs(outer, ro, MAX_REGS) != 1 || read_regs(inner, ri, MAX_REGS) != 1) {
		fail("fdinfo does not show the registrations");
		return 1;
	}
	parent = getpid();
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0) {
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		close(ready[1]);
		test_waitsig();
		_exit(child_check(parent));
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);
	test_daemon();
	test_waitsig();

	if (check(ro, ri, child))
		return 1;
	pass();
	return 0;
}
