// SPDX-License-Identifier: GPL-2.0
/*
 * Targets for bench/tasks.py, the fixed costs of a dump and a restore:
 *
 *   manytasks threads N PIDFILE   one process with N threads (leader included)
 *   manytasks procs N PIDFILE     a leader and N-1 single-threaded children
 *   manytasks sparse GIB PAGES PIDFILE
 *                                 GIB GiB of MAP_PRIVATE|MAP_NORESERVE anonymous
 *                                 memory with PAGES pages touched, spread evenly
 *   manytasks small MIB PIDFILE   MIB MiB of touched anonymous memory
 *
 * Each task sleeps in a loop.  The leader calls setsid(), puts stdio on
 * /dev/null and writes PIDFILE once everything exists.  SIGUSR1 to the
 * leader (sparse, small) checks the memory pattern and writes "PASS" or
 * "FAIL" to PIDFILE.res.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t check_req;
static uint64_t *mem;
static size_t mem_len, step, nr_touched;

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		usleep(100000);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	check_req = 1;
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		exit(1);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		exit(1);
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static void write_pidfile(const char *path)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", getpid());
	write_file(path, buf);
}

static uint64_t pattern(size_t i)
{
	return 0x9e3779b97f4a7c15ULL * (i + 1) | 1;
}

static void fill(void)
{
	size_t i;

	for (i = 0; i < nr_touched; i++)
		mem[i * step / sizeof(uint64_t)] = pattern(i);
}

static int check(void)
{
	size_t i;

	for (i = 0; i < nr_touched; i++)
		if (mem[i * step / sizeof(uint64_t)] != pattern(i))
			return -1;
	return 0;
}

static void wait_loop(const char *pidfile)
{
	char res[4096];

	snprintf(res, sizeof(res), "%s.res", pidfile);
	for (;;) {
		usleep(100000);
		if (check_req) {
			check_req = 0;
			write_file(res, check() ? "FAIL\n" : "PASS\n");
		}
	}
}

static void map_mem(size_t len, size_t pages, int flags)
{
	mem_len = len;
	nr_touched = pages;
	step = pages ? len / pages : 0;
	step &= ~(size_t)4095;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	fill();
}

int main(int argc, char **argv)
{
	long n, i;

	if (argc < 4) {
		fprintf(stderr, "usage: manytasks threads|procs|small N PIDFILE | "
				"sparse GIB PAGES PIDFILE\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 0);
	setsid();
	if (chdir("/"))
		return 1;
	signal(SIGUSR1, on_usr1);
	if (!strcmp(argv[1], "threads")) {
		for (i = 1; i < n; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, sleeper, NULL))
				return 1;
		}
	} else if (!strcmp(argv[1], "procs")) {
		for (i = 1; i < n; i++) {
			pid_t p = fork();

			if (p < 0)
				return 1;
			if (p == 0) {
				detach_stdio();
				sleeper(NULL);
			}
		}
	} else if (!strcmp(argv[1], "sparse") && argc == 5) {
		map_mem((size_t)n << 30, strtoul(argv[3], NULL, 0), MAP_NORESERVE);
		argv[3] = argv[4];
	} else if (!strcmp(argv[1], "small")) {
		map_mem((size_t)n << 20, ((size_t)n << 20) / 4096, 0);
	} else {
		return 2;
	}
	detach_stdio();
	write_pidfile(argv[3]);
	wait_loop(argv[3]);
	return 0;
}
