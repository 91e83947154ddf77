// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp filters shared by threads.  The main thread installs filter A
 * (getppid fails with EPERM) with SECCOMP_FILTER_FLAG_TSYNC, so its three
 * threads share that very filter; the last thread, X, then adds filter B
 * (sched_yield fails with ENOTTY) for itself only.  Before and after the
 * checkpoint: each thread's calls fail as its chain says, its
 * Seccomp_filters is 1 (2 for X), and a TSYNC from the main thread fails
 * naming X, the only thread whose chain is not an ancestor of the main
 * thread's.  After the restore X's own TSYNC of filter C (getpgrp fails
 * with EDOM) must succeed, which needs A to be one filter shared by all
 * threads and B to sit on it: every thread then has A, B and C.
 */
#include <pthread.h>

#include "seccomp_util.h"

#define NR_THREADS 3 /* the last one is X */

enum { OP_CHECK, OP_INSTALL_B, OP_TSYNC_C, OP_QUIT };

struct cmd {
	int op;
	int err[3]; /* OP_CHECK: errnos of getppid, sched_yield, getpgrp */
};

struct thr {
	pthread_t th;
	int cmd[2], reply[2];
	pid_t tid;
};

static struct thr thr[NR_THREADS];
static const int calls[3] = {SYS_getppid, SYS_sched_yield, SYS_getpgrp};
static const struct sc_rule rule_a[] = {{SYS_getppid, EPERM}};
static const struct sc_rule rule_b[] = {{SYS_sched_yield, ENOTTY}};
static const struct sc_rule rule_c[] = {{SYS_getpgrp, EDOM}};
static const struct sc_rule rule_d[] = {{SYS_getpgrp, EXDEV}};

/* 0 if each call fails with its errno (0: succeeds), else a bit per call */
static int check_calls(const int *err)
{
	int i, bad = 0;

	for (i = 0; i < 3; i++)
		if (!sc_fails_with(calls[i], err[i]))
			bad |= 1 << i;
	return bad;
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;
	struct cmd c;
	long r;

	t->tid = syscall(SYS_gettid);
	while (!read_all(t->cmd[0], &c, sizeof(c)) && c.op != OP_QUIT) {
		if (c.op == OP_CHECK)
			r = check_calls(c.err);
		else if (c.op == OP_INSTALL_B)
			r = sc_install(rule_b, 1, 0);
		else
			r = sc_install(rule_c, 1, SECCOMP_FILTER_FLAG_TSYNC);
		if (write_all(t->reply[1], &r, sizeof(r)))
			break;
	}
	return NULL;
}

static long ask(struct thr *t, int op, const int *err)
{
	struct cmd c = {.op = op};
	long r;

	if (err)
		memcpy(c.err, err, sizeof(c.err));
	if (write_all(t->cmd[1], &c, sizeof(c)) || read_all(t->reply[0], &r, sizeof(r)))
		return -1000;
	return r;
}

/* x_yield, all_pgrp: the errnos of sched_yield in X (others: all_yield) and getpgrp */
static int check_all(const char *when, int all_yield, int x_yield, int all_pgrp, int nr_all,
		     int nr_x)
{
	int err[3] = {EPERM, all_yield, all_pgrp}, i, n, want;
	pid_t self = getpid();
	long r;

	if ((r = check_calls(err))) {
		fail("%s: main thread: calls %#lx do not fail as they should", when, r);
		return 1;
	}
	if (sc_status(self, self, "Seccomp_filters") != nr_all) {
		fail("%s: main thread has %d filters, not %d", when,
		     sc_status(self, self, "Seccomp_filters"), nr_all);
		return 1;
	}
	for (i = 0; i < NR_THREADS; i++) {
		err[1] = i == NR_THREADS - 1 ? x_yield : all_yield;
		r = ask(&thr[i], OP_CHECK, err);
		if (r) {
			fail("%s: thread %d: calls %#lx do not fail as they should", when, i, r);
			return 1;
		}
		want = i == NR_THREADS - 1 ? nr_x : nr_all;
		n = sc_status(self, thr[i].tid, "Seccomp_filters");
		if (n != want || sc_status(self, thr[i].tid, "Seccomp") != 2) {
			fail("%s: thread %d has %d filters, not %d", when, i, n, want);
			return 1;
		}
	}
	return 0;
}

/* A TSYNC from the main thread fails and names X, installing nothing. */
static int check_tsync_fails(const char *when)
{
	long r = sc_install(rule_d, 1, SECCOMP_FILTER_FLAG_TSYNC);

	if (r != thr[NR_THREADS - 1].tid) {
		fail("%s: TSYNC from the main thread gave %ld, not X's tid %d", when, r,
		     thr[NR_THREADS - 1].tid);
		return 1;
	}
	return 0;
}

static int start_threads(void)
{
	sigset_t all, old;
	int i;

	/* SIGTERM is for the main thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < NR_THREADS; i++) {
		if (pipe(thr[i].cmd) || pipe(thr[i].reply) ||
		    pthread_create(&thr[i].th, NULL, thread_main, &thr[i])) {
			pr_perror("starting thread %d", i);
			return 1;
		}
		/* one by one: X must come last in the thread list */
		if (ask(&thr[i], OP_CHECK, (int[3]){0, 0, 0})) {
			fail("thread %d does not answer", i);
			return 1;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	test_init(argc, argv);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || start_threads()) {
		pr_perror("setup");
		return 1;
	}
	test_daemon(); /* it asks getppid() until the launcher is gone */

	if (sc_install(rule_a, 1, SECCOMP_FILTER_FLAG_TSYNC) ||
	    ask(&thr[NR_THREADS - 1], OP_INSTALL_B, NULL)) {
		pr_perror("installing the filters");
		return 1;
	}
	if (check_all("before", 0, ENOTTY, 0, 1, 2) || check_tsync_fails("before"))
		return 1;

	test_waitsig();

	if (check_all("after", 0, ENOTTY, 0, 1, 2) || check_tsync_fails("after"))
		return 1;
	if (ask(&thr[NR_THREADS - 1], OP_TSYNC_C, NULL)) {
		fail("after: X's TSYNC failed: the threads do not share filter A any more");
		return 1;
	}
	if (check_all("after X's TSYNC", ENOTTY, ENOTTY, EDOM, 3, 3))
		return 1;
	for (i = 0; i < NR_THREADS; i++) {
		struct cmd quit = {.op = OP_QUIT};

		if (write_all(thr[i].cmd[1], &quit, sizeof(quit)) ||
		    pthread_join(thr[i].th, NULL)) {
			fail("thread %d did not end", i);
			return 1;
		}
	}
	pass();
	return 0;
}
