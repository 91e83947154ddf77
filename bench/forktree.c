// SPDX-License-Identifier: GPL-2.0
/*
 * forktree N PIDFILE: N processes in two levels (the root, 20 children,
 * the rest their children), each waiting in pause(); the root writes
 * PIDFILE once all are there.  The tree of bench/freeze_cgroup.sh.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void __attribute__((noreturn)) wait_forever(void)
{
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int n, kids = 20, i, j, per, extra;
	FILE *f;

	if (argc != 3 || (n = atoi(argv[1])) < kids + 1) {
		fprintf(stderr, "usage: forktree N PIDFILE (N > 20)\n");
		return 1;
	}
	per = (n - 1 - kids) / kids;
	extra = (n - 1 - kids) % kids;
	for (i = 0; i < kids; i++) {
		if (fork() == 0) {
			for (j = 0; j < per + (i < extra); j++)
				if (fork() == 0)
					wait_forever();
			wait_forever();
		}
	}
	sleep(1);
	f = fopen(argv[2], "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	wait_forever();
}
