// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bytes queued in a pty and not read yet, both ways: a complete line, an
 * end of file and a partial line written to the master (echoed by the
 * canonical slave), and a line written to the slave.  After restore the
 * master reads exactly the echo and the slave's line, nothing echoed
 * twice; the slave reads the line, then end of file, and the partial line
 * once it is finished.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"

#define TO_SLAVE "hello\n\004par" /* ^D: an empty line, EOF to a reader */
#define ECHOED "hello\r\npar"
#define FROM_SLAVE "out data\n"
#define AT_MASTER ECHOED "out data\r\n"

/* Wait until fd has want bytes queued. */
static int wait_queued(int fd, int want)
{
	int i, n = 0;

	for (i = 0; i < 2000; i++) {
		if (ioctl(fd, FIONREAD, &n))
			return -1;
		if (n >= want)
			return n == want ? 0 : -1;
		usleep(1000);
	}
	return -1;
}

/* Read exactly what fd has now (non-blocking), up to len bytes. */
static ssize_t read_now(int fd, char *buf, size_t len)
{
	ssize_t got = 0, n;

	usleep(100000); /* anything refilled twice would show by now */
	while ((size_t)got < len && (n = read(fd, buf + got, len - got)) > 0)
		got += n;
	return got;
}

int main(int argc, char **argv)
{
	struct termios t;
	char buf[256];
	int master, slave;
	ssize_t n;

	test_init(argc, argv);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		pr_perror("cannot open a pty");
		return 1;
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (slave < 0 || tcgetattr(slave, &t)) {
		pr_perror("cannot open %s", ptsname(master));
		return 1;
	}
	if (!(t.c_lflag & ICANON) || !(t.c_lflag & ECHO) || !(t.c_oflag & ONLCR)) {
		fail("a new pts is not canonical with echo and ONLCR");
		return 1;
	}
	/* the echo first, then the slave's output: their order is fixed */
	if (write_all(master, TO_SLAVE, strlen(TO_SLAVE)) || wait_queued(master, strlen(ECHOED)) ||
	    write_all(slave, FROM_SLAVE, strlen(FROM_SLAVE)) ||
	    wait_queued(master, strlen(AT_MASTER)) || wait_queued(slave, strlen("hello\n"))) {
		fail("the queues are not as written");
		return 1;
	}

	test_daemon();
	test_waitsig();

	n = read_now(master, buf, sizeof(buf));
	if (n != (ssize_t)strlen(AT_MASTER) || memcmp(buf, AT_MASTER, n)) {
		fail("the master reads %zd bytes '%.*s', want '%s'", n, (int)(n > 0 ? n : 0), buf,
		     AT_MASTER);
		return 1;
	}
	n = read(slave, buf, sizeof(buf));
	if (n != 6 || memcmp(buf, "hello\n", 6)) {
		fail("the slave reads %zd bytes '%.*s', want 'hello\\n'", n, (int)(n > 0 ? n : 0),
		     buf);
		return 1;
	}
	n = read(slave, buf, sizeof(buf));
	if (n != 0) {
		fail("the slave reads %zd bytes where end of file was queued", n);
		return 1;
	}
	if (read(slave, buf, sizeof(buf)) != -1 || errno != EAGAIN) {
		fail("the slave reads more than was queued");
		return 1;
	}
	if (write_all(master, "tial\n", 5) || wait_queued(slave, 8) ||
	    read_now(slave, buf, sizeof(buf)) != 8 || memcmp(buf, "partial\n", 8)) {
		fail("the partial line did not come back");
		return 1;
	}
	pass();
	return 0;
}
