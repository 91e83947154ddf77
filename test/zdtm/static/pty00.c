// SPDX-License-Identifier: GPL-2.0-only
/*
 * A pty pair opened by the test itself: after restore the slave has the
 * same number, termios, window size and exclusive mode, the master the
 * same packet mode and O_NONBLOCK, and bytes go both ways through the
 * pair again.
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

struct pty_state {
	int index, packet, excl, nonblock;
	struct termios t;
	struct winsize ws;
	char name[64];
};

static int get_state(int master, int slave, struct pty_state *s)
{
	memset(s, 0, sizeof(*s));
	if (ioctl(master, TIOCGPTN, &s->index) || ioctl(master, TIOCGPKT, &s->packet) ||
	    ioctl(slave, TIOCGEXCL, &s->excl) || tcgetattr(slave, &s->t) ||
	    ioctl(slave, TIOCGWINSZ, &s->ws) || ttyname_r(slave, s->name, sizeof(s->name))) {
		pr_perror("cannot read the pty state");
		return -1;
	}
	s->nonblock = !!(fcntl(master, F_GETFL) & O_NONBLOCK);
	return 0;
}

static int same_state(const struct pty_state *a, const struct pty_state *b)
{
	if (a->index != b->index || strcmp(a->name, b->name)) {
		fail("pts %d (%s) is now %d (%s)", a->index, a->name, b->index, b->name);
		return 0;
	}
	if (a->packet != b->packet || a->excl != b->excl || a->nonblock != b->nonblock) {
		fail("packet/excl/nonblock %d/%d/%d now %d/%d/%d", a->packet, a->excl, a->nonblock,
		     b->packet, b->excl, b->nonblock);
		return 0;
	}
	if (a->t.c_iflag != b->t.c_iflag || a->t.c_oflag != b->t.c_oflag ||
	    a->t.c_cflag != b->t.c_cflag || a->t.c_lflag != b->t.c_lflag ||
	    memcmp(a->t.c_cc, b->t.c_cc, 19) || cfgetospeed(&a->t) != cfgetospeed(&b->t)) {
		fail("termios changed: lflag %#x -> %#x, iflag %#x -> %#x", a->t.c_lflag,
		     b->t.c_lflag, a->t.c_iflag, b->t.c_iflag);
		return 0;
	}
	if (memcmp(&a->ws, &b->ws, sizeof(a->ws))) {
		fail("window size %dx%d is now %dx%d", a->ws.ws_col, a->ws.ws_row, b->ws.ws_col,
		     b->ws.ws_row);
		return 0;
	}
	return 1;
}

/* Read want bytes from a non-blocking fd within a second. */
static int read_some(int fd, char *buf, size_t want)
{
	size_t got = 0;
	int i;

	for (i = 0; i < 1000 && got < want; i++) {
		ssize_t n = read(fd, buf + got, want - got);

		if (n > 0)
			got += n;
		else if (n < 0 && errno != EAGAIN)
			return -1;
		else
			usleep(1000);
	}
	return got == want ? 0 : -1;
}

static int check_traffic(int master, int slave)
{
	char buf[64];

	/* master -> slave: a line through the canonical slave */
	if (write_all(master, "ping\n", 5) || read_some(slave, buf, 5) ||
	    memcmp(buf, "ping\n", 5)) {
		fail("master to slave: no ping");
		return 1;
	}
	/* slave -> master: in packet mode each read starts with TIOCPKT_DATA */
	if (write_all(slave, "pong", 4) || read_some(master, buf, 5) || buf[0] != TIOCPKT_DATA ||
	    memcmp(buf + 1, "pong", 4)) {
		fail("slave to master: no pong");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pty_state before, after;
	struct termios t;
	struct winsize ws = {.ws_row = 33, .ws_col = 111, .ws_xpixel = 7, .ws_ypixel = 9};
	int master, slave, on = 1;

	test_init(argc, argv);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		pr_perror("cannot open a pty");
		return 1;
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (slave < 0) {
		pr_perror("cannot open %s", ptsname(master));
		return 1;
	}
	if (tcgetattr(slave, &t)) {
		pr_perror("tcgetattr");
		return 1;
	}
	/* canonical, no echo, odd erase char and speed: nothing a default has */
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK);
	t.c_iflag |= IUTF8;
	t.c_cc[VERASE] = 0x08;
	t.c_cc[VMIN] = 3;
	cfsetspeed(&t, B9600);
	if (tcsetattr(slave, TCSANOW, &t) || ioctl(slave, TIOCSWINSZ, &ws) ||
	    ioctl(master, TIOCPKT, &on) || ioctl(slave, TIOCEXCL)) {
		pr_perror("cannot set the pty up");
		return 1;
	}
	if (get_state(master, slave, &before))
		return 1;
	test_msg("pty %s\n", before.name);

	test_daemon();
	test_waitsig();

	if (get_state(master, slave, &after) || !same_state(&before, &after) ||
	    check_traffic(master, slave))
		return 1;
	pass();
	return 0;
}
