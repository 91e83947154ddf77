// SPDX-License-Identifier: GPL-2.0
/*
 * 64 MiB of patterned private anonymous memory (and a 4 MiB region) for
 * lazy restore (zdtm.py --lazy-pages; a plain restore in other modes).
 * The runner compares memory once the daemon has loaded it all; after
 * SIGTERM the test forks a child that checks every byte, writes some
 * pages, drops others (MADV_DONTNEED), moves the small region (mremap),
 * and checks every byte again from four threads at once.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define PG	4096UL
#define BIG	(64UL << 20)
#define SMALL	(4UL << 20)
#define THREADS	4

static uint64_t *big, *small;

static uint64_t pattern(uint64_t region, size_t word)
{
	return (region << 56) ^ (word * 0x9E3779B97F4A7C15ULL) ^ 0xa5a5;
}

static int written(size_t pg) { return pg % 37 == 0; }
static int dropped(size_t pg) { return pg % 41 == 1; }

static uint64_t expect(uint64_t region, size_t word, int changed)
{
	size_t pg = word / (PG / 8);

	if (changed && region == 1 && written(pg))
		return ~pattern(region, word);
	if (changed && region == 1 && dropped(pg))
		return 0;
	return pattern(region, word);
}

static int check(uint64_t *p, uint64_t region, size_t words, int changed, size_t first,
		 size_t step)
{
	size_t w, pg;

	for (pg = first; pg < words / (PG / 8); pg += step)
		for (w = pg * (PG / 8); w < (pg + 1) * (PG / 8); w++)
			if (p[w] != expect(region, w, changed)) {
				fail("region %d word %zu: %llx, not %llx", (int)region, w,
				     (unsigned long long)p[w],
				     (unsigned long long)expect(region, w, changed));
				return -1;
			}
	return 0;
}

static void *checker(void *arg)
{
	size_t k = (size_t)arg;

	return (void *)(long)check(big, 1, BIG / 8, 1, k, THREADS);
}

static int change_and_check(void)
{
	pthread_t tid[THREADS];
	size_t i, w;
	void *to, *r;
	int ret = 0;

	for (i = 0; i < BIG / PG; i++) {
		if (written(i))
			for (w = i * (PG / 8); w < (i + 1) * (PG / 8); w++)
				big[w] = ~pattern(1, w);
		else if (dropped(i) && madvise((char *)big + i * PG, PG, MADV_DONTNEED)) {
			fail("madvise");
			return -1;
		}
	}
	to = mmap(NULL, SMALL, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small = mremap(small, SMALL, SMALL, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (to == MAP_FAILED || small == MAP_FAILED) {
		fail("mremap");
		return -1;
	}
	for (i = 0; i < THREADS; i++)
		pthread_create(&tid[i], NULL, checker, (void *)i);
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], &r);
		ret |= (int)(long)r;
	}
	return ret || check(small, 2, SMALL / 8, 1, 0, 1) ? -1 : 0;
}

int main(int argc, char **argv)
{
	size_t i;
	pid_t c;
	int st;

	test_init(argc, argv);
	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small = mmap(NULL, SMALL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED || small == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	for (i = 0; i < BIG / 8; i++)
		big[i] = pattern(1, i);
	for (i = 0; i < SMALL / 8; i++)
		small[i] = pattern(2, i);
	test_daemon();
	test_waitsig();
	c = fork();
	if (c == 0)
		_exit(check(big, 1, BIG / 8, 0, 0, 1) || check(small, 2, SMALL / 8, 0, 0, 1));
	if (c < 0 || change_and_check())
		return 1;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fail("the forked child found other memory (%#x)", st);
		return 1;
	}
	pass();
	return 0;
}
