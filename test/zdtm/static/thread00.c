// SPDX-License-Identifier: GPL-2.0-only
/*
 * Threads: each with its own TLS data, name, signal mask and result of a
 * little loop, all waiting on a futex at the checkpoint.  Afterwards each
 * thread is alive with the same tid and state, and all join cleanly.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_THREADS 4
#define TLS_MAGIC 0x5a17c0de00000000ULL

static __thread uint64_t tls_value;
static __thread char tls_buf[256];

struct thr {
	pthread_t th;
	int idx;
	pid_t tid;
	uint64_t sum;
	sigset_t mask;
	char name[16];
};

static struct thr thr[NR_THREADS];
static pthread_barrier_t barrier;
static int stop;

static void futex_wait(int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, NR_THREADS, NULL, NULL, 0);
}

static uint64_t busy_sum(int idx)
{
	uint64_t x = idx + 1;
	int i;

	for (i = 0; i < 100000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static int thread_check(struct thr *t)
{
	char path[64], comm[32];
	sigset_t now;
	ssize_t len;

	if (tls_value != (TLS_MAGIC | t->idx) ||
	    datachk(tls_buf, sizeof(tls_buf), t->idx) != (size_t)-1) {
		fail("thread %d: TLS changed", t->idx);
		return 1;
	}
	if (syscall(SYS_gettid) != t->tid) {
		fail("thread %d: tid %ld, was %d", t->idx, syscall(SYS_gettid), t->tid);
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", t->tid);
	len = read_file(path, comm, sizeof(comm) - 1);
	if (len <= 0 || (comm[len - 1] = '\0', strcmp(comm, t->name))) {
		fail("thread %d: name is not %s", t->idx, t->name);
		return 1;
	}
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	if (memcmp(&now, &t->mask, 8)) {
		fail("thread %d: signal mask changed", t->idx);
		return 1;
	}
	if (busy_sum(t->idx) != t->sum) {
		fail("thread %d: computes another result", t->idx);
		return 1;
	}
	return 0;
}

static void *thread_fn(void *arg)
{
	struct thr *t = arg;

	t->tid = syscall(SYS_gettid);
	tls_value = TLS_MAGIC | t->idx;
	datagen(tls_buf, sizeof(tls_buf), t->idx);
	snprintf(t->name, sizeof(t->name), "zdtm-thr-%d", t->idx);
	prctl(PR_SET_NAME, t->name);
	sigemptyset(&t->mask);
	sigaddset(&t->mask, SIGTERM); /* SIGTERM is the main thread's */
	sigaddset(&t->mask, t->idx % 2 ? SIGUSR2 : SIGUSR1);
	sigaddset(&t->mask, SIGRTMIN + t->idx);
	pthread_sigmask(SIG_SETMASK, &t->mask, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &t->mask);
	t->sum = busy_sum(t->idx);

	pthread_barrier_wait(&barrier);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		futex_wait(&stop, 0);
	return (void *)(long)thread_check(t);
}

int main(int argc, char **argv)
{
	void *res;
	int i, ret = 0;

	test_init(argc, argv);
	tls_value = TLS_MAGIC | 99;
	pthread_barrier_init(&barrier, NULL, NR_THREADS + 1);
	for (i = 0; i < NR_THREADS; i++) {
		thr[i].idx = i;
		if (pthread_create(&thr[i].th, NULL, thread_fn, &thr[i])) {
			fail("pthread_create failed");
			return 1;
		}
	}
	pthread_barrier_wait(&barrier);

	test_daemon();
	test_waitsig();

	if (tls_value != (TLS_MAGIC | 99)) {
		fail("the main thread's TLS changed");
		ret = 1;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	futex_wake_all(&stop);
	for (i = 0; i < NR_THREADS; i++) {
		if (pthread_join(thr[i].th, &res)) {
			fail("pthread_join %d failed", i);
			return 1;
		}
		ret |= res != NULL;
	}
	if (ret)
		return 1;
	pass();
	return 0;
}
