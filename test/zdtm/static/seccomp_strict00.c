// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp strict mode: a thread and a child process each enter it and then
 * only read numbers from a pipe and write back a running hash of them,
 * which lives on their stacks.  At the checkpoint both wait in read().
 * Afterwards both are still in strict mode (Seccomp: 1; the test itself
 * is not) and the data flow goes on: the hashes continue from the values
 * sent before the checkpoint.  Strict mode allows nothing but read, write,
 * exit and rt_sigreturn, so every syscall criu ran in them was suspended.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>

#include "seccomp_util.h"

struct echo {
	int in[2], out[2]; /* numbers to the worker, hashes back */
	uint64_t sum; /* what the hash must be, kept by the test */
	pid_t tid;
};

static struct echo thr_echo, proc_echo;

static uint64_t step(uint64_t sum, uint32_t v)
{
	return sum * 1000003ULL + v;
}

/* In strict mode: only raw read, write and exit. */
static void __attribute__((noreturn)) echo_loop(struct echo *e)
{
	uint64_t sum = 7;
	uint32_t v;

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0))
		syscall(SYS_exit, 2);
	for (;;) {
		if (syscall(SYS_read, e->in[0], &v, sizeof(v)) != sizeof(v) || !v)
			break;
		sum = step(sum, v);
		if (syscall(SYS_write, e->out[1], &sum, sizeof(sum)) != sizeof(sum))
			break;
	}
	syscall(SYS_exit, 0);
	__builtin_unreachable();
}

static void *thread_main(void *arg)
{
	struct echo *e = arg;

	e->tid = syscall(SYS_gettid);
	echo_loop(e);
}

static int exchange(struct echo *e, const char *who, uint32_t from, int n)
{
	uint64_t got;
	uint32_t v;
	int i;

	for (i = 0; i < n; i++) {
		v = from + i;
		e->sum = step(e->sum, v);
		if (write_all(e->in[1], &v, sizeof(v)) || read_all(e->out[0], &got, sizeof(got))) {
			fail("%s: the echo stopped at value %u", who, v);
			return 1;
		}
		if (got != e->sum) {
			fail("%s: hash %llx after %u, want %llx", who, (unsigned long long)got, v,
			     (unsigned long long)e->sum);
			return 1;
		}
	}
	return 0;
}

static int check_modes(pid_t child, const char *when)
{
	pid_t self = getpid();

	if (sc_status(self, thr_echo.tid, "Seccomp") != 1 ||
	    sc_status(child, child, "Seccomp") != 1 || sc_status(self, self, "Seccomp") != 0) {
		fail("%s: Seccomp of the thread %d, the child %d, the test %d; want 1, 1, 0", when,
		     sc_status(self, thr_echo.tid, "Seccomp"), sc_status(child, child, "Seccomp"),
		     sc_status(self, self, "Seccomp"));
		return 1;
	}
	return 0;
}

static int open_echo(struct echo *e)
{
	e->sum = 7;
	return pipe(e->in) || pipe(e->out);
}

int main(int argc, char **argv)
{
	uint32_t zero = 0;
	sigset_t all, old;
	pthread_t th;
	pid_t child;
	int status;

	test_init(argc, argv);
	if (open_echo(&thr_echo) || open_echo(&proc_echo)) {
		pr_perror("pipe");
		return 1;
	}
	/* the workers take no signals: SIGTERM is for the test's main thread */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0)
		echo_loop(&proc_echo);
	if (pthread_create(&th, NULL, thread_main, &thr_echo)) {
		fail("pthread_create");
		return 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* one round each: both are in strict mode and their tids are known */
	if (exchange(&thr_echo, "thread", 1, 10) || exchange(&proc_echo, "child", 1, 10) ||
	    check_modes(child, "before"))
		return 1;

	test_daemon();
	test_waitsig();

	if (check_modes(child, "after") || exchange(&thr_echo, "thread", 11, 100) ||
	    exchange(&proc_echo, "child", 11, 100))
		return 1;
	/* a zero ends each loop with exit(0), still allowed */
	if (write_all(thr_echo.in[1], &zero, sizeof(zero)) || pthread_join(th, NULL) ||
	    write_all(proc_echo.in[1], &zero, sizeof(zero)) ||
	    waitpid(child, &status, 0) != child) {
		pr_perror("ending the workers");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	pass();
	return 0;
}
