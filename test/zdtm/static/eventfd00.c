// SPDX-License-Identifier: GPL-2.0-only
/*
 * eventfds: a non-blocking one whose counter needs more than 32 bits, a
 * blocking semaphore (each read takes one), and an empty one shared by
 * two descriptors.  Afterwards the counters, the modes and the flags are
 * the same: reads return the same values, then EAGAIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BIG 0x123456789abULL
#define SEM 3

static int fdinfo_int(int fd, const char *key, int base, unsigned long long *val)
{
	char path[64], buf[1024], *p;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, key);
	if (!p)
		return -1;
	*val = strtoull(p + strlen(key), NULL, base);
	return 0;
}

/* One read with O_NONBLOCK on: the value, or 0 and errno EAGAIN. */
static int read_now(int fd, uint64_t *v)
{
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -1;
	*v = 0;
	n = read(fd, v, sizeof(*v));
	if (fcntl(fd, F_SETFL, fl))
		return -1;
	if (n == sizeof(*v))
		return 0;
	return n < 0 && errno == EAGAIN ? 1 : -1;
}

static int check_flags(int fd, int want, const char *what)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & (O_NONBLOCK | O_ACCMODE)) != want) {
		fail("%s: flags %#x, want %#x", what, fl, want);
		return -1;
	}
	return 0;
}

static int check_big(int fd)
{
	unsigned long long sem;
	uint64_t v;

	if (check_flags(fd, O_RDWR | O_NONBLOCK, "big"))
		return -1;
	if (fdinfo_int(fd, "eventfd-semaphore:", 10, &sem) == 0 && sem) {
		fail("big: in semaphore mode");
		return -1;
	}
	/* the descriptor's own O_NONBLOCK must make this read not block */
	if (read(fd, &v, sizeof(v)) != sizeof(v) || v != BIG) {
		fail("big: read %#llx, want %#llx", (unsigned long long)v, BIG);
		return -1;
	}
	if (read(fd, &v, sizeof(v)) >= 0 || errno != EAGAIN) {
		fail("big: a second read did not fail with EAGAIN");
		return -1;
	}
	return 0;
}

static int check_sem(int fd)
{
	uint64_t v;
	int i;

	if (check_flags(fd, O_RDWR, "semaphore"))
		return -1;
	for (i = 0; i < SEM; i++) {
		if (read_now(fd, &v) != 0 || v != 1) {
			fail("semaphore: read %d gave %llu, want 1", i, (unsigned long long)v);
			return -1;
		}
	}
	if (read_now(fd, &v) != 1) {
		fail("semaphore: read %d gave %llu, want EAGAIN", SEM, (unsigned long long)v);
		return -1;
	}
	return 0;
}

static int check_empty(int fd, int dup_fd)
{
	uint64_t v = 5;

	if (check_flags(fd, O_RDWR, "empty"))
		return -1;
	if (read_now(fd, &v) != 1) {
		fail("empty: read %llu, want EAGAIN", (unsigned long long)v);
		return -1;
	}
	/* both descriptors must still name one eventfd */
	v = 5;
	if (write(dup_fd, &v, sizeof(v)) != sizeof(v) || read_now(fd, &v) != 0 || v != 5) {
		fail("empty: a write through the dup did not reach the original");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t v = BIG;
	int big, sem, empty, dup_fd;

	test_init(argc, argv);
	big = eventfd(0, EFD_NONBLOCK);
	sem = eventfd(SEM, EFD_SEMAPHORE);
	empty = eventfd(0, 0);
	dup_fd = dup(empty);
	if (big < 0 || sem < 0 || empty < 0 || dup_fd < 0) {
		pr_perror("eventfd");
		return 1;
	}
	if (write(big, &v, sizeof(v)) != sizeof(v)) {
		pr_perror("write");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_big(big) || check_sem(sem) || check_empty(empty, dup_fd))
		return 1;
	pass();
	return 0;
}
