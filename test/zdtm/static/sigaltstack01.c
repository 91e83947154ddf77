// SPDX-License-Identifier: GPL-2.0-only
/*
 * Checkpointed inside a signal handler running on the alternate stack:
 * afterwards the handler still sees itself on that stack, and returning
 * from it (through the signal frame saved on the alternate stack) gives
 * back the main program its stack, its signal mask and an alternate stack
 * that is no longer in use.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define ALT_SIZE (64 * 1024)

static char *alt_base;
static volatile int handler_ok;

static int on_alt(void *p)
{
	return (char *)p >= alt_base && (char *)p < alt_base + ALT_SIZE;
}

static void handler(int sig)
{
	sigset_t now;
	stack_t ss;
	char local;

	(void)sig;
	test_daemon();
	test_waitsig();

	if (!on_alt(&local)) {
		fail("the handler is not on the alternate stack");
		return;
	}
	if (sigaltstack(NULL, &ss) || !(ss.ss_flags & SS_ONSTACK)) {
		fail("sigaltstack does not say SS_ONSTACK in the handler");
		return;
	}
	sigprocmask(SIG_BLOCK, NULL, &now);
	if (sigismember(&now, SIGUSR1) != 1 || sigismember(&now, SIGUSR2) != 1) {
		fail("the handler's signal mask changed");
		return;
	}
	handler_ok = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_ONSTACK};
	sigset_t now;
	stack_t ss;
	char local;

	test_init(argc, argv);
	alt_base = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt_base == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	ss.ss_sp = alt_base;
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL)) {
		pr_perror("can't set up the alternate stack");
		return 1;
	}

	raise(SIGUSR1); /* the test waits in the handler */

	if (!handler_ok)
		return 1;
	if (on_alt(&local)) {
		fail("main runs on the alternate stack after the handler");
		return 1;
	}
	if (sigaltstack(NULL, &ss) || ss.ss_flags != 0 || ss.ss_sp != alt_base ||
	    ss.ss_size != ALT_SIZE) {
		fail("altstack after the handler: %p/%zu/%#x", ss.ss_sp, ss.ss_size, ss.ss_flags);
		return 1;
	}
	sigprocmask(SIG_BLOCK, NULL, &now);
	if (sigismember(&now, SIGUSR1) || sigismember(&now, SIGUSR2)) {
		fail("the handler's mask was not lifted on return");
		return 1;
	}
	pass();
	return 0;
}
