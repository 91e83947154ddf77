// SPDX-License-Identifier: GPL-2.0-only
/*
 * Epoll targets whose registering fds are gone: a pipe added as fd 3 and
 * then moved (dup2 to another number, fd 3 closed and taken by another
 * pipe), and one added through a high fd number that was then closed
 * (just where criu's restore keeps its log).  A second epoll has the
 * moved pipe and the new fd 3 both registered as tfd 3.  Afterwards
 * fdinfo shows the same registrations, kcmp says each is on the file the
 * task holds now, fd 3's new pipe is not in the first epoll, data written
 * to each pipe is reported with the right data, and EPOLL_CTL_MOD on fd 3
 * changes only the new pipe's registration.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "epoll_util.h"

#define MOVED_TFD 3
#define MOVED_FD 20
#define HIGH_FD 21
#define DATA_MOVED 0xabcdef0123456789ULL
#define DATA_HIGH 0x5555aaaa5555aaaaULL
#define DATA_OTHER 0x0000000100000001ULL
#define DATA_OTHER2 0x0000000200000002ULL

static int ep2, w_moved, w_high, other[2], high_tfd;

/*
 * One above the highest fd the task will hold: criu's restore keeps its
 * stderr and log copies from (highest fd + 1) up.
 */
static int pick_high_tfd(void)
{
	struct dirent *de;
	int max = HIGH_FD;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (atoi(de->d_name) > max && atoi(de->d_name) != dirfd(d))
			max = atoi(de->d_name);
	closedir(d);
	return max + 2;
}

static int high_epoll(int min)
{
	int fd = epoll_create1(0), high = fcntl(fd, F_DUPFD, min);

	close(fd);
	return high;
}

static int add_moved(int ep, int tfd, int newfd, unsigned long long data, int *w)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = data};
	int p[2];

	if (pipe2(p, O_NONBLOCK))
		return -1;
	/* the read end at tfd, registered there, then moved to newfd */
	if (p[0] != tfd && (dup2(p[0], tfd) != tfd || close(p[0])))
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) ||
	    (tfd == MOVED_TFD && epoll_ctl(ep2, EPOLL_CTL_ADD, tfd, &ev)) ||
	    dup2(tfd, newfd) != newfd || close(tfd))
		return -1;
	*w = p[1];
	return 0;
}

static int same_target(int ep, int tfd, int toff, int fd)
{
	struct kcmp_epoll_slot slot = {.efd = ep, .tfd = tfd, .toff = toff};

	return syscall(SYS_kcmp, getpid(), getpid(), KCMP_EPOLL_TFD, fd, &slot) == 0;
}

static int check(int ep, const struct reg *regs, int n)
{
	struct epoll_event ev[4], mod = {.events = EPOLLIN};
	int k;

	if (check_regs(ep, regs, n, "after restore"))
		return 1;
	if (!same_target(ep, MOVED_TFD, 0, MOVED_FD) || !same_target(ep, high_tfd, 0, HIGH_FD)) {
		fail("a registration is not on the file the task holds (kcmp)");
		return 1;
	}
	if (epoll_ctl(ep, EPOLL_CTL_MOD, MOVED_TFD, &mod) != -1 || errno != ENOENT) {
		fail("the pipe now at fd %d is registered", MOVED_TFD);
		return 1;
	}
	if (ready_now(ep, ev, 4) != 0) {
		fail("events before anything was written");
		return 1;
	}
	if (write(w_moved, "a", 1) != 1 || write(w_high, "b", 1) != 1 ||
	    write(other[1], "c", 1) != 1) {
		pr_perror("write");
		return 1;
	}
	k = ready_now(ep, ev, 4);
	if (k != 2 || ev[0].data.u64 != DATA_HIGH || ev[1].data.u64 != DATA_MOVED ||
	    ev[0].events != EPOLLIN || ev[1].events != EPOLLIN) {
		fail("%d events after writing, want the two registrations", k);
		return 1;
	}
	return 0;
}

/* ep2: tfd 3 twice, once for the moved pipe and once for the one at fd 3. */
static int check_two(const struct reg *regs)
{
	struct epoll_event ev[4], mod = {.events = EPOLLIN, .data.u64 = DATA_OTHER2};
	int k;

	if (check_regs(ep2, regs, 2, "second epoll"))
		return 1;
	if (!(same_target(ep2, MOVED_TFD, 0, MOVED_FD) &&
	      same_target(ep2, MOVED_TFD, 1, other[0])) &&
	    !(same_target(ep2, MOVED_TFD, 0, other[0]) &&
	      same_target(ep2, MOVED_TFD, 1, MOVED_FD))) {
		fail("second epoll: the two tfd %d registrations are not on fds %d and %d (kcmp)",
		     MOVED_TFD, MOVED_FD, other[0]);
		return 1;
	}
	/* the pipes were written to by check() */
	k = ready_now(ep2, ev, 4);
	if (k != 2 || ev[0].data.u64 != DATA_OTHER || ev[1].data.u64 != DATA_MOVED) {
		fail("second epoll: %d events, want the two pipes", k);
		return 1;
	}
	if (epoll_ctl(ep2, EPOLL_CTL_MOD, MOVED_TFD, &mod)) {
		pr_perror("second epoll: EPOLL_CTL_MOD");
		return 1;
	}
	k = ready_now(ep2, ev, 4);
	if (k != 2 || ev[0].data.u64 != DATA_OTHER2 || ev[1].data.u64 != DATA_MOVED) {
		fail("second epoll: %d events after EPOLL_CTL_MOD, want the new data and the moved "
		     "pipe",
		     k);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = DATA_OTHER};
	struct reg regs[MAX_REGS], regs2[MAX_REGS];
	int ep, n;

	test_init(argc, argv);
	/* keep fd 3 free for the first target */
	ep = high_epoll(10);
	ep2 = high_epoll(11);
	if (ep < 0 || ep2 < 0) {
		pr_perror("epoll");
		return 1;
	}
	high_tfd = pick_high_tfd();
	if (high_tfd < 0 || add_moved(ep, MOVED_TFD, MOVED_FD, DATA_MOVED, &w_moved) ||
	    add_moved(ep, high_tfd, HIGH_FD, DATA_HIGH, &w_high)) {
		pr_perror("setting up the targets");
		return 1;
	}
	/* another pipe takes fd 3 */
	if (pipe2(other, O_NONBLOCK) || other[0] != MOVED_TFD) {
		fail("the other pipe is at fd %d, not %d", other[0], MOVED_TFD);
		return 1;
	}
	if (epoll_ctl(ep2, EPOLL_CTL_ADD, other[0], &ev)) {
		pr_perror("epoll_ctl");
		return 1;
	}
	n = read_regs(ep, regs, MAX_REGS);
	if (n != 2 || read_regs(ep2, regs2, MAX_REGS) != 2) {
		fail("fdinfo does not show the registrations");
		return 1;
	}
	test_daemon();
	test_waitsig();

	if (check(ep, regs, n) || check_two(regs2))
		return 1;
	pass();
	return 0;
}
