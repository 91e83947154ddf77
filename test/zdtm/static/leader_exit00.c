// SPDX-License-Identifier: GPL-2.0-only
/*
 * A dead thread-group leader: the main thread calls pthread_exit while two
 * threads count on.  The leader is a zombie thread (State Z), the process
 * lives.  Afterwards the leader is still a zombie with the same pid, each
 * thread has its tid, name and counter and counts on, and the process has
 * the same threads.  The checks run in a live thread: the one that takes
 * SIGTERM (the other blocks it).
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_THREADS 2
#define COUNT_BEFORE 100000
#define COUNT_AFTER 50000

struct thr {
	pthread_t th;
	int idx;
	pid_t tid;
	char name[16];
	volatile unsigned long counter;
	int ready;
};

static struct thr thr[NR_THREADS];
static pid_t leader;
static int stop;
static char leader_comm[32];
static int threads_before;	/* /proc/PID/status Threads: the zombie leader counts */

static void futex_wait(int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* The state letter of a thread of this process, or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", leader, tid);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static int count_threads(void)
{
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/status", leader);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, "\nThreads:");
	return p ? atoi(p + 9) : -1;
}

static int check_thread(struct thr *t)
{
	char path[64], comm[32];
	unsigned long want = COUNT_BEFORE + t->idx, i;
	ssize_t len;

	if (syscall(SYS_gettid) != t->tid || getpid() != leader) {
		fail("thread %d: pid/tid %d/%ld, was %d/%d", t->idx, getpid(),
		     syscall(SYS_gettid), leader, t->tid);
		return 1;
	}
	if (t->counter != want) {
		fail("thread %d: counter %lu, was %lu", t->idx, t->counter, want);
		return 1;
	}
	for (i = 0; i < COUNT_AFTER; i++)
		t->counter++;
	if (t->counter != want + COUNT_AFTER) {
		fail("thread %d: counted to %lu, not %lu", t->idx, t->counter, want + COUNT_AFTER);
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", t->tid);
	len = read_file(path, comm, sizeof(comm) - 1);
	if (len <= 0 || (comm[len - 1] = '\0', strcmp(comm, t->name))) {
		fail("thread %d: name is not %s", t->idx, t->name);
		return 1;
	}
	return 0;
}

static void *counter_fn(void *arg)
{
	struct thr *t = arg;
	unsigned long i;

	t->tid = syscall(SYS_gettid);
	snprintf(t->name, sizeof(t->name), "counter-%d", t->idx);
	prctl(PR_SET_NAME, t->name);
	if (t->idx) {
		sigset_t term;

		/* SIGTERM is for thread 0 */
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &term, NULL);
	}
	for (i = 0; i < COUNT_BEFORE + (unsigned long)t->idx; i++)
		t->counter++;
	__atomic_store_n(&t->ready, 1, __ATOMIC_RELEASE);
	futex_wake(&t->ready);
	if (t->idx) {
		while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			futex_wait(&stop, 0);
		return (void *)(long)check_thread(t);
	}

	/* thread 0: wait for the leader to be gone, then take the test over */
	while (thread_state(leader) != 'Z')
		usleep(1000);
	threads_before = count_threads();
	if (threads_before != NR_THREADS + 1) {
		fail("/proc/%d/status says %d threads with the leader gone", leader,
		     threads_before);
		exit(1);
	}
	test_daemon();
	while (!test_sigterm_seen)
		pause();

	{
		int ret = 0, nr = count_threads();
		void *res;
		char comm[32];
		ssize_t len;

		if (thread_state(leader) != 'Z') {
			fail("the leader %d is in state %c, not a zombie", leader,
			     thread_state(leader));
			ret = 1;
		}
		snprintf(comm, sizeof(comm), "/proc/%d/comm", leader);
		len = read_file(comm, comm, sizeof(comm) - 1);
		if (len <= 0 || (comm[len - 1] = '\0', strcmp(comm, leader_comm))) {
			fail("the process is not called %s any more", leader_comm);
			ret = 1;
		}
		if (nr != threads_before) {
			fail("/proc/%d/status says %d threads, want %d", leader, nr,
			     threads_before);
			ret = 1;
		}
		ret |= check_thread(t);
		__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
		futex_wake(&stop);
		if (pthread_join(thr[1].th, &res)) {
			fail("pthread_join failed");
			ret = 1;
		} else {
			ret |= res != NULL;
		}
		if (!ret)
			pass();
		exit(ret);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	ssize_t len;
	int i;

	test_init(argc, argv);
	leader = getpid();
	len = read_file("/proc/self/comm", leader_comm, sizeof(leader_comm) - 1);
	if (len <= 0) {
		fail("cannot read my name");
		return 1;
	}
	leader_comm[len - 1] = '\0';
	for (i = 0; i < NR_THREADS; i++) {
		thr[i].idx = i;
		if (pthread_create(&thr[i].th, NULL, counter_fn, &thr[i])) {
			fail("pthread_create failed");
			return 1;
		}
	}
	for (i = 0; i < NR_THREADS; i++)
		while (!__atomic_load_n(&thr[i].ready, __ATOMIC_ACQUIRE))
			futex_wait(&thr[i].ready, 0);
	/* the process lives on in its threads */
	pthread_exit(NULL);
}
