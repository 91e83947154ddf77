// SPDX-License-Identifier: GPL-2.0-only
/*
 * One epoll watching pipes and a FIFO with different events and data:
 * level-triggered, edge-triggered, one-shot (one armed, one that already
 * fired), exclusive, wakeup (as far as the kernel keeps it) and a write
 * end.  Afterwards fdinfo shows the same
 * registrations, and writing to the targets makes epoll_wait report
 * exactly the expected data and events, twice (edge and one-shot ones
 * only once; the fired one-shot never).  The fired one-shot's mask comes
 * back with EPOLLERR | EPOLLHUP, which epoll_ctl() always adds.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epoll_util.h"

enum { LT, ET, ONESHOT, FIFO, OUT, FIRED, EXCL, WAKEUP, NR };

static const unsigned int flags[NR] = {
	[LT] = EPOLLIN,
	[ET] = EPOLLIN | EPOLLET,
	[ONESHOT] = EPOLLIN | EPOLLONESHOT,
	[FIFO] = EPOLLIN | EPOLLPRI,
	[OUT] = EPOLLOUT,
	[FIRED] = EPOLLIN | EPOLLONESHOT,
	[EXCL] = EPOLLIN | EPOLLEXCLUSIVE,
	/* kept only with CAP_BLOCK_SUSPEND (and CONFIG_PM_SLEEP) */
	[WAKEUP] = EPOLLIN | EPOLLWAKEUP,
};

static int rfd[NR], wfd[NR];

static unsigned long long data_of(int i)
{
	return 0x1000000000000000ULL * (i + 1) + 0x1234 * i;
}

/* Report {data, events} of the targets in mask, in data order. */
static int expect(int ep, unsigned int mask, const char *when)
{
	struct epoll_event ev[NR + 1];
	int n = ready_now(ep, ev, NR + 1), i, k = 0;

	for (i = 0; i < NR; i++) {
		unsigned int want = i == OUT ? EPOLLOUT : EPOLLIN;

		if (!(mask & (1 << i)))
			continue;
		if (k >= n || ev[k].data.u64 != data_of(i) || ev[k].events != want) {
			fail("%s: event %d is data %#llx events %#x, want target %d (data %#llx "
			     "events %#x); %d events",
			     when, k, k < n ? (unsigned long long)ev[k].data.u64 : 0ULL,
			     k < n ? ev[k].events : 0, i, data_of(i), want, n);
			return 1;
		}
		k++;
	}
	if (n != k) {
		fail("%s: %d events, want %d", when, n, k);
		return 1;
	}
	return 0;
}

static int check(int ep, const struct reg *regs)
{
	int i;

	if (check_regs(ep, regs, NR, "after restore"))
		return 1;
	if (expect(ep, 1 << OUT, "before writing"))
		return 1;
	for (i = 0; i < NR; i++)
		if (i != OUT && write(wfd[i], "x", 1) != 1) {
			pr_perror("write to target %d", i);
			return 1;
		}
	if (expect(ep,
		   (1 << LT) | (1 << ET) | (1 << ONESHOT) | (1 << FIFO) | (1 << OUT) | (1 << EXCL) |
			   (1 << WAKEUP),
		   "after writing"))
		return 1;
	return expect(ep, (1 << LT) | (1 << FIFO) | (1 << OUT) | (1 << EXCL) | (1 << WAKEUP),
		      "once more");
}

static int setup(int ep)
{
	struct epoll_event ev, evs[NR + 1];
	char c;
	int i, n, p[2];

	for (i = 0; i < NR; i++) {
		if (i == FIFO) {
			if (mkfifo(test_filename, 0600)) {
				pr_perror("mkfifo");
				return 1;
			}
			p[0] = open(test_filename, O_RDONLY | O_NONBLOCK);
			p[1] = open(test_filename, O_WRONLY | O_NONBLOCK);
		} else if (pipe2(p, O_NONBLOCK)) {
			p[0] = -1;
		}
		if (p[0] < 0 || p[1] < 0) {
			pr_perror("pipe %d", i);
			return 1;
		}
		rfd[i] = p[0];
		wfd[i] = p[1];
		ev.events = flags[i];
		ev.data.u64 = data_of(i);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, i == OUT ? wfd[i] : rfd[i], &ev)) {
			pr_perror("epoll_ctl %d", i);
			return 1;
		}
	}
	/* the one-shot that fires before the dump stays disarmed */
	if (write(wfd[FIRED], "x", 1) != 1) {
		pr_perror("write");
		return 1;
	}
	n = ready_now(ep, evs, NR + 1);
	for (i = 0; i < n; i++)
		if (evs[i].data.u64 == data_of(FIRED))
			break;
	if (i == n || read(rfd[FIRED], &c, 1) != 1) {
		fail("the one-shot target did not fire");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct reg regs[MAX_REGS];
	int ep, i;

	test_init(argc, argv);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || setup(ep))
		return 1;
	if (read_regs(ep, regs, MAX_REGS) != NR) {
		fail("fdinfo does not show %d registrations", NR);
		return 1;
	}
	/*
	 * A fired one-shot shows only its flag bits; epoll_ctl() cannot
	 * restore that: it always adds EPOLLERR and EPOLLHUP.
	 */
	for (i = 0; i < NR; i++)
		if (regs[i].data == data_of(FIRED))
			regs[i].may_add = EPOLLERR | EPOLLHUP;
	test_daemon();
	test_waitsig();

	if (check(ep, regs))
		return 1;
	pass();
	return 0;
}
