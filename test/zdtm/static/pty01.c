// SPDX-License-Identifier: GPL-2.0-only
/*
 * A session with a pty as its controlling terminal: the test holds the
 * master; its child starts a session, takes the slave as controlling
 * terminal, puts its own child (a group of its own) in the foreground
 * and closes every fd of the slave; that child keeps /dev/tty open (as
 * shells do).  After restore /dev/tty opens in both, is the same pts, the
 * kept fd is /dev/tty still, and the session and foreground group are the
 * same, as the master and the slave tell.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"

static int ready[2];
static char pts[64];

/* /dev/tty is our terminal, the pts, with the given session and foreground */
static int check_ctty(pid_t sid, pid_t fg)
{
	unsigned long long tty_nr = 0;
	struct stat b;
	pid_t s = 0, g;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);

	if (fd < 0) {
		pr_perror("pid %d: no controlling terminal", getpid());
		return 1;
	}
	g = tcgetpgrp(fd);
	if (ioctl(fd, TIOCGSID, &s) || g != fg || s != sid) {
		fail("pid %d: terminal session %d group %d, want %d %d", getpid(), s, g, sid, fg);
		return 1;
	}
	/* /dev/tty has an inode of its own: ask stat which terminal it is */
	if (proc_stat_field(7, &tty_nr) || stat(pts, &b) || tty_nr != b.st_rdev) {
		fail("pid %d: its terminal is %#llx, not %s", getpid(), tty_nr, pts);
		return 1;
	}
	close(fd);
	return 0;
}

/* the fd kept open on /dev/tty is still that, and works */
static int check_kept(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (strcmp(link, "/dev/tty") || tcgetpgrp(fd) != getpgrp() ||
	    !(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
		fail("fd %d is %s, foreground %d", fd, link, tcgetpgrp(fd));
		return 1;
	}
	return 0;
}

static void __attribute__((noreturn)) fg_main(pid_t leader)
{
	int fd;

	if (setpgid(0, 0))
		_exit(20);
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (fd < 0 || write_all(ready[1], "g", 1))
		_exit(21);
	test_waitsig();
	_exit(check_ctty(leader, getpid()) || check_kept(fd) ? 22 : 0);
}

static void __attribute__((noreturn)) leader_main(void)
{
	pid_t me, kid;
	int fd;

	if (setsid() < 0)
		_exit(10);
	me = getpid();
	fd = open(pts, O_RDWR); /* no O_NOCTTY: it becomes our terminal */
	if (fd < 0)
		_exit(11);
	kid = fork();
	if (kid < 0)
		_exit(12);
	if (kid == 0) {
		close(fd);
		fg_main(me);
	}
	/* both sides set the group, so it exists before tcsetpgrp */
	setpgid(kid, kid);
	if (tcsetpgrp(fd, kid))
		_exit(13);
	close(fd);
	if (write_all(ready[1], "l", 1))
		_exit(14);
	test_waitsig();
	if (check_ctty(me, kid))
		_exit(15);
	_exit(stop_child(kid, 5000) ? 16 : 0);
}

int main(int argc, char **argv)
{
	pid_t leader, s = 0, g = 0;
	int master, status;
	char buf[2];

	test_init(argc, argv);
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) || pipe(ready)) {
		pr_perror("cannot open a pty");
		return 1;
	}
	snprintf(pts, sizeof(pts), "%s", ptsname(master));
	leader = fork();
	if (leader < 0) {
		pr_perror("fork");
		return 1;
	}
	if (leader == 0) {
		close(master);
		leader_main();
	}
	close(ready[1]);
	if (read_all(ready[0], buf, 2)) {
		fail("the session did not get ready");
		return 1;
	}
	close(ready[0]);
	test_msg("session %d on %s\n", leader, pts);

	test_daemon();
	test_waitsig();

	if (ioctl(master, TIOCGSID, &s) || ioctl(master, TIOCGPGRP, &g) || s != leader ||
	    g == leader || getpgid(g) != g || getsid(g) != leader) {
		fail("the master says session %d foreground %d (leader %d)", s, g, leader);
		stop_child(leader, 5000);
		return 1;
	}
	status = stop_child(leader, 5000);
	if (status) {
		fail("the session leader ended with %#x", status);
		return 1;
	}
	pass();
	return 0;
}
