// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pty pair of a container's own devpts instance: the test builds a
 * pivot_root'ed namespace with /dev a tmpfs, /dev/pts a new devpts and
 * /dev/ptmx a link to pts/ptmx, opens a pair there and queues data for the
 * slave.  After the restore the slave must still be /dev/pts/0 of that
 * instance (the same device as /dev/pts), and read the queued data.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "mnt_top.h"

static char root[PATH_MAX];

static int in(const char *what, char *p, size_t len)
{
	return snprintf(p, len, "%s%s", root, what) >= (int)len ? -1 : 0;
}

static int build(void)
{
	const char *const dirs[] = { "/usr", mnt_top(), "/proc", "/dev", NULL };
	const char *const *d;
	char p[2 * PATH_MAX];
	int fd;

	if (mount("tmpfs", root, "tmpfs", 0, "mode=755"))
		return -1;
	for (d = dirs; *d; d++)
		if (in(*d, p, sizeof(p)) || mkdir(p, 0755))
			return -1;
	if (in("/usr", p, sizeof(p)) || mount("/usr", p, NULL, MS_BIND, NULL) ||
	    in(mnt_top(), p, sizeof(p)) || mount(mnt_top(), p, NULL, MS_BIND, NULL) ||
	    in("/proc", p, sizeof(p)) || mount("proc", p, "proc", 0, NULL) ||
	    in("/lib64", p, sizeof(p)) || symlink("usr/lib64", p) ||
	    in("/lib", p, sizeof(p)) || symlink("usr/lib", p) ||
	    in("/dev", p, sizeof(p)) || mount("tmpfs", p, "tmpfs", MS_NOSUID, "mode=755"))
		return -1;
	if (in("/dev/null", p, sizeof(p)) || (fd = open(p, O_CREAT | O_WRONLY, 0644)) < 0 ||
	    close(fd) || mount("/dev/null", p, NULL, MS_BIND, NULL) ||
	    in("/dev/pts", p, sizeof(p)) || mkdir(p, 0755) ||
	    mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") ||
	    in("/dev/ptmx", p, sizeof(p)) || symlink("pts/ptmx", p))
		return -1;
	if (chdir(root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
	    chdir("/"))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct stat pts, slave_st;
	char buf[64], *name;
	int master, slave;
	ssize_t n;

	test_init(argc, argv);
	snprintf(root, sizeof(root), "%s.root", test_filename);
	if (mkdir(root, 0755) || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || build()) {
		pr_perror("can't build the container");
		return 1;
	}
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) || unlockpt(master) || !(name = ptsname(master)) ||
	    strcmp(name, "/dev/pts/0")) {
		pr_perror("can't make a pty in the container's devpts");
		return 1;
	}
	slave = open(name, O_RDWR | O_NOCTTY);
	if (slave < 0 || write(master, "queued\n", 7) != 7) {
		pr_perror("can't open %s", name);
		return 1;
	}
	test_daemon();
	test_waitsig();

	name = ptsname(master);
	if (!name || strcmp(name, "/dev/pts/0")) {
		fail("the master's slave is %s, not /dev/pts/0", name ? name : "gone");
		return 1;
	}
	if (stat("/dev/pts", &pts) || fstat(slave, &slave_st) || slave_st.st_dev != pts.st_dev) {
		fail("the slave is not on the container's devpts");
		return 1;
	}
	n = read(slave, buf, sizeof(buf));
	if (n != 7 || memcmp(buf, "queued\n", 7)) {
		fail("the slave reads %zd bytes, not the queued line", n);
		return 1;
	}
	pass();
	return 0;
}
