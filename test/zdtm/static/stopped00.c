// SPDX-License-Identifier: GPL-2.0-only
/*
 * A child stopped by SIGSTOP, its stop not yet collected by the parent.
 * Afterwards it is still stopped ('T'), the parent collects exactly one
 * stop report with SIGSTOP and nothing more; on SIGCONT the parent sees
 * it continue, and the child runs on and reports through a pipe.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define EXIT_CODE 7
#define MAGIC 0x5709fee1u

static int proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
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

static int check_stop_report(pid_t pid)
{
	int status = 0, state = proc_state(pid);
	pid_t r;

	if (state != 'T') {
		fail("child %d is not stopped (state %c)", pid, state);
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
	unsigned int v = 0;
	int status = 0;

	if (kill(pid, SIGCONT)) {
		pr_perror("kill SIGCONT %d", pid);
		return 1;
	}
	if (waitpid(pid, &status, WCONTINUED) != pid || !WIFCONTINUED(status)) {
		fail("child %d: no continued report (status %#x)", pid, status);
		return 1;
	}
	if (read_all(rfd, &v, sizeof(v)) || v != MAGIC) {
		fail("child %d: read %#x from the pipe, want %#x", pid, v, MAGIC);
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

int main(int argc, char **argv)
{
	unsigned int v = MAGIC;
	int p[2], go[2];
	pid_t pid;
	char c;

	test_init(argc, argv);
	if (pipe(p) || pipe(go)) {
		pr_perror("pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		pr_perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(p[0]);
		close(go[1]);
		kill(getpid(), SIGSTOP);
		if (write_all(p[1], &v, sizeof(v)) || read(go[0], &c, 1) != 0)
			_exit(1);
		_exit(EXIT_CODE);
	}
	close(p[1]);
	close(go[0]);
	if (wait_stopped(pid)) {
		pr_perror("child %d did not stop with SIGSTOP", pid);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_stop_report(pid) || check_continue(pid, p[0], go[1]))
		return 1;
	pass();
	return 0;
}
