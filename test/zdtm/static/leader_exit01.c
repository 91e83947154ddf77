// SPDX-License-Identifier: GPL-2.0-only
/*
 * A child process whose leader thread has exited (raw SYS_exit with code
 * 3) while two threads run on.  Afterwards the child has the same pid,
 * its leader is still a zombie thread, its threads keep their tids and
 * counters and its /proc/PID/stat shows the leader's exit code 3 (field
 * 52) as before; when the threads end (the last one with SYS_exit 5: the
 * last thread's code is the process's status), the parent reaps 5.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_THREADS 2
#define COUNT_BEFORE 70000
#define LEADER_CODE 3
#define LAST_CODE 5

struct thr {
	pthread_t th;
	int idx;
	pid_t tid;
	volatile unsigned long counter;
	int ready;
};

static struct thr thr[NR_THREADS];
static pid_t child;
static int stop;
static int ready_pipe[2];

static void futex_wait(int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static char thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Field 52 of /proc/PID/stat: the leader's exit code, in wait()'s encoding. */
static long leader_exit_code(pid_t pid)
{
	char path[64], buf[1024], *p;
	ssize_t len;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	for (i = 2; p && i < 52; i++)
		p = strchr(p + 1, ' ');
	return p ? strtol(p + 1, NULL, 10) : -1;
}

static int check_thread(struct thr *t)
{
	unsigned long want = COUNT_BEFORE * (t->idx + 1), i;

	if (syscall(SYS_gettid) != t->tid || getpid() != child) {
		fail("child thread %d: pid/tid %d/%ld, was %d/%d", t->idx, getpid(),
		     syscall(SYS_gettid), child, t->tid);
		return 1;
	}
	if (t->counter != want) {
		fail("child thread %d: counter %lu, was %lu", t->idx, t->counter, want);
		return 1;
	}
	for (i = 0; i < 1000; i++)
		t->counter++;
	if (thread_state(child, child) != 'Z') {
		fail("child %d: the leader is not a zombie thread", child);
		return 1;
	}
	return t->counter != want + 1000;
}

/* The last thread out ends with SYS_exit as well: the leader's code is the status. */
static void *counter_fn(void *arg)
{
	struct thr *t = arg;
	unsigned long i;
	int bad;

	t->tid = syscall(SYS_gettid);
	if (t->idx) {
		sigset_t term;

		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		pthread_sigmask(SIG_BLOCK, &term, NULL);
	}
	for (i = 0; i < COUNT_BEFORE * (unsigned long)(t->idx + 1); i++)
		t->counter++;
	__atomic_store_n(&t->ready, 1, __ATOMIC_RELEASE);
	futex_wake(&t->ready);
	if (t->idx) {
		while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			futex_wait(&stop, 0);
		return (void *)(long)check_thread(t);
	}
	while (thread_state(child, child) != 'Z')
		usleep(1000);
	if (write_all(ready_pipe[1], "r", 1))
		syscall(SYS_exit_group, 20);
	while (!test_sigterm_seen)
		pause();
	bad = check_thread(t);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	futex_wake(&stop);
	{
		void *res;

		if (pthread_join(thr[1].th, &res) || res)
			bad = 1;
	}
	if (bad)
		syscall(SYS_exit_group, 21);
	syscall(SYS_exit, LAST_CODE);
	return NULL;
}

static void __attribute__((noreturn)) child_main(void)
{
	int i;

	child = getpid();
	close(ready_pipe[0]);
	for (i = 0; i < NR_THREADS; i++) {
		thr[i].idx = i;
		if (pthread_create(&thr[i].th, NULL, counter_fn, &thr[i]))
			_exit(22);
	}
	for (i = 0; i < NR_THREADS; i++)
		while (!__atomic_load_n(&thr[i].ready, __ATOMIC_ACQUIRE))
			futex_wait(&thr[i].ready, 0);
	syscall(SYS_exit, LEADER_CODE);
	_exit(23);
}

int main(int argc, char **argv)
{
	char c, st;
	int status;
	long code;

	test_init(argc, argv);
	if (pipe(ready_pipe)) {
		pr_perror("pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0)
		child_main();
	close(ready_pipe[1]);
	if (read_all(ready_pipe[0], &c, 1)) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready_pipe[0]);
	code = leader_exit_code(child);
	if (code != LEADER_CODE << 8) {
		fail("child %d: leader exit code %#lx before the dump", child, code);
		return 1;
	}

	test_daemon();
	test_waitsig();

	st = thread_state(child, child);
	if (st != 'Z')
		fail("child %d: leader in state %c, want a zombie thread", child, st);
	code = leader_exit_code(child);
	if (code != LEADER_CODE << 8)
		fail("child %d: leader exit code %#lx, want %#x", child, code, LEADER_CODE << 8);
	status = stop_child(child, 5000);
	if (status != LAST_CODE << 8) {
		fail("child %d ended with status %#x, want %#x", child, status, LAST_CODE << 8);
		return 1;
	}
	if (st != 'Z' || code != LEADER_CODE << 8)
		return 1;
	pass();
	return 0;
}
