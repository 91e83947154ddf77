/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_UTIL_H
#define CR_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "log.h"

/* <sys/user.h> has the same definitions */
#ifndef PAGE_SIZE
#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#endif
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))

typedef uint64_t u64;
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef int32_t s32;

#define xmalloc(size) xmalloc_at(size, __FILE__, __LINE__)
#define xzalloc(size) xzalloc_at(size, __FILE__, __LINE__)
void *xmalloc_at(size_t size, const char *file, int line);
void *xzalloc_at(size_t size, const char *file, int line);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
#define xfree(p) free(p)

/*
 * Read a whole small file (e.g. under /proc) into a NUL-terminated
 * buffer; returns its length or -1.  *buf is malloc'ed.
 */
ssize_t read_file_at(int dfd, const char *path, char **buf);
ssize_t read_file(const char *path, char **buf);
/* Read a file that holds one integer. */
int read_int_file(const char *path, long long *val);
int read_file_hex(const char *path, long long *val);
int write_file(const char *path, const char *buf, size_t len);

/* waitpid() that goes on after a signal handler ran (EINTR). */
pid_t xwaitpid(pid_t pid, int *status, int flags);
ssize_t read_all(int fd, void *buf, size_t len);
ssize_t write_all(int fd, const void *buf, size_t len);
ssize_t pread_all(int fd, void *buf, size_t len, off_t off);
struct iovec;
ssize_t preadv_all(int fd, struct iovec *iov, int niov, off_t off, size_t len);

/* Monotonic time in microseconds. */
u64 now_us(void);

int close_safe(int *fd);

/* Many small zeroed allocations freed at once (protobuf messages). */
struct arena {
	struct arena_blk *head;
};
void *arena_alloc(struct arena *a, size_t size);
void arena_free(struct arena *a);
#define arena_new(a, type) ((type *)arena_alloc(a, sizeof(type)))
#define arena_array(a, type, n) ((type *)arena_alloc(a, sizeof(type) * (n)))


/* dev_t as the kernel encodes it for userspace (see <sys/sysmacros.h>) */
#include <sys/sysmacros.h>
static inline u64 makedev_u64(unsigned int maj, unsigned int min)
{
	return makedev(maj, min);
}
#endif
