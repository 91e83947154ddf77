// SPDX-License-Identifier: GPL-2.0
/*
 * The demo's sample process: counts, and every 200 ms appends the count
 * and a running checksum of all counts to its stdout.  A restored copy
 * must go on from the very next number with a consistent checksum.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	unsigned long long count = 0, sum = 0;
	struct timespec tick = { 0, 200 * 1000 * 1000 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		count++;
		sum = sum * 31 + count;
		printf("pid %d count %llu checksum %016llx\n", getpid(), count, sum);
		nanosleep(&tick, NULL);
	}
	return 0;
}
