// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fault.h"
#include "util.h"

void *xmalloc_at(size_t size, const char *file, int line)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		pr_err("out of memory allocating %zu bytes at %s:%d\n", size, file, line);
	return p;
}

void *xzalloc_at(size_t size, const char *file, int line)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		pr_err("out of memory allocating %zu bytes at %s:%d\n", size, file, line);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		pr_err("out of memory reallocating %zu bytes\n", size);
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		pr_err("out of memory duplicating a string\n");
	return p;
}

/* Read until len bytes or end of file; off < 0: from the file position. */
static ssize_t read_loop(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? read(fd, (char *)buf + done, len - done) :
				      pread(fd, (char *)buf + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

ssize_t read_all(int fd, void *buf, size_t len)
{
	return read_loop(fd, buf, len, -1);
}

ssize_t pread_all(int fd, void *buf, size_t len, off_t off)
{
	return read_loop(fd, buf, len, off);
}

/* preadv() of len bytes; one call reads at most 2 GiB, so go on after a short one. */
ssize_t preadv_all(int fd, struct iovec *iov, int niov, off_t off, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = preadv(fd, iov, niov, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? n : (ssize_t)done;
		done += n;
		while (niov && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			niov--;
		}
		if (niov) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return done;
}

ssize_t write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		done += n;
	}
	return done;
}

ssize_t read_file_at(int dfd, const char *path, char **buf)
{
	size_t size = 4096, len = 0;
	char *b = NULL;
	int fd;

	fd = fault_hit(FI_PROC_READ) ? -1 : openat(dfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;

	for (;;) {
		ssize_t n;
		char *nb = realloc(b, size + 1);

		if (!nb) {
			errno = ENOMEM;
			goto err;
		}
		b = nb;
		n = read(fd, b + len, size - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto err;
		}
		if (n == 0)
			break;
		len += n;
		if (len == size)
			size *= 2;
	}
	close(fd);
	b[len] = '\0';
	*buf = b;
	return len;
err:
	{
		int e = errno;

		close(fd);
		free(b);
		errno = e;
	}
	return -1;
}

ssize_t read_file(const char *path, char **buf)
{
	return read_file_at(AT_FDCWD, path, buf);
}

static int read_num_file(const char *path, long long *val, int base)
{
	char *buf, *end;

	if (read_file(path, &buf) < 0)
		return -1;
	errno = 0;
	*val = strtoll(buf, &end, base);
	if (errno || end == buf) {
		free(buf);
		errno = EINVAL;
		return -1;
	}
	free(buf);
	return 0;
}

int read_int_file(const char *path, long long *val)
{
	return read_num_file(path, val, 0);
}

int read_file_hex(const char *path, long long *val)
{
	return read_num_file(path, val, 16);
}

int write_file(const char *path, const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write_all(fd, buf, len) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int close_safe(int *fd)
{
	int ret = 0;

	if (*fd >= 0) {
		ret = close(*fd);
		*fd = -1;
	}
	return ret;
}

struct arena_blk {
	struct arena_blk *next;
	char data[];
};

void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_blk *b = calloc(1, sizeof(*b) + size);

	if (!b) {
		pr_err("out of memory allocating %zu bytes\n", size);
		return NULL;
	}
	b->next = a->head;
	a->head = b;
	return b->data;
}

void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_blk *b = a->head;

		a->head = b->next;
		free(b);
	}
}

pid_t xwaitpid(pid_t pid, int *status, int flags)
{
	pid_t r;

	while ((r = waitpid(pid, status, flags)) < 0 && errno == EINTR)
		;
	return r;
}
