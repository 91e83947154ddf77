// SPDX-License-Identifier: GPL-2.0
/* Interrupting a dump cleanly; see dump-intr.h. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump-intr.h"
#include "log.h"
#include "util.h"

static const int intr_signals[] = { SIGTERM, SIGINT, SIGHUP };
static struct sigaction old_acts[ARRAY_SIZE(intr_signals)];
static volatile sig_atomic_t intr_sig;
static long steps, fault_step, fault_sig = SIGKILL;
static bool reported;

static void note_signal(int sig)
{
	if (!intr_sig)
		intr_sig = sig;
}

void dump_intr_begin(void)
{
	struct sigaction sa;
	const char *e;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_signal;
	/* restarted calls: nothing fails with EINTR, the next step stops us */
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(intr_signals); i++)
		sigaction(intr_signals[i], &sa, &old_acts[i]);
	intr_sig = 0;
	reported = false;
	steps = 0;
	pr_debug("SIGTERM, SIGINT and SIGHUP now roll the dump back\n");
	e = getenv("CRIU_FAULT_STEP");
	fault_step = e ? atol(e) : 0;
	e = getenv("CRIU_FAULT_SIGNAL");
	if (e)
		fault_sig = atoi(e);
}

void dump_intr_end(void)
{
	size_t i;

	if (fault_step)
		pr_info("the dump took %ld steps\n", steps);
	for (i = 0; i < ARRAY_SIZE(intr_signals); i++)
		sigaction(intr_signals[i], &old_acts[i], NULL);
}

int dump_interrupted(void)
{
	return intr_sig;
}

int dump_step(const char *what)
{
	steps++;
	if (fault_step) {
		pr_debug("step %ld: %s\n", steps, what);
		if (steps == fault_step)
			kill(getpid(), fault_sig);
	}
	if (!intr_sig)
		return 0;
	if (!reported) {
		const char *name = sigabbrev_np(intr_sig);

		reported = true;
		pr_err("dump interrupted by SIG%s; every task is put back as it was\n",
		       name ? name : "?");
	}
	return -1;
}
