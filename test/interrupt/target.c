// SPDX-License-Identifier: GPL-2.0
/*
 * The target of test/interrupt/run.py.
 *
 *   fault-target DIR MIB
 *
 * A process with MIB MiB of memory filled with a pattern, SIGUSR2 blocked,
 * SIGHUP ignored and a SIGUSR1 handler; a thread that keeps values in r12,
 * r13 and xmm7 across raw nanosleep calls and checks them after each; a
 * thread blocked in read() on a pipe that echoes what it gets, with SIGURG
 * blocked; and a child process with its own SIGUSR1 handler.  It writes "PID CHILD" to
 * DIR/ready.  On SIGUSR1 each process checks itself and writes one line
 * to DIR/reply-PID: "ok ticks=N sum=X" or "bad: why".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static volatile sig_atomic_t got_usr1;
static volatile long reg_iters, reg_bad;
static int ping[2], pong[2];
static uint64_t *mem;
static size_t mem_words;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static uint64_t checksum(void)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < mem_words; i++)
		h = (h ^ mem[i]) * 1099511628211ULL;
	return h;
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
	char path[4096], tmp[4200], line[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/reply-%d", dir, getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, n) != n)
		n = -1;
	close(fd);
	if (n > 0)
		rename(tmp, path);
}

/* r12, r13 and xmm7 hold known values across every syscall of the loop */
static void *reg_thread(void *arg)
{
	struct timespec ts = { 0, 3000000 };

	(void)arg;
	asm volatile("movabs $0x1122334455667788, %%r12\n\t"
		     "movabs $0x0123456789abcdef, %%r13\n\t"
		     "movq %%r12, %%xmm7\n\t"
		     "1:\n\t"
		     "mov $35, %%eax\n\t"		/* nanosleep(&ts, NULL) */
		     "mov %[ts], %%rdi\n\t"
		     "xor %%esi, %%esi\n\t"
		     "syscall\n\t"
		     "movq %%xmm7, %%rax\n\t"
		     "cmp %%r12, %%rax\n\t"
		     "jne 2f\n\t"
		     "movabs $0x0123456789abcdef, %%rax\n\t"
		     "cmp %%r13, %%rax\n\t"
		     "jne 2f\n\t"
		     "lock incq %[iters]\n\t"
		     "jmp 1b\n\t"
		     "2:\n\t"
		     : [iters] "+m"(reg_iters)
		     : [ts] "r"(&ts)
		     : "rax", "rdi", "rsi", "rcx", "r11", "r12", "r13", "xmm7", "memory", "cc");
	reg_bad = 1;
	for (;;)
		pause();
	return NULL;
}

static void *echo_thread(void *arg)
{
	sigset_t urg;
	char c;

	(void)arg;
	/* the signal criu's remote-call batches end with, blocked: none may stay pending */
	sigemptyset(&urg);
	sigaddset(&urg, SIGURG);
	pthread_sigmask(SIG_BLOCK, &urg, NULL);
	for (;;) {
		ssize_t n = read(ping[0], &c, 1);

		if (n == 1 && write(pong[1], &c, 1) != 1)
			break;
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	return NULL;
}

static int echo_works(void)
{
	struct pollfd p = { .fd = pong[0], .events = POLLIN };
	char c = 'x';

	if (write(ping[1], &c, 1) != 1)
		return 0;
	if (poll(&p, 1, 2000) != 1 || read(pong[0], &c, 1) != 1)
		return 0;
	return c == 'x';
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void child_main(void)
{
	long ticks = 0;

	for (;;) {
		sleep_ms(2);
		ticks++;
		if (got_usr1) {
			got_usr1 = 0;
			reply("ok ticks=%ld\n", ticks);
		}
	}
}

static void parent_main(uint64_t sum0)
{
	long ticks = 0, iters0 = 0;

	for (;;) {
		sleep_ms(1);
		ticks++;
		if (!got_usr1)
			continue;
		got_usr1 = 0;
		if (reg_bad) {
			reply("bad: registers or xmm7 of the checking thread changed\n");
		} else if (checksum() != sum0) {
			reply("bad: memory checksum changed\n");
		} else if (!echo_works()) {
			reply("bad: the thread blocked in read() does not echo\n");
		} else {
			int waited = 0;

			/* it sleeps 3 ms a round; give a loaded machine a second */
			iters0 = reg_iters;
			while (reg_iters == iters0 && waited++ < 100)
				sleep_ms(10);
			if (reg_iters == iters0)
				reply("bad: the checking thread does not run\n");
			else
				reply("ok ticks=%ld sum=%016llx\n", ticks, (unsigned long long)sum0);
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t set;
	pthread_t t;
	size_t i, mib;
	uint64_t sum0;
	pid_t child;
	char path[4096];
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: fault-target DIR MIB\n");
		return 2;
	}
	dir = argv[1];
	mib = strtoul(argv[2], NULL, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGHUP, SIG_IGN);
	sigaction(SIGUSR1, &sa, NULL);

	child = fork();
	if (child < 0)
		return 1;
	if (child == 0)
		child_main();

	mem_words = (mib << 20) / 8;
	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (i = 0; i < mem_words; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ULL;
	sum0 = checksum();

	/* the threads also block SIGUSR1: the main thread takes it */
	if (pipe(ping) || pipe(pong))
		return 1;
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, reg_thread, NULL) ||
	    pthread_create(&t, NULL, echo_thread, NULL))
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	snprintf(path, sizeof(path), "%s/ready.tmp", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%d %d\n", getpid(), child);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ready", dir);
	{
		char tmp[4200];

		snprintf(tmp, sizeof(tmp), "%s/ready.tmp", dir);
		rename(tmp, path);
	}
	parent_main(sum0);
	return 0;
}
