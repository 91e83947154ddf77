// SPDX-License-Identifier: GPL-2.0-only
/*
 * The alternate signal stack: its place, size and flags are kept, and an
 * SA_ONSTACK handler still runs on it afterwards.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#define ALT_SIZE (64 * 1024)

static char *alt_base;
static volatile int on_alt, flags_in_handler, handled;

static void handler(int sig)
{
	char local;
	stack_t now;

	(void)sig;
	on_alt = &local >= alt_base && &local < alt_base + ALT_SIZE;
	if (sigaltstack(NULL, &now) == 0)
		flags_in_handler = now.ss_flags;
	handled = 1;
}

static int check_stack(const stack_t *want)
{
	stack_t now;

	if (sigaltstack(NULL, &now)) {
		pr_perror("sigaltstack");
		return 1;
	}
	if (now.ss_sp != want->ss_sp || now.ss_size != want->ss_size ||
	    now.ss_flags != want->ss_flags) {
		fail("altstack %p/%zu/%#x, want %p/%zu/%#x", now.ss_sp, now.ss_size, now.ss_flags,
		     want->ss_sp, want->ss_size, want->ss_flags);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_ONSTACK};
	stack_t ss;

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
	if (sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL)) {
		pr_perror("can't set up the alternate stack");
		return 1;
	}
	if (check_stack(&ss))
		return 1;

	test_daemon();
	test_waitsig();

	if (check_stack(&ss))
		return 1;
	raise(SIGUSR1);
	if (!handled || !on_alt || !(flags_in_handler & SS_ONSTACK)) {
		fail("handler: ran %d, on the alternate stack %d, flags %#x", handled, on_alt,
		     flags_in_handler);
		return 1;
	}
	if (check_stack(&ss))
		return 1;
	pass();
	return 0;
}
