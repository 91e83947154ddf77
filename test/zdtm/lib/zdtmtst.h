/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zdtm test library: the frame every static test program lives in.
 *
 * A test program looks like this:
 *
 *	int main(int argc, char **argv)
 *	{
 *		test_init(argc, argv);
 *		... set up the piece of state, fail() and return 1 on error ...
 *		test_daemon();
 *		test_waitsig();
 *		... check the state is still exactly as it was ...
 *		pass();
 *		return 0;
 *	}
 *
 * test_init() parses --pidfile, --outfile and --filename, detaches the
 * test into a new session (the launching process exits once the test is
 * ready) and sends stdio to /dev/null.  test_daemon() writes the pidfile:
 * from then on the runner may checkpoint and restore the test.
 * test_waitsig() returns once SIGTERM has arrived.  pass() and fail()
 * record the verdict in the outfile; test_msg() appends to <outfile>.log.
 */
#ifndef ZDTMTST_H
#define ZDTMTST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef PAGE_SIZE
#define PAGE_SIZE 4096UL
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define __printf(a, b) __attribute__((format(printf, a, b)))

/* Set by the library's SIGTERM handler. */
extern volatile sig_atomic_t test_sigterm_seen;

/* The scratch path given with --filename (absolute). */
extern const char *test_filename;
/* The test's name: the basename of argv[0] at start-up. */
extern const char *test_name;

int test_init(int argc, char **argv);
void test_daemon(void);
void test_waitsig(void);

void pass(void);
void fail(const char *fmt, ...) __printf(1, 2);
void test_msg(const char *fmt, ...) __printf(1, 2);

/* fail() with ": strerror(errno)" appended. */
#define pr_perror(fmt, ...) fail(fmt ": %m", ##__VA_ARGS__)

/* Run-time helpers (util.c). */
void datagen(void *buf, size_t len, uint32_t seed);
/* Returns the offset of the first mismatch, or (size_t)-1 if all match. */
size_t datachk(const void *buf, size_t len, uint32_t seed);
int is_zero(const void *buf, size_t len);

/* Reads a whole (small, e.g. /proc) file; returns its length or -1. */
ssize_t read_file(const char *path, void *buf, size_t size);
/* Writes len bytes; returns 0 or -1. */
int write_all(int fd, const void *buf, size_t len);
/* Reads exactly len bytes; returns 0 or -1 (EOF is an error, errno 0). */
int read_all(int fd, void *buf, size_t len);

/* The /proc/self/maps line covering addr: fills perms ("rwxp") and path. */
int find_vma(unsigned long addr, unsigned long *start, unsigned long *end, char perms[5],
	     char *path, size_t pathlen);

/* Field n (1-based, as in proc(5)) of /proc/self/stat, or -1 on error. */
int proc_stat_field(int n, unsigned long long *val);

/*
 * Sends SIGTERM to a child of the test until it exits (a child in
 * test_waitsig() may miss one) and reaps it.  Returns its wait status,
 * or -1 if it did not exit within timeout_ms.
 */
int stop_child(pid_t pid, int timeout_ms);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

/* Probes whether addr can be read / written (catching SIGSEGV/SIGBUS). */
int probe_read(const volatile void *addr);
int probe_write(volatile void *addr);

#endif /* ZDTMTST_H */
