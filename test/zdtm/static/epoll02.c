// SPDX-License-Identifier: GPL-2.0-only
/*
 * An epoll inside an epoll, both shared by a parent and its child after
 * fork; the outer one also watches an inotify.  Afterwards both levels
 * show their registrations, writing to the inner epoll's pipe makes the
 * outer report the inner, touching the watched file makes it report the
 * inotify, the child's epolls are the parent's descriptions (kcmp), a
 * pipe only the child holds is registered in the outer one (seen from the
 * parent, gone with the child), and a target the child adds after the
 * restore is seen from the parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "epoll_util.h"

#define DATA_PIPE 0x1111222233334444ULL
#define DATA_INNER 0x0123456789abcdefULL
#define DATA_CHILD 0xc0ffeeULL
#define DATA_INOTIFY 0x7777000077770000ULL
#define DATA_CHILD_PIPE 0x3333333333333333ULL

static int outer, inner, ino, wd, p[2], extra[2];

static int kcmp_file(pid_t other, int fd)
{
	return syscall(SYS_kcmp, getpid(), other, KCMP_FILE, fd, fd);
}

/* The child checks it shares both epolls, then adds a target to the outer. */
static int child_check(pid_t parent)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = DATA_CHILD};

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

/* Touching the file wakes the outer epoll through the inotify. */
static int check_inotify(void)
{
	struct inotify_event ie;
	struct epoll_event ev[4];
	int f = open(test_filename, O_WRONLY), n;

	if (f < 0 || write(f, "x", 1) != 1 || close(f)) {
		pr_perror("write %s", test_filename);
		return 1;
	}
	n = ready_now(outer, ev, 4);
	if (n != 2 || ev[0].data.u64 != DATA_INNER || ev[1].data.u64 != DATA_INOTIFY ||
	    ev[1].events != EPOLLIN) {
		fail("outer: %d events after touching the file, want the inner and the inotify", n);
		return 1;
	}
	if (read(ino, &ie, sizeof(ie)) != sizeof(ie) || ie.wd != wd || ie.mask != IN_MODIFY) {
		fail("the inotify did not report IN_MODIFY on wd %d", wd);
		return 1;
	}
	return 0;
}

static int check(const struct reg *ro, const struct reg *ri, pid_t child)
{
	struct reg after[MAX_REGS];
	struct epoll_event ev[4];
	int n, status, i, k = 0;

	if (check_regs(outer, ro, 3, "outer") || check_regs(inner, ri, 1, "inner"))
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
	if (check_inotify())
		return 1;
	status = stop_child(child, 5000);
	if (status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	/* the child's own pipe is gone with it; extra[1] (fd 9) is the last fd */
	for (i = 0; i < 3; i++)
		if (ro[i].data != DATA_CHILD_PIPE)
			after[k++] = ro[i];
	after[k++] = (struct reg){extra[1], EPOLLOUT | EPOLLERR | EPOLLHUP, DATA_CHILD, 0};
	return check_regs(outer, after, k, "outer after the child's add");
}

static int add(int ep, int fd, unsigned long long data)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = data};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	struct reg ro[MAX_REGS], ri[MAX_REGS];
	int ready[2], f;
	pid_t child, parent;
	char c;

	test_init(argc, argv);
	outer = epoll_create1(0);
	inner = epoll_create1(EPOLL_CLOEXEC);
	ino = inotify_init1(IN_NONBLOCK);
	f = open(test_filename, O_CREAT | O_WRONLY, 0600);
	if (outer < 0 || inner < 0 || ino < 0 || f < 0 || close(f) ||
	    (wd = inotify_add_watch(ino, test_filename, IN_MODIFY)) < 0 || pipe2(p, O_NONBLOCK) ||
	    pipe2(extra, O_NONBLOCK) || pipe(ready) || add(inner, p[0], DATA_PIPE) ||
	    add(outer, inner, DATA_INNER) || add(outer, ino, DATA_INOTIFY)) {
		pr_perror("setup");
		return 1;
	}
	if (read_regs(inner, ri, MAX_REGS) != 1) {
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
		int cp[2];

		close(ready[0]);
		if (pipe2(cp, O_NONBLOCK) || add(outer, cp[0], DATA_CHILD_PIPE) ||
		    write(ready[1], "r", 1) != 1)
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
	if (read_regs(outer, ro, MAX_REGS) != 3) {
		fail("fdinfo does not show the outer registrations");
		return 1;
	}
	test_daemon();
	test_waitsig();

	if (check(ro, ri, child))
		return 1;
	pass();
	return 0;
}
