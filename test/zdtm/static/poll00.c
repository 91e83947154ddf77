// SPDX-License-Identifier: GPL-2.0-only
/*
 * Asleep in poll() with no timeout at the checkpoint, and in an absolute
 * clock_nanosleep() in a second thread.  The kernel restarts both through
 * a restart block, which a restored task does not have; neither may come
 * back with EINTR before SIGTERM, and the poll must still see the data
 * written into its pipe after the restore.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

static int pfd[2];
static volatile int abs_woke;

static void *abs_sleeper(void *arg)
{
	struct timespec until;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1000;
	/* SIGTERM is blocked here: only a broken restart wakes us */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
	abs_woke = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	struct pollfd p = { .events = POLLIN };
	pthread_t th;
	sigset_t term;
	int spurious = 0;
	char c;

	test_init(argc, argv);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (pipe(pfd) || pthread_sigmask(SIG_BLOCK, &term, NULL) ||
	    pthread_create(&th, NULL, abs_sleeper, NULL) ||
	    pthread_sigmask(SIG_UNBLOCK, &term, NULL)) {
		pr_perror("set-up");
		return 1;
	}
	p.fd = pfd[0];
	test_daemon();
	while (!test_sigterm_seen) {
		int r = poll(&p, 1, -1);

		if (r < 0 && errno == EINTR && !test_sigterm_seen)
			spurious++;
		else if (r != -1 || errno != EINTR) {
			fail("poll returned %d (%m) before SIGTERM", r);
			return 1;
		}
	}
	if (spurious) {
		fail("poll was interrupted %d times without a signal", spurious);
		return 1;
	}
	if (abs_woke) {
		fail("the absolute clock_nanosleep returned early");
		return 1;
	}
	/* the restored poll still watches the pipe */
	if (write(pfd[1], "x", 1) != 1 || poll(&p, 1, 1000) != 1 || read(pfd[0], &c, 1) != 1) {
		fail("the pipe's poll after restore");
		return 1;
	}
	pass();
	return 0;
}
