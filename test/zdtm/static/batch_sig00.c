// SPDX-License-Identifier: GPL-2.0-only
/*
 * criu reads a task's signal dispositions and the like in batches that end
 * with the thread sending itself a signal it ignores.  Here the usual
 * choices (SIGURG, SIGWINCH, SIGCHLD) all have handlers: in the parent,
 * SIGPIPE and SIGALRM are ignored and blocked and SIGPIPE is pending, so
 * only SIGALRM can end a batch; the child ignores nothing, so its calls
 * go one by one.  Afterwards each process has the same handlers (they
 * run), SIGALRM is still ignored, and exactly the same signals are
 * pending: no batch signal is left behind.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile int seen[NSIG];

static void handler(int sig)
{
	seen[sig]++;
}

static unsigned long long bit(int sig)
{
	return 1ULL << (sig - 1);
}

static int status_word(const char *key, unsigned long long *val)
{
	char buf[4096], *p;
	ssize_t len = read_file("/proc/self/status", buf, sizeof(buf) - 1);

	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, key);
	if (!p || sscanf(p + strlen(key), "%llx", val) != 1)
		return -1;
	return 0;
}

/* Handlers for the three, and the ignored, blocked set given. */
static int setup(unsigned long long ignored)
{
	const int sigs[] = { SIGURG, SIGWINCH, SIGCHLD };
	struct sigaction sa;
	sigset_t set;
	unsigned int i;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&set);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -1;
	for (sig = 1; sig < 32; sig++)
		if (ignored & bit(sig)) {
			if (signal(sig, SIG_IGN) == SIG_ERR)
				return -1;
			sigaddset(&set, sig);
		}
	return sigprocmask(SIG_SETMASK, &set, NULL);
}

/* The state as set up: pending, ignored and caught signals, and the handlers run. */
static int check(const char *who, unsigned long long ignored, unsigned long long pending)
{
	unsigned long long pnd, shd, ign, cgt;
	const unsigned long long caught = bit(SIGURG) | bit(SIGWINCH) | bit(SIGCHLD);

	if (status_word("\nSigPnd:", &pnd) || status_word("\nShdPnd:", &shd) ||
	    status_word("\nSigIgn:", &ign) || status_word("\nSigCgt:", &cgt)) {
		pr_perror("%s: can't read /proc/self/status", who);
		return 1;
	}
	if (pnd || shd != pending) {
		fail("%s: pending private %llx shared %llx, want 0 and %llx", who, pnd, shd,
		     pending);
		return 1;
	}
	if (ign != ignored || (cgt & caught) != caught) {
		fail("%s: ignored %llx caught %llx, want %llx and %llx", who, ign, cgt, ignored,
		     caught);
		return 1;
	}
	if (raise(SIGURG) || raise(SIGWINCH) || seen[SIGURG] != 1 || seen[SIGWINCH] != 1) {
		fail("%s: handlers ran %d and %d times", who, seen[SIGURG], seen[SIGWINCH]);
		return 1;
	}
	return 0;
}

static void child_main(int ready)
{
	if (setup(0) || write_all(ready, "r", 1))
		_exit(2);
	close(ready);
	test_waitsig();
	_exit(check("child", 0, 0));
}

int main(int argc, char **argv)
{
	const unsigned long long ignored = bit(SIGPIPE) | bit(SIGALRM);
	int status, ready[2];
	char c;
	pid_t child;

	test_init(argc, argv);
	if (pipe(ready)) {
		pr_perror("pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		pr_perror("fork");
		return 1;
	}
	if (child == 0) {
		close(ready[0]);
		child_main(ready[1]);
	}
	close(ready[1]);
	if (read_all(ready[0], &c, 1)) {
		fail("the child did not get ready");
		return 1;
	}
	/* blocked, an ignored signal stays pending */
	if (setup(ignored) || kill(getpid(), SIGPIPE)) {
		pr_perror("setup");
		return 1;
	}
	if (check("parent", ignored, bit(SIGPIPE)))
		return 1;
	seen[SIGURG] = seen[SIGWINCH] = 0;

	test_daemon();
	test_waitsig();

	if (check("parent", ignored, bit(SIGPIPE)))
		return 1;
	status = stop_child(child, 10000);
	if (status) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	pass();
	return 0;
}
