// SPDX-License-Identifier: GPL-2.0
/*
 * The target of test/lazy/run.py: MIB MiB of patterned private memory and
 * an 8 MiB region to move.  Once restored (SIGUSR1 from the runner, while
 * the lazy-pages daemon is still at work) it forks a child that checks
 * every byte, writes some pages, drops others (MADV_DONTNEED), moves the
 * small region (mremap), then checks every byte from four threads at
 * once, and writes "PASS lazy=N" or "FAIL why" into DIR/result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG	4096UL
#define SMALL	(8UL << 20)
#define THREADS	4

static uint64_t *big, *small;
static size_t big_pages;
static volatile sig_atomic_t go;
static char why[256];

static uint64_t pattern(uint64_t region, size_t word)
{
	return (region << 56) ^ (word * 0x9E3779B97F4A7C15ULL) ^ 0x5a5a;
}

/* after restore: every 97th page written, every 89th (offset 1) dropped */
static int written(size_t pg) { return pg % 97 == 0; }
static int dropped(size_t pg) { return pg % 89 == 1 && !written(pg); }

static uint64_t expect(uint64_t region, size_t word, int changed)
{
	size_t pg = word / (PG / 8);

	if (changed && region == 1 && written(pg))
		return ~pattern(region, word);
	if (changed && region == 1 && dropped(pg))
		return 0;
	return pattern(region, word);
}

static int check(uint64_t *p, uint64_t region, size_t pages, int changed, size_t first,
		 size_t step)
{
	size_t pg, w;

	/* backwards: faults land all over, against the daemon's forward push */
	for (pg = pages - 1 - first; pg < pages; pg -= step) {
		for (w = pg * (PG / 8); w < (pg + 1) * (PG / 8); w++)
			if (p[w] != expect(region, w, changed)) {
				snprintf(why, sizeof(why), "region %llu word %zu: %llx, not %llx",
					 (unsigned long long)region, w, (unsigned long long)p[w],
					 (unsigned long long)expect(region, w, changed));
				return -1;
			}
		if (pg < step)
			break;
	}
	return 0;
}

struct th { size_t k; int ret; };

static void *checker(void *arg)
{
	struct th *t = arg;

	t->ret = check(big, 1, big_pages, 1, t->k, THREADS);
	return NULL;
}

static int lazy_seen(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int um = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmFlags:", 8) && strstr(line, " um"))
			um = 1;
	if (f)
		fclose(f);
	return um;
}

static void on_usr1(int s) { (void)s; go = 1; }

static int after_restore(void)
{
	struct th th[THREADS];
	pthread_t tid[THREADS];
	size_t i, w;
	int st, ret = 0;
	pid_t child;
	void *to;

	child = fork();
	if (child == 0)
		_exit(check(big, 1, big_pages, 0, 0, 1) || check(small, 2, SMALL / PG, 0, 0, 1) ?
		      (fprintf(stderr, "child: %s\n", why), 1) : 0);
	for (i = 0; i < big_pages; i++) {
		if (written(i))
			for (w = i * (PG / 8); w < (i + 1) * (PG / 8); w++)
				big[w] = ~pattern(1, w);
		else if (dropped(i) && madvise((char *)big + i * PG, PG, MADV_DONTNEED))
			return snprintf(why, sizeof(why), "madvise: %m"), -1;
	}
	to = mmap(NULL, SMALL, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small = mremap(small, SMALL, SMALL, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (small == MAP_FAILED)
		return snprintf(why, sizeof(why), "mremap: %m"), -1;
	for (i = 0; i < THREADS; i++) {
		th[i].k = i;
		pthread_create(&tid[i], NULL, checker, &th[i]);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		ret |= th[i].ret;
	}
	if (!ret && check(small, 2, SMALL / PG, 1, 0, 1))
		ret = -1;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st)) {
		if (!ret)
			snprintf(why, sizeof(why), "the forked child found other memory (%#x)", st);
		ret = -1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	sigset_t none, usr1;
	char path[4096];
	size_t i, mib;
	int lazy;
	FILE *f;

	if (argc < 3)
		return 2;
	mib = strtoul(argv[2], NULL, 10);
	big_pages = mib * 256;
	big = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small = mmap(NULL, SMALL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED || small == MAP_FAILED)
		return 2;
	for (i = 0; i < (mib << 20) / 8; i++)
		big[i] = pattern(1, i);
	for (i = 0; i < SMALL / 8; i++)
		small[i] = pattern(2, i);
	/* blocked but in sigsuspend: a SIGUSR1 sent at any time is seen */
	sigemptyset(&none);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	signal(SIGUSR1, on_usr1);
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	f = fopen(path, "w");
	if (!f)
		return 2;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	while (!go)
		sigsuspend(&none);
	lazy = lazy_seen();
	snprintf(path, sizeof(path), "%s/result", argv[1]);
	f = fopen(path, "w");
	if (!f)
		return 2;
	if (after_restore())
		fprintf(f, "FAIL %s\n", why);
	else
		fprintf(f, "PASS lazy=%d\n", lazy);
	fclose(f);
	return 0;
}
