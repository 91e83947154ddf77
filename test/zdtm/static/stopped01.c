// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stopped and running tasks mixed: a child of two threads stopped by
 * SIGSTOP (its second thread waiting in read()), and a running sibling.
 * Afterwards both threads of the first are stopped ('T'), its parent
 * collects one SIGSTOP stop report; the sibling runs and answers; on
 * SIGCONT both threads of the stopped child run on and report.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define EXIT_CODE 7
#define MAGIC 0x5709fee1u
#define THREAD_MAGIC 0x7438eadu

static int wake[2], res[2], go[2];

static int proc_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : -1;
}

/* Waits for the group stop without collecting its report. */
static int wait_stopped(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT) < 0)
		if (errno != EINTR)
			return -1;
	return si.si_code == CLD_STOPPED && si.si_status == SIGSTOP ? 0 : -1;
}

static int check_stop_report(pid_t pid, pid_t tid)
{
	int status = 0, state = proc_state(pid, pid), tstate = proc_state(pid, tid);
	pid_t r;

	if (state != 'T' || tstate != 'T') {
		fail("child %d is not stopped (states %c, thread %d %c)", pid, state, tid, tstate);
		return 1;
	}
	r = waitpid(pid, &status, WUNTRACED | WNOHANG);
	if (r != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		fail("child %d: waitpid(WUNTRACED) gives %d status %#x, want a SIGSTOP stop",
		     pid, r, status);
		return 1;
	}
	r = waitpid(pid, &status, WUNTRACED | WCONTINUED | WNOHANG);
	if (r != 0) {
		fail("child %d: a second report: %d status %#x", pid, r, status);
		return 1;
	}
	return 0;
}

/* The child waits for the go pipe's EOF to exit: its exit would hide the continue. */
static int check_continue(pid_t pid, int rfd, int gofd)
{
	unsigned int v = 0, t = 0;
	int status = 0;

	if (kill(pid, SIGCONT)) {
		pr_perror("kill SIGCONT %d", pid);
		return 1;
	}
	if (waitpid(pid, &status, WCONTINUED) != pid || !WIFCONTINUED(status)) {
		fail("child %d: no continued report (status %#x)", pid, status);
		return 1;
	}
	if (read_all(rfd, &t, sizeof(t)) || read_all(rfd, &v, sizeof(v)) || t != THREAD_MAGIC ||
	    v != MAGIC) {
		fail("child %d: read %#x %#x from the pipe, want %#x %#x", pid, t, v, THREAD_MAGIC,
		     MAGIC);
		return 1;
	}
	close(gofd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != EXIT_CODE) {
		fail("child %d: exit status %#x", pid, status);
		return 1;
	}
	return 0;
}

static void *thread_fn(void *arg)
{
	unsigned int v = THREAD_MAGIC;
	char c;

	*(pid_t *)arg = gettid();
	if (read_all(wake[0], &c, 1) || write_all(res[1], &v, sizeof(v)))
		return arg;
	return NULL;
}

/* Two threads; the group stops while the second one waits in read(). */
static int stopped_child(int tfd)
{
	unsigned int v = MAGIC;
	pid_t tid = 0;
	pthread_t th;
	void *ret;

	if (pthread_create(&th, NULL, thread_fn, &tid))
		return 1;
	while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	if (write_all(tfd, &tid, sizeof(tid)))
		return 1;
	kill(getpid(), SIGSTOP);
	if (write_all(wake[1], "x", 1) || pthread_join(th, &ret) || ret)
		return 1;
	if (write_all(res[1], &v, sizeof(v)) || read(go[0], &v, 1) != 0)
		return 1;
	return EXIT_CODE;
}

/* Runs on: answers each number with the next one. */
static int running_child(int rfd, int wfd)
{
	unsigned int v;

	while (read_all(rfd, &v, sizeof(v)) == 0) {
		v++;
		if (write_all(wfd, &v, sizeof(v)))
			return 1;
	}
	return 0;
}

static int check_sibling(pid_t pid, int wfd, int rfd)
{
	unsigned int v = 41;
	int status = 0, state = proc_state(pid, pid);

	if (state != 'S' && state != 'R') {
		fail("running child %d is in state %c", pid, state);
		return 1;
	}
	if (write_all(wfd, &v, sizeof(v)) || read_all(rfd, &v, sizeof(v)) || v != 42) {
		fail("running child %d answered %u, want 42", pid, v);
		return 1;
	}
	close(wfd);
	if (waitpid(pid, &status, 0) != pid || status != 0) {
		fail("running child %d: exit status %#x", pid, status);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int tp[2], ask[2], ans[2];
	pid_t pid, sib, tid = 0;

	test_init(argc, argv);
	if (pipe(wake) || pipe(res) || pipe(tp) || pipe(ask) || pipe(ans) || pipe(go)) {
		pr_perror("pipe");
		return 1;
	}
	sib = fork();
	if (sib == 0) {
		close(ask[1]);
		close(ans[0]);
		close(go[1]);
		_exit(running_child(ask[0], ans[1]));
	}
	pid = fork();
	if (pid == 0) {
		close(ask[1]);
		close(res[0]);
		close(go[1]);
		_exit(stopped_child(tp[1]));
	}
	if (pid < 0 || sib < 0) {
		pr_perror("fork");
		return 1;
	}
	close(ask[0]);
	close(ans[1]);
	close(res[1]);
	close(go[0]);
	if (read_all(tp[0], &tid, sizeof(tid)) || wait_stopped(pid)) {
		pr_perror("child %d did not stop with SIGSTOP", pid);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_stop_report(pid, tid) || check_sibling(sib, ask[1], ans[0]) ||
	    check_continue(pid, res[0], go[1]))
		return 1;
	pass();
	return 0;
}
