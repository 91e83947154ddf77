// SPDX-License-Identifier: GPL-2.0-only
/* Small helpers shared by the zdtm tests. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

/* xorshift32: cheap, deterministic, and no byte pattern repeats soon. */
static uint32_t next_word(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

static uint32_t seed_state(uint32_t seed)
{
	uint32_t s = seed * 2654435761u + 0x9e3779b9u;

	return s ? s : 1;
}

void datagen(void *buf, size_t len, uint32_t seed)
{
	uint32_t state = seed_state(seed);
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i += 4) {
		uint32_t w = next_word(&state);
		size_t n = len - i < 4 ? len - i : 4;

		memcpy(p + i, &w, n);
	}
}

size_t datachk(const void *buf, size_t len, uint32_t seed)
{
	uint32_t state = seed_state(seed);
	const unsigned char *p = buf;
	size_t i, j;

	for (i = 0; i < len; i += 4) {
		uint32_t w = next_word(&state);
		size_t n = len - i < 4 ? len - i : 4;

		if (memcmp(p + i, &w, n) == 0)
			continue;
		for (j = 0; j < n; j++)
			if (p[i + j] != ((unsigned char *)&w)[j])
				return i + j;
	}
	return (size_t)-1;
}

int is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t ret;

	while (len) {
		ret = write(fd, p, len);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			return -1;
		p += ret;
		len -= ret;
	}
	return 0;
}

int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t ret;

	while (len) {
		ret = read(fd, p, len);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret == 0)
			errno = 0;
		if (ret <= 0)
			return -1;
		p += ret;
		len -= ret;
	}
	return 0;
}

ssize_t read_file(const char *path, void *buf, size_t size)
{
	size_t done = 0;
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (done < size) {
		ret = read(fd, (char *)buf + done, size - done);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			close(fd);
			return -1;
		}
		if (ret == 0)
			break;
		done += ret;
	}
	close(fd);
	return done;
}

static char maps_buf[1 << 18];

int find_vma(unsigned long addr, unsigned long *start, unsigned long *end, char perms[5],
	     char *path, size_t pathlen)
{
	ssize_t len;
	char *line, *nl;

	len = read_file("/proc/self/maps", maps_buf, sizeof(maps_buf) - 1);
	if (len < 0)
		return -1;
	maps_buf[len] = '\0';
	for (line = maps_buf; *line; line = nl + 1) {
		unsigned long s, e;
		int off = 0;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &s, &e, perms, &off) < 3)
			return -1;
		if (addr < s || addr >= e)
			continue;
		*start = s;
		*end = e;
		if (path)
			snprintf(path, pathlen, "%s", off ? line + off : "");
		return 0;
	}
	errno = ENOENT;
	return -1;
}

int proc_stat_field(int n, unsigned long long *val)
{
	char buf[2048], *p;
	ssize_t len;
	int i;

	len = read_file("/proc/self/stat", buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	if (!p || n < 3)
		return -1;
	p += 2; /* field 3 starts here */
	for (i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -1;
		p++;
	}
	return sscanf(p, "%llu", val) == 1 ? 0 : -1;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static sigjmp_buf probe_env;

static void probe_fault(int sig)
{
	siglongjmp(probe_env, sig);
}

static int probe(volatile char *addr, int write)
{
	struct sigaction sa = {.sa_handler = probe_fault}, old_segv, old_bus;
	int ok = 0;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(probe_env, 1) == 0) {
		if (write)
			*addr = *addr;
		else
			(void)*addr;
		ok = 1;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return ok;
}

int probe_read(const volatile void *addr)
{
	return probe((volatile char *)addr, 0);
}

int probe_write(volatile void *addr)
{
	return probe(addr, 1);
}

int stop_child(pid_t pid, int timeout_ms)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};
	int status, i;
	pid_t ret;

	for (i = 0; i <= timeout_ms / 10; i++) {
		if (i % 20 == 0)
			kill(pid, SIGTERM);
		ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			return status;
		if (ret < 0 && errno != EINTR)
			return -1;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}
