// SPDX-License-Identifier: GPL-2.0-only
/*
 * memhog: the target and the baselines of bench/bench.py.
 *
 *   memhog hog --pidfile F --result R [--size MIB] [--seed N]
 *	Map SIZE MiB of anonymous memory and fill every 8-byte word with a
 *	non-zero value derived from (seed, offset), so no two pages are alike
 *	and none is zero.  Become a session leader with stdio on /dev/null,
 *	write F (our pid), then wait for signals:
 *	  SIGUSR1  recompute the pattern over the whole mapping and write
 *		   "PASS ..." or "FAIL ..." to R (atomically, via rename);
 *	  SIGTERM  exit 0.
 *
 *   memhog memcpy --size MIB
 *	Populate two SIZE buffers, time one memcpy between them and print
 *	"seconds bytes".
 *
 *   memhog write --file F [--size MIB] [--chunk MIB] [--wait-go] [--fdatasync]
 *	Populate a SIZE buffer, then time open(F) + write() of the buffer in
 *	CHUNK pieces + close(); unlink F and print "seconds bytes cpu".  With
 *	--wait-go, print "ready" once populated and wait for a line on stdin
 *	before timing.  With --fdatasync, fdatasync(F) before the close and
 *	print a fourth field: seconds from the open to the end of fdatasync.
 *
 *   memhog read --file F [--chunk MIB]
 *	Time mmap of fresh anonymous memory the size of F + open(F) + read()
 *	of F into it in CHUNK pieces + close(); print "seconds bytes cpu".
 *
 * Times are CLOCK_MONOTONIC, printed on stdout with nanosecond digits; write
 * and read also print the user+system CPU seconds of the timed part.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static size_t opt_size = 1024 * MIB;
static size_t opt_chunk = 64 * MIB;
static uint64_t opt_seed = 0x5eed;
static const char *opt_pidfile;
static const char *opt_result;
static const char *opt_file;
static int opt_wait_go;
static int opt_fdatasync;

static volatile sig_atomic_t got_usr1, got_term;

static void die(const char *what)
{
	fprintf(stderr, "memhog: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64 finaliser: a good 64-bit mix, cheap enough for 1 GiB */
static inline uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t word_at(uint64_t seed, uint64_t idx)
{
	uint64_t v = mix(seed ^ mix(idx));

	return v ? v : 1;	/* never a zero word */
}

static void fill(uint64_t *p, size_t bytes, uint64_t seed)
{
	size_t n = bytes / sizeof(*p);

	for (size_t i = 0; i < n; i++)
		p[i] = word_at(seed, i);
}

/* user + system CPU seconds of this process */
static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	int fd;
	size_t len = strlen(text);

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	rename(tmp, path);
}

static void verify(const uint64_t *p, size_t bytes, uint64_t seed)
{
	size_t n = bytes / sizeof(*p), bad_words = 0, bad_pages = 0;
	size_t words_per_page = (size_t)sysconf(_SC_PAGESIZE) / sizeof(*p);
	size_t first_bad = 0, last_bad_page = (size_t)-1;
	uint64_t sum = 0;
	char msg[256];

	for (size_t i = 0; i < n; i++) {
		uint64_t want = word_at(seed, i);

		sum += p[i];
		if (p[i] != want) {
			if (!bad_words)
				first_bad = i * sizeof(*p);
			bad_words++;
			if (i / words_per_page != last_bad_page) {
				bad_pages++;
				last_bad_page = i / words_per_page;
			}
		}
	}
	if (bad_words)
		snprintf(msg, sizeof(msg),
			 "FAIL bad_pages=%zu bad_words=%zu first_bad_offset=0x%zx sum=%016" PRIx64 "\n",
			 bad_pages, bad_words, first_bad, sum);
	else
		snprintf(msg, sizeof(msg), "PASS bytes=%zu sum=%016" PRIx64 "\n",
			 bytes, sum);
	write_file_atomic(opt_result, msg);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static int do_hog(void)
{
	struct sigaction sa;
	sigset_t block, wait_mask;
	uint64_t *mem;
	char buf[64];
	int fd;

	if (!opt_pidfile || !opt_result) {
		fprintf(stderr, "memhog hog: --pidfile and --result are needed\n");
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	sigdelset(&wait_mask, SIGTERM);

	mem = map_anon(opt_size);
	fill(mem, opt_size, opt_seed);

	if (setsid() < 0)
		die("setsid");
	if (chdir("/") < 0)
		die("chdir /");
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		die("open /dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	close_range(3, ~0U, 0);	/* nothing inherited goes into the images */

	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	write_file_atomic(opt_pidfile, buf);

	while (!got_term) {
		sigsuspend(&wait_mask);
		if (got_usr1) {
			got_usr1 = 0;
			verify(mem, opt_size, opt_seed);
		}
	}
	return 0;
}

static int do_memcpy(void)
{
	char *a = map_anon(opt_size), *b = map_anon(opt_size);
	double t0, t1;

	fill((uint64_t *)a, opt_size, opt_seed);
	memset(b, 1, opt_size);	/* fault both in before timing */
	t0 = now();
	memcpy(b, a, opt_size);
	t1 = now();
	if (memcmp(a, b, opt_size)) {
		fprintf(stderr, "memhog memcpy: copy differs\n");
		return 2;
	}
	printf("%.9f %zu\n", t1 - t0, opt_size);
	return 0;
}

static int do_write(void)
{
	char *buf = map_anon(opt_size);
	double t0, t1, t2, c0, c1;
	size_t off = 0;
	int fd;

	if (!opt_file) {
		fprintf(stderr, "memhog write: --file is needed\n");
		return 2;
	}
	fill((uint64_t *)buf, opt_size, opt_seed);
	if (opt_wait_go) {
		/* let the caller settle the machine after our fill, as it does
		 * before criu dump of an already populated target */
		char line[16];

		printf("ready\n");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 2;
	}

	c0 = cpu();
	t0 = now();
	fd = open(opt_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open");
	while (off < opt_size) {
		size_t n = opt_size - off < opt_chunk ? opt_size - off : opt_chunk;
		ssize_t w = write(fd, buf + off, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			unlink(opt_file);
			die("write");
		}
		off += (size_t)w;
	}
	t1 = now();
	c1 = cpu();
	/* --fdatasync: also the time until the data is on disk, as a dump syncs its images */
	if (opt_fdatasync && fdatasync(fd) < 0)
		die("fdatasync");
	t2 = now();
	if (close(fd) < 0)
		die("close");
	unlink(opt_file);
	if (opt_fdatasync)
		printf("%.9f %zu %.6f %.9f\n", t1 - t0, off, c1 - c0, t2 - t0);
	else
		printf("%.9f %zu %.6f\n", t1 - t0, off, c1 - c0);
	return 0;
}

static int do_read(void)
{
	struct stat st;
	double t0, t1, c0, c1;
	size_t off = 0, size;
	char *mem;
	int fd;

	if (!opt_file) {
		fprintf(stderr, "memhog read: --file is needed\n");
		return 2;
	}
	if (stat(opt_file, &st) < 0)
		die("stat");
	size = (size_t)st.st_size;
	if (!size) {
		fprintf(stderr, "memhog read: %s is empty\n", opt_file);
		return 2;
	}

	c0 = cpu();
	t0 = now();
	mem = map_anon(size);
	fd = open(opt_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open");
	while (off < size) {
		size_t n = size - off < opt_chunk ? size - off : opt_chunk;
		ssize_t r = read(fd, mem + off, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	t1 = now();
	c1 = cpu();
	printf("%.9f %zu %.6f\n", t1 - t0, off, c1 - c0);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: memhog hog --pidfile F --result R [--size MIB] [--seed N]\n"
		"       memhog memcpy [--size MIB]\n"
		"       memhog write --file F [--size MIB] [--chunk MIB] [--wait-go] [--fdatasync]\n"
		"       memhog read --file F [--chunk MIB]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "result", required_argument, NULL, 'r' },
		{ "file", required_argument, NULL, 'f' },
		{ "wait-go", no_argument, NULL, 'g' },
		{ "fdatasync", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt_size = strtoul(optarg, NULL, 0) * MIB;
			break;
		case 'c':
			opt_chunk = strtoul(optarg, NULL, 0) * MIB;
			break;
		case 'S':
			opt_seed = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			opt_pidfile = optarg;
			break;
		case 'r':
			opt_result = optarg;
			break;
		case 'f':
			opt_file = optarg;
			break;
		case 'g':
			opt_wait_go = 1;
			break;
		case 'd':
			opt_fdatasync = 1;
			break;
		default:
			usage();
		}
	}
	if (!opt_size || !opt_chunk)
		usage();

	if (!strcmp(mode, "hog"))
		return do_hog();
	if (!strcmp(mode, "memcpy"))
		return do_memcpy();
	if (!strcmp(mode, "write"))
		return do_write();
	if (!strcmp(mode, "read"))
		return do_read();
	usage();
	return 2;
}
