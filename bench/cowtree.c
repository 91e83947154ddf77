// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/cow.py's target: a session leader that fills --size MiB of
 * private anonymous memory and forks --children children that only read
 * it, so the whole tree shares one copy copy-on-write.  Every process
 * then sleeps; the pidfile is written once all children have read.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t size = 256UL << 20, i;
	int children = 4, ready[2], n;
	const char *pidfile = NULL;
	volatile uint64_t sum = 0;
	uint64_t *mem;
	char c;

	for (n = 1; n + 1 < argc; n += 2) {
		if (!strcmp(argv[n], "--size"))
			size = strtoul(argv[n + 1], NULL, 0) << 20;
		else if (!strcmp(argv[n], "--children"))
			children = atoi(argv[n + 1]);
		else if (!strcmp(argv[n], "--pidfile"))
			pidfile = argv[n + 1];
	}
	if (!pidfile || setsid() < 0 || pipe(ready)) {
		fprintf(stderr, "usage: cowtree --pidfile P [--size MiB] [--children N]\n");
		return 1;
	}
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (i = 0; i < size / 8; i++)
		mem[i] = (uint64_t)(uintptr_t)&mem[i] * 0x9E3779B97F4A7C15ULL;
	for (n = 0; n < children; n++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			for (i = 0; i < size / 8; i += 512)
				sum += mem[i];
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
	}
	for (n = 0; n < children; n++)
		if (read(ready[0], &c, 1) != 1)
			return 1;
	{
		char buf[32];
		int fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		n = snprintf(buf, sizeof(buf), "%d\n", getpid());
		if (fd < 0 || write(fd, buf, n) != n)
			return 1;
		close(fd);
	}
	for (;;)
		pause();
}
