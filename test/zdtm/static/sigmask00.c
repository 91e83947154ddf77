// SPDX-License-Identifier: GPL-2.0-only
/* The blocked signal mask, as sigprocmask() and /proc/self/status see it. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "zdtmtst.h"

static int status_sigblk(unsigned long long *mask)
{
	char buf[4096], *p;
	ssize_t len;

	len = read_file("/proc/self/status", buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, "\nSigBlk:");
	if (!p || sscanf(p + 8, "%llx", mask) != 1)
		return -1;
	return 0;
}

static unsigned long long to_word(const sigset_t *set)
{
	unsigned long long w = 0;
	int sig;

	for (sig = 1; sig <= 64; sig++)
		if (sigismember(set, sig) == 1)
			w |= 1ULL << (sig - 1);
	return w;
}

int main(int argc, char **argv)
{
	static const int sigs[] = {SIGHUP,  SIGINT,   SIGUSR1, SIGUSR2, SIGPIPE,
				   SIGCHLD, SIGWINCH, 37,      50,	64};
	unsigned long long want, status;
	sigset_t set, now;
	unsigned int i;

	test_init(argc, argv);
	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_SETMASK, &set, NULL)) {
		pr_perror("sigprocmask");
		return 1;
	}
	want = to_word(&set);
	if (status_sigblk(&status) || status != want) {
		fail("SigBlk %llx, want %llx", status, want);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (sigprocmask(SIG_BLOCK, NULL, &now)) {
		pr_perror("sigprocmask");
		return 1;
	}
	if (to_word(&now) != want) {
		fail("blocked mask %llx, want %llx", to_word(&now), want);
		return 1;
	}
	if (status_sigblk(&status) || status != want) {
		fail("SigBlk %llx, want %llx", status, want);
		return 1;
	}
	pass();
	return 0;
}
