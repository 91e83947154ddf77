// SPDX-License-Identifier: GPL-2.0-only
/*
 * Signal dispositions for every signal that can be set: handlers, flags
 * and masks read back the same, and the handlers still work (an ignored
 * signal is ignored, SA_RESETHAND resets, SA_SIGINFO gets its info).
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NSIG_MAX 64

static volatile int seen_a, seen_b, seen_info_signo;

static void handler_a(int sig)
{
	(void)sig;
	seen_a++;
}

static void handler_b(int sig)
{
	(void)sig;
	seen_b++;
}

static void handler_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* A real fault would come back at once: give up instead. */
	if (sig == SIGSEGV && si->si_code > 0)
		_exit(2);
	if (si->si_signo == sig)
		seen_info_signo = sig;
}

static struct sigaction saved[NSIG_MAX + 1];

static int skip_sig(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP || sig == SIGTERM ||
	       (sig > SIGSYS && sig < SIGRTMIN);
}

static void make_action(int sig, struct sigaction *sa)
{
	memset(sa, 0, sizeof(*sa));
	sigemptyset(&sa->sa_mask);
	sigaddset(&sa->sa_mask, (sig % 31) + 1);
	sigaddset(&sa->sa_mask, SIGRTMIN + sig % 8);
	switch (sig % 5) {
	case 0:
		sa->sa_handler = handler_a;
		sa->sa_flags = SA_RESTART;
		break;
	case 1:
		sa->sa_sigaction = handler_info;
		sa->sa_flags = SA_SIGINFO | SA_NODEFER;
		break;
	case 2:
		sa->sa_handler = SIG_IGN;
		break;
	case 3:
		sa->sa_handler = handler_b;
		sa->sa_flags = SA_RESETHAND | SA_ONSTACK;
		break;
	default:
		sa->sa_handler = SIG_DFL;
		sa->sa_flags = SA_RESTART;
		break;
	}
}

static int same_action(const struct sigaction *a, const struct sigaction *b)
{
	return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
	       !memcmp(&a->sa_mask, &b->sa_mask, 8);
}

static int check_all(void)
{
	struct sigaction now;
	int sig;

	for (sig = 1; sig <= NSIG_MAX; sig++) {
		if (skip_sig(sig))
			continue;
		if (sigaction(sig, NULL, &now)) {
			pr_perror("sigaction(%d)", sig);
			return 1;
		}
		if (!same_action(&saved[sig], &now)) {
			fail("signal %d: handler %p flags %#x -> %p %#x", sig,
			     saved[sig].sa_handler, saved[sig].sa_flags, now.sa_handler,
			     now.sa_flags);
			return 1;
		}
	}
	return 0;
}

/* SIGUSR1: handler_a; SIGHUP: siginfo; SIGUSR2: ignored; SIGQUIT: reset. */
static int check_delivery(void)
{
	struct sigaction now;

	raise(SIGUSR1);
	raise(SIGHUP);
	raise(SIGUSR2);
	raise(SIGQUIT);
	if (seen_a != 1 || seen_info_signo != SIGHUP || seen_b != 1) {
		fail("handlers ran wrongly: a %d, info %d, b %d", seen_a, seen_info_signo, seen_b);
		return 1;
	}
	if (sigaction(SIGQUIT, NULL, &now) || now.sa_handler != SIG_DFL) {
		fail("SA_RESETHAND did not reset SIGQUIT");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int sig;

	test_init(argc, argv);
	for (sig = 1; sig <= NSIG_MAX; sig++) {
		if (skip_sig(sig))
			continue;
		make_action(sig, &sa);
		if (sigaction(sig, &sa, NULL) || sigaction(sig, NULL, &saved[sig])) {
			pr_perror("sigaction(%d)", sig);
			return 1;
		}
	}
	if (saved[SIGUSR1].sa_handler != handler_a || saved[SIGHUP].sa_sigaction != handler_info ||
	    saved[SIGUSR2].sa_handler != SIG_IGN || saved[SIGQUIT].sa_handler != handler_b) {
		fail("the test's signal plan is inconsistent");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_all() || check_delivery())
		return 1;
	pass();
	return 0;
}
