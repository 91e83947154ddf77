/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_TTY_H
#define CR_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#define QUEUE_MAX (256 << 10) /* more than a tty holds (64 + 4 KiB) */

/* tty.c: refuse a session leader whose terminal is from outside the tree */
int check_cttys(void);

/* tty-queue.c: the queues of a pty pair */
struct tty_queues {
	char *in; /* what a reader of the slave gets */
	size_t in_len;
	char *out; /* what a reader of the master gets */
	size_t out_len;
};

void free_queues(struct tty_queues *q);
/* Read both queues; orig: the slave's modes; packet: the master's mode. */
int take_queues(int master, int slave, bool packet, const struct termios *orig,
		struct tty_queues *q);
/* Put them into a pair whose slave has the modes orig. */
int refill(int master, int slave, const struct termios *orig, struct tty_queues *q);

#endif
