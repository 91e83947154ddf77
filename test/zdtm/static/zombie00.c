// SPDX-License-Identifier: GPL-2.0-only
/*
 * Zombies: one child exited with a code, one was killed by a signal,
 * neither reaped.  Afterwards both are still zombies with the same pids
 * and the parent reaps the same exit statuses.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define EXIT_CODE 42
#define KILL_SIG SIGUSR2

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

/* Waits for the child's end without reaping it. */
static int wait_zombie(pid_t pid, siginfo_t *si)
{
	memset(si, 0, sizeof(*si));
	while (waitid(P_PID, pid, si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int check_child(pid_t pid, int code, int status_want)
{
	siginfo_t si;
	int status;
	int state = proc_state(pid);

	if (state != 'Z') {
		if (state < 0)
			fail("child %d is gone", pid);
		else
			fail("child %d is not a zombie (state %c)", pid, state);
		return 1;
	}
	if (wait_zombie(pid, &si) || si.si_pid != pid || si.si_code != code) {
		fail("child %d: waitid says pid %d code %d", pid, si.si_pid, si.si_code);
		return 1;
	}
	if (waitpid(pid, &status, WNOHANG) != pid || status != status_want) {
		fail("child %d: reaped status %#x, want %#x", pid, status, status_want);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t exited, killed;
	siginfo_t si;

	test_init(argc, argv);
	exited = fork();
	if (exited == 0)
		_exit(EXIT_CODE);
	killed = fork();
	if (killed == 0) {
		signal(KILL_SIG, SIG_DFL);
		raise(KILL_SIG);
		_exit(1);
	}
	if (exited < 0 || killed < 0) {
		pr_perror("fork");
		return 1;
	}
	if (wait_zombie(exited, &si) || wait_zombie(killed, &si)) {
		pr_perror("waitid");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_child(exited, CLD_EXITED, EXIT_CODE << 8) ||
	    check_child(killed, CLD_KILLED, KILL_SIG))
		return 1;
	pass();
	return 0;
}
