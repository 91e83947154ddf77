// SPDX-License-Identifier: GPL-2.0
/*
 * The target of test/predump: fills memory with patterns derived from
 * the address and a per-page generation, changes some of it on each SIGUSR1,
 * and on SIGUSR2 checks every byte and writes PASS or FAIL to its result
 * file.  Files in its directory tell the test where it is.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG	4096UL
#define B_SIZE	(8UL << 20)
#define C_SIZE	(4UL << 20)

struct region {
	uint8_t *p;
	size_t size;
	uint8_t *gen;		/* per page */
};

static volatile sig_atomic_t step1, step2;
/* busy mode: a thread writes pages all the time, also while criu copies */
static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int busy_stop;
static struct region A, B, C;
static const char *dir;

static void fill_page(uint8_t *pg, uint8_t gen)
{
	uint64_t *w = (uint64_t *)pg, a = (uint64_t)(uintptr_t)pg;
	size_t i;

	for (i = 0; i < PG / 8; i++)
		w[i] = ((a + i * 8) * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)gen << 56 | gen);
}

static long check_region(struct region *r)
{
	long bad = 0;
	size_t pg;

	for (pg = 0; r->p && pg < r->size / PG; pg++) {
		uint64_t *w = (uint64_t *)(r->p + pg * PG), a = (uint64_t)(uintptr_t)w;
		uint8_t g = r->gen[pg];
		size_t i;

		for (i = 0; i < PG / 8; i++)
			if (w[i] != (((a + i * 8) * 0x9E3779B97F4A7C15ULL) ^
				     ((uint64_t)g << 56 | g))) {
				bad++;
				break;
			}
	}
	return bad;
}

static int map_region(struct region *r, size_t size, void *at, uint8_t gen)
{
	size_t pg;

	r->size = size;
	r->p = mmap(at, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);
	r->gen = calloc(size / PG, 1);
	if (r->p == MAP_FAILED || !r->gen)
		return -1;
	for (pg = 0; pg < size / PG; pg++) {
		r->gen[pg] = gen;
		fill_page(r->p + pg * PG, gen);
	}
	return 0;
}

static void touch(const char *name, const char *text)
{
	char path[4096], tmp[4200];
	int fd;

	/* renamed into place: the test never reads half a file */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
		rename(tmp, path);
	}
}

static void on_sig(int s)
{
	if (s == SIGUSR1)
		step1 = 1;
	else
		step2 = 1;
}

/*
 * Round r: about one page in 16 of A gets generation r + 1; B is unmapped
 * and a new mapping takes its place; C is unmapped and mapped anew
 * elsewhere.
 */
static void change(int r)
{
	size_t pg, n = 0;
	void *b_at = B.p;
	uint8_t gen = (uint8_t)(r + 1);

	srand((unsigned int)getpid() * 31 + r);
	pthread_mutex_lock(&page_lock);
	for (pg = 0; pg < A.size / PG; pg++) {
		if (rand() % 16)
			continue;
		A.gen[pg] = gen;
		fill_page(A.p + pg * PG, gen);
		n++;
	}
	pthread_mutex_unlock(&page_lock);
	munmap(B.p, B.size);
	free(B.gen);
	map_region(&B, B_SIZE, b_at, gen);
	if (C.p) {
		munmap(C.p, C.size);
		free(C.gen);
	}
	map_region(&C, C_SIZE, NULL, gen);
	fprintf(stderr, "round %d: changed %zu pages\n", r, n);
}

/* About 2000 pages a second at random, each with a generation of its own. */
static void *busy_main(void *arg)
{
	unsigned int seed = 7;
	uint8_t g = 100;

	(void)arg;
	while (!busy_stop) {
		int i;

		for (i = 0; i < 20; i++) {
			size_t pg = rand_r(&seed) % (A.size / PG);

			/* frozen in here, the restored thread finishes the page */
			pthread_mutex_lock(&page_lock);
			A.gen[pg] = g;
			fill_page(A.p + pg * PG, g);
			pthread_mutex_unlock(&page_lock);
			g = g == 250 ? 100 : g + 1;
		}
		usleep(10000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t busy;
	int is_busy = argc > 3 && !strcmp(argv[3], "busy");
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 0) : 256;
	char res[64];
	int round = 0;
	long bad;

	if (argc < 2)
		return 2;
	dir = argv[1];
	signal(SIGUSR1, on_sig);
	signal(SIGUSR2, on_sig);
	if (map_region(&A, mib << 20, NULL, 1) || map_region(&B, B_SIZE, NULL, 1))
		return 1;
	if (is_busy && pthread_create(&busy, NULL, busy_main, NULL))
		return 1;
	touch("round", "0");
	/* SIGUSR1: one more round of changes; SIGUSR2: check everything */
	while (!step2) {
		if (step1) {
			char txt[16];

			step1 = 0;
			change(++round);
			snprintf(txt, sizeof(txt), "%d", round);
			touch("round", txt);
		}
		usleep(10000);
	}
	if (is_busy) {
		busy_stop = 1;
		pthread_join(busy, NULL);
	}
	bad = check_region(&A) + check_region(&B) + check_region(&C);
	snprintf(res, sizeof(res), bad ? "FAIL %ld pages\n" : "PASS\n", bad);
	touch("result", res);
	return bad != 0;
}
