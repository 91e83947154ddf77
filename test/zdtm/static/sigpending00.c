// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pending blocked signals, process-wide and thread-private: a standard
 * signal from kill(), one from tgkill(), and queued real-time signals
 * carrying values.  Afterwards the same signals are pending in the same
 * queues, and on unblocking each one arrives once per send, in the
 * kernel's order (private queue first, lower numbers first, real-time
 * instances in the order they were queued), with its code and value.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

struct seen {
	int signo, code, value;
	pid_t pid;
	uid_t uid;
};

static struct seen seen[32];
static volatile int nr_seen;

static void handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (nr_seen >= (int)ARRAY_SIZE(seen))
		return;
	seen[nr_seen].signo = sig;
	seen[nr_seen].code = si->si_code;
	seen[nr_seen].value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
	seen[nr_seen].pid = si->si_pid;
	seen[nr_seen].uid = si->si_uid;
	nr_seen++;
}

#define RT_SHARED (SIGRTMIN + 1)
#define RT_PRIVATE (SIGRTMIN + 2)

static int queue_private(int sig, int value)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	return syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, &si);
}

static int send_all(void)
{
	union sigval v;
	int i;

	if (kill(getpid(), SIGUSR1) || kill(getpid(), SIGUSR1))
		return -1;
	if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2))
		return -1;
	for (i = 0; i < 3; i++) {
		v.sival_int = i;
		if (sigqueue(getpid(), RT_SHARED, v))
			return -1;
	}
	for (i = 10; i < 12; i++)
		if (queue_private(RT_PRIVATE, i))
			return -1;
	return 0;
}

static unsigned long long bit(int sig)
{
	return 1ULL << (sig - 1);
}

static int status_word(const char *key, unsigned long long *val)
{
	char buf[4096], *p;
	ssize_t len;

	len = read_file("/proc/self/status", buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, key);
	if (!p || sscanf(p + strlen(key), "%llx", val) != 1)
		return -1;
	return 0;
}

static int check_queues(void)
{
	unsigned long long shd, prv;

	if (status_word("\nShdPnd:", &shd) || status_word("\nSigPnd:", &prv)) {
		pr_perror("can't read pending masks");
		return 1;
	}
	if (shd != (bit(SIGUSR1) | bit(RT_SHARED)) || prv != (bit(SIGUSR2) | bit(RT_PRIVATE))) {
		fail("pending: shared %llx private %llx", shd, prv);
		return 1;
	}
	return 0;
}

static int check_delivery(void)
{
	const struct seen want[] = {
		{SIGUSR2, SI_TKILL, -1, 0, 0},	  {RT_PRIVATE, SI_QUEUE, 10, 0, 0},
		{RT_PRIVATE, SI_QUEUE, 11, 0, 0}, {SIGUSR1, SI_USER, -1, 0, 0},
		{RT_SHARED, SI_QUEUE, 0, 0, 0},	  {RT_SHARED, SI_QUEUE, 1, 0, 0},
		{RT_SHARED, SI_QUEUE, 2, 0, 0},
	};
	unsigned int i;

	if (nr_seen != ARRAY_SIZE(want)) {
		fail("%d signals delivered, want %zu", nr_seen, ARRAY_SIZE(want));
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const struct seen *s = &seen[i];

		if (s->signo != want[i].signo || s->code != want[i].code ||
		    s->value != want[i].value || s->pid != getpid() || s->uid != getuid()) {
			fail("delivery %u: sig %d code %d value %d pid %d uid %d", i, s->signo,
			     s->code, s->value, s->pid, s->uid);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
	const int sigs[] = {SIGUSR1, SIGUSR2, RT_SHARED, RT_PRIVATE};
	sigset_t set;
	unsigned int i;

	test_init(argc, argv);
	/* One handler at a time, so arrival order is the dequeue order. */
	sigfillset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (sigaction(sigs[i], &sa, NULL)) {
			pr_perror("sigaction");
			return 1;
		}
		sigaddset(&set, sigs[i]);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) || send_all()) {
		pr_perror("can't queue signals");
		return 1;
	}
	if (check_queues())
		return 1;

	test_daemon();
	test_waitsig();

	if (nr_seen) {
		fail("blocked signals were delivered");
		return 1;
	}
	if (check_queues())
		return 1;
	if (sigprocmask(SIG_UNBLOCK, &set, NULL)) {
		pr_perror("sigprocmask");
		return 1;
	}
	if (check_delivery())
		return 1;
	pass();
	return 0;
}
