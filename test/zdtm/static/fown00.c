// SPDX-License-Identifier: GPL-2.0-only
/*
 * File owners and their signals: a pipe's read end with O_ASYNC, owned
 * by the test itself (F_SETOWN) with F_SETSIG SIGUSR1; a regular file
 * owned by the test's process group (F_SETOWN_EX) with SIGUSR2; a memfd
 * owned by the main thread (F_OWNER_TID) with no signal set; an inotify
 * and a pty master (both have SIGIO) owned by the test with SIGURG and
 * SIGWINCH.  Afterwards
 * F_GETOWN_EX, F_GETSIG and O_ASYNC are the same, and writing to the
 * pipe delivers SIGUSR1 with the read end's fd in si_fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

static volatile sig_atomic_t got, got_fd = -1;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	got++;
	got_fd = si->si_fd;
}

struct owned {
	const char *what;
	int fd;
	int type;
	pid_t pid;
	int sig;
	int async;
};

static int set_owner(struct owned *o)
{
	struct f_owner_ex ex = { .type = o->type, .pid = o->pid };
	int fl = fcntl(o->fd, F_GETFL);

	if (fcntl(o->fd, F_SETOWN_EX, &ex) || fcntl(o->fd, F_SETSIG, o->sig) ||
	    (o->async && fcntl(o->fd, F_SETFL, fl | O_ASYNC))) {
		pr_perror("%s: cannot set the owner", o->what);
		return 1;
	}
	return 0;
}

static int check_owner(const struct owned *o)
{
	struct f_owner_ex ex = { 0 };
	int fl = fcntl(o->fd, F_GETFL), sig = fcntl(o->fd, F_GETSIG);

	if (fcntl(o->fd, F_GETOWN_EX, &ex)) {
		pr_perror("%s: F_GETOWN_EX", o->what);
		return 1;
	}
	if ((int)ex.type != o->type || ex.pid != o->pid || sig != o->sig ||
	    !!(fl & O_ASYNC) != o->async) {
		fail("%s: owner type %d pid %d signal %d async %d, want %d %d %d %d", o->what,
		     ex.type, ex.pid, sig, !!(fl & O_ASYNC), o->type, o->pid, o->sig, o->async);
		return 1;
	}
	return 0;
}

static int poke(int p[2])
{
	char c;
	int before = got;

	if (write(p[1], "x", 1) != 1 || read(p[0], &c, 1) != 1) {
		pr_perror("pipe write/read");
		return 1;
	}
	if (got != before + 1 || got_fd != p[0]) {
		fail("writing to the pipe gave %d SIGUSR1 (si_fd %d), want 1 (si_fd %d)",
		     got - before, (int)got_fd, p[0]);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct owned o[5];
	int p[2], i;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	if (sigaction(SIGUSR1, &sa, NULL) || pipe(p)) {
		pr_perror("setup");
		return 1;
	}
	o[0] = (struct owned){ "pipe", p[0], F_OWNER_PID, getpid(), SIGUSR1, 1 };
	o[1] = (struct owned){ "file", open(test_filename, O_RDWR | O_CREAT, 0600), F_OWNER_PGRP,
			       getpgrp(), SIGUSR2, 0 };
	o[2] = (struct owned){ "memfd", memfd_create("fown", 0), F_OWNER_TID, gettid(), 0, 0 };
	o[3] = (struct owned){ "inotify", inotify_init1(0), F_OWNER_PID, getpid(), SIGURG, 1 };
	o[4] = (struct owned){ "pty master", posix_openpt(O_RDWR | O_NOCTTY), F_OWNER_PID,
			       getpid(), SIGWINCH, 1 };
	/* a pty pair in the tree: the slave is held too */
	if (o[4].fd >= 0 && (unlockpt(o[4].fd) || open(ptsname(o[4].fd), O_RDWR | O_NOCTTY) < 0)) {
		pr_perror("pty slave");
		return 1;
	}
	for (i = 0; i < 5; i++)
		if (o[i].fd < 0 || set_owner(&o[i]))
			return 1;
	if (poke(p))
		return 1;

	test_daemon();
	test_waitsig();

	for (i = 0; i < 5; i++)
		if (check_owner(&o[i]))
			return 1;
	if (poke(p))
		return 1;
	pass();
	return 0;
}
