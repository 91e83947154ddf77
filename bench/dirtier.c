// SPDX-License-Identifier: GPL-2.0
/*
 * For bench/predump.py: touches SIZE MiB, writes "ready" into its
 * argument file, then dirties RATE MiB per second at random pages, in
 * slices every 10 ms, until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PG 4096UL

int main(int argc, char **argv)
{
	size_t size, pages, per_tick, i;
	unsigned long rate;
	unsigned int seed = 1;
	FILE *f;
	char *p;

	if (argc < 4)
		return 2;
	size = strtoul(argv[1], NULL, 0) << 20;
	rate = strtoul(argv[2], NULL, 0);
	pages = size / PG;
	per_tick = (rate << 20) / PG / 100;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (i = 0; i < pages; i++)
		memset(p + i * PG, (int)(i & 0xff) | 1, PG);
	f = fopen(argv[3], "w");
	if (!f)
		return 1;
	fputs("ready\n", f);
	fclose(f);
	for (;;) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		for (i = 0; i < per_tick; i++)
			p[(rand_r(&seed) % pages) * PG + (i & 4095)]++;
		nanosleep(&ts, NULL);
	}
}
