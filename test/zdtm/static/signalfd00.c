// SPDX-License-Identifier: GPL-2.0-only
/*
 * signalfds: a non-blocking one for SIGUSR1 and a real-time signal, a
 * blocking one for SIGUSR2.  The signals are blocked and pending (one
 * from kill(), one queued with a value, one thread-directed) before the
 * dump.  Afterwards each signalfd has its mask and flags, and reading it
 * returns exactly its pending signals with their numbers, codes and value.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define RT_SIG (SIGRTMIN + 3)
#define RT_VALUE 77

static unsigned long long bit(int sig)
{
	return 1ULL << (sig - 1);
}

static int fdinfo_mask(int fd, unsigned long long *mask)
{
	char path[64], buf[1024], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, "sigmask:");
	if (!p)
		return -1;
	*mask = strtoull(p + 8, NULL, 16);
	return 0;
}

static int check_fd(int fd, unsigned long long want_mask, int want_fl, const char *what)
{
	unsigned long long mask = 0;
	int fl = fcntl(fd, F_GETFL);

	if (fdinfo_mask(fd, &mask) || mask != want_mask) {
		fail("%s: sigmask %llx, want %llx", what, mask, want_mask);
		return -1;
	}
	if (fl < 0 || (fl & (O_NONBLOCK | O_ACCMODE)) != want_fl) {
		fail("%s: flags %#x, want %#x", what, fl, want_fl);
		return -1;
	}
	return 0;
}

static int read_one(int fd, int signo, int code, int value, const char *what)
{
	struct signalfd_siginfo si;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	/* never block: a lost signal must fail, not hang */
	if (poll(&pfd, 1, 0) != 1) {
		fail("%s: nothing to read, want signal %d", what, signo);
		return -1;
	}
	if (read(fd, &si, sizeof(si)) != sizeof(si)) {
		pr_perror("%s: read", what);
		return -1;
	}
	if ((int)si.ssi_signo != signo || si.ssi_code != code || (int)si.ssi_pid != getpid() ||
	    (value >= 0 && si.ssi_int != value)) {
		fail("%s: signal %u code %d pid %u int %d, want %d code %d pid %d int %d", what,
		     si.ssi_signo, si.ssi_code, si.ssi_pid, si.ssi_int, signo, code, getpid(),
		     value);
		return -1;
	}
	return 0;
}

static int check_reads(int a, int b)
{
	struct signalfd_siginfo si;
	sigset_t pend;

	/* lower numbers first: SIGUSR1 before the real-time one */
	if (read_one(a, SIGUSR1, SI_USER, -1, "usr1+rt") ||
	    read_one(a, RT_SIG, SI_QUEUE, RT_VALUE, "usr1+rt") ||
	    read_one(b, SIGUSR2, SI_TKILL, -1, "usr2"))
		return -1;
	if (read(a, &si, sizeof(si)) >= 0 || errno != EAGAIN) {
		fail("usr1+rt: more than its two signals, or no EAGAIN");
		return -1;
	}
	if (sigpending(&pend) || sigismember(&pend, SIGUSR1) || sigismember(&pend, SIGUSR2) ||
	    sigismember(&pend, RT_SIG)) {
		fail("signals still pending after reading them");
		return -1;
	}
	/* and a new one arrives through it */
	if (raise(SIGUSR2) || read_one(b, SIGUSR2, SI_TKILL, -1, "usr2, sent after"))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	union sigval v = {.sival_int = RT_VALUE};
	sigset_t blocked, ma, mb;
	int a, b;

	test_init(argc, argv);
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGUSR2);
	sigaddset(&blocked, RT_SIG);
	sigemptyset(&ma);
	sigaddset(&ma, SIGUSR1);
	sigaddset(&ma, RT_SIG);
	sigemptyset(&mb);
	sigaddset(&mb, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &blocked, NULL)) {
		pr_perror("sigprocmask");
		return 1;
	}
	a = signalfd(-1, &ma, SFD_NONBLOCK);
	b = signalfd(-1, &mb, 0);
	if (a < 0 || b < 0) {
		pr_perror("signalfd");
		return 1;
	}
	if (kill(getpid(), SIGUSR1) || sigqueue(getpid(), RT_SIG, v) ||
	    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2)) {
		pr_perror("can't send signals");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_fd(a, bit(SIGUSR1) | bit(RT_SIG), O_RDWR | O_NONBLOCK, "usr1+rt") ||
	    check_fd(b, bit(SIGUSR2), O_RDWR, "usr2") || check_reads(a, b))
		return 1;
	pass();
	return 0;
}
