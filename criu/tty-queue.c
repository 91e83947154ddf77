// SPDX-License-Identifier: GPL-2.0
/*
 * The bytes queued in a pty pair.  A terminal has no way to peek: the
 * dump reads both queues and puts them back at once (so a tree left
 * running, or a failed dump, sees them as before), the restore puts them
 * into the new pair the same way.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "tty.h"
#include "util.h"

void free_queues(struct tty_queues *q)
{
	free(q->in);
	free(q->out);
	memset(q, 0, sizeof(*q));
}

static bool line_end(const struct termios *t, unsigned char c)
{
	return c == '\n' || (t->c_cc[VEOL] && c == t->c_cc[VEOL]) ||
	       (t->c_cc[VEOL2] && c == t->c_cc[VEOL2]) || (t->c_cc[VEOF] && c == t->c_cc[VEOF]);
}

/* What a canonical reader counts: complete lines, without their EOF chars. */
static size_t canon_count(const struct termios *t, const char *b, size_t len)
{
	size_t i, n = 0, end = 0;

	for (i = 0; i < len; i++)
		if (line_end(t, b[i]))
			end = i + 1;
	for (i = 0; i < end; i++)
		if (!(t->c_cc[VEOF] && (unsigned char)b[i] == t->c_cc[VEOF]))
			n++;
	return n;
}

static int append(char **buf, size_t *len, const char *p, size_t n)
{
	char *nb;

	if (*len + n > QUEUE_MAX)
		return -1;
	nb = xrealloc(*buf, *len + n + 1);
	if (!nb)
		return -1;
	memcpy(nb + *len, p, n);
	*buf = nb;
	*len += n;
	return 0;
}

/* Read what fd has queued; skip_header: a packet-mode master. */
static int drain(int fd, bool skip_header, char **buf, size_t *len)
{
	char chunk[4096];

	for (;;) {
		int avail = 0;
		ssize_t n;

		if (ioctl(fd, FIONREAD, &avail) || avail <= 0)
			return 0;
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			return n < 0 && errno != EAGAIN ? -1 : 0;
		if (skip_header) {
			/* a status byte alone is lost; data comes after a 0 */
			if (chunk[0] != TIOCPKT_DATA)
				pr_warn("pty master packet status %#x not kept\n", chunk[0]);
			memmove(chunk, chunk + 1, --n);
		}
		if (append(buf, len, chunk, n))
			return -1;
	}
}

/*
 * The complete lines of a canonical slave, one per read.  A line ended
 * by EOF reads without it (an empty one as 0 bytes): put VEOF back.
 */
static int drain_lines(int fd, const struct termios *t, char **buf, size_t *len)
{
	char chunk[4096 + 1];
	int i;

	for (i = 0; i < 4096; i++) {
		ssize_t n = read(fd, chunk, sizeof(chunk) - 1);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if ((n == 0 || !line_end(t, chunk[n - 1])) && t->c_cc[VEOF])
			chunk[n++] = t->c_cc[VEOF];
		if (append(buf, len, chunk, n))
			return -1;
	}
	return 0;
}

/* Wait until fd shows want bytes to read: the flip buffer is async. */
static int wait_queued(int fd, size_t want)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int i, avail = 0;

	/* the line discipline holds 4 KiB; more waits in the flip buffer */
	if (want > 4095)
		want = 4095;
	/* poll on an empty queue runs the pending receive work at once */
	poll(&pfd, 1, 0);
	for (i = 0; i < 2000; i++) {
		if (!ioctl(fd, FIONREAD, &avail) && (size_t)avail >= want)
			return 0;
		usleep(1000);
	}
	pr_err("a terminal shows %d of %zu queued bytes after 2 s\n", avail, want);
	return -1;
}

/*
 * Put queued bytes back: the slave's input is written to the master, the
 * master's input to the slave, with echo, signals and translations off
 * so that each byte lands once and unchanged.  IXON is left alone: a
 * change of it would post a packet-mode status.
 */
int refill(int master, int slave, const struct termios *orig, struct tty_queues *q)
{
	struct termios t = *orig;
	int ret = -1;

	if (!q->in_len && !q->out_len)
		return 0;
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOPRT | ECHOKE | ISIG | IEXTEN);
	t.c_iflag &= ~(INLCR | IGNCR | ICRNL | IUCLC | ISTRIP | BRKINT | PARMRK | INPCK);
	t.c_oflag &= ~OPOST;
	if (tcsetattr(slave, TCSANOW, &t)) {
		pr_perror("cannot set a terminal raw to refill it");
		return -1;
	}
	if (q->out_len && (write_all(slave, q->out, q->out_len) != (ssize_t)q->out_len ||
			   wait_queued(master, q->out_len)))
		goto out;
	if (q->in_len &&
	    (write_all(master, q->in, q->in_len) != (ssize_t)q->in_len ||
	     wait_queued(slave, (orig->c_lflag & ICANON) ? canon_count(orig, q->in, q->in_len)
							 : q->in_len)))
		goto out;
	ret = 0;
out:
	if (ret)
		pr_perror("cannot put %zu+%zu queued bytes back into a terminal", q->in_len,
			  q->out_len);
	if (tcsetattr(slave, TCSANOW, orig)) {
		pr_perror("cannot set the terminal modes back");
		ret = -1;
	}
	return ret;
}

/*
 * Take both queues of a pair, keeping their order.  A canonical slave
 * gives complete lines first; the partial line is read with ICANON off.
 */
int take_queues(int master, int slave, bool packet, const struct termios *orig,
		struct tty_queues *q)
{
	struct termios t = *orig;

	if (drain(master, packet, &q->out, &q->out_len))
		goto err;
	if (!(orig->c_lflag & ICANON)) {
		if (drain(slave, false, &q->in, &q->in_len))
			goto err;
	} else {
		if (drain_lines(slave, orig, &q->in, &q->in_len))
			goto err;
		t.c_lflag &= ~ICANON;
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(slave, TCSANOW, &t) || drain(slave, false, &q->in, &q->in_len) ||
		    tcsetattr(slave, TCSANOW, orig))
			goto err;
	}
	return 0;
err:
	pr_perror("cannot read the queues of a terminal");
	return -1;
}
