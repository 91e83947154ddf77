// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every byte of every kind of mapping, checked by the test itself: private
 * and shared anonymous memory, a private file mapping with some pages
 * written (the others still the file's), a shared file mapping, a memfd
 * mapped shared and privately, a PROT_NONE and a write-only region with
 * contents, a sparse MAP_NORESERVE region and a MAP_GROWSDOWN one (which
 * must still grow down afterwards).  The
 * pattern is derived from the address (or file offset), so a page that
 * comes back at another place shows.  Also the open mode behind shared
 * file mappings: one of a file opened O_RDWR but mapped PROT_READ can be
 * made writable after restore, one of an O_RDONLY file cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vma_util.h"

#define NR_PAGES 16
#define LEN (NR_PAGES * PAGE_SIZE)
#define SPARSE_LEN (1UL << 30)
#define SPARSE_STEP (16UL << 20)
#define GROW_ROOM (4UL << 20)

enum { PRIV, SHARED, FPRIV, FSHARED, MEMFD_SH, MEMFD_PRIV, NONE, WONLY, SPARSE, GROWS, NR };
static const char *const names[NR] = {
	"private anon", "shared anon", "private file", "shared file", "memfd shared",
	"memfd private", "PROT_NONE", "write-only", "MAP_NORESERVE", "MAP_GROWSDOWN",
};
static char *m[NR];
static char *ro_rdwr, *ro_rdonly;	/* PROT_READ shared maps of O_RDWR / O_RDONLY files */
static char path[4][4096];

/* private file and memfd pages written by the test: even ones, odd ones */
static int written(int r, int pg)
{
	return r == FPRIV ? !(pg & 1) : (pg & 1);
}

/* key and seed of the words page pg of region r must hold */
static void expect(int r, int pg, uint64_t *key, uint64_t *seed)
{
	*key = (unsigned long)m[r] + pg * PAGE_SIZE;
	*seed = r + 1;
	if (r == FPRIV && !written(r, pg)) {
		*key = pg * PAGE_SIZE;	/* the file's own contents */
		*seed = 100;
	} else if (r == MEMFD_PRIV && !written(r, pg)) {
		*key = (unsigned long)m[MEMFD_SH] + pg * PAGE_SIZE;	/* the memfd's */
		*seed = MEMFD_SH + 1;
	}
}

static int make_file(const char *p, int fill)
{
	char buf[PAGE_SIZE];
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644), i;

	if (fd < 0)
		return -1;
	for (i = 0; i < NR_PAGES; i++) {
		pattern_fill(buf, PAGE_SIZE, i * PAGE_SIZE, 100);
		if (fill && write_all(fd, buf, PAGE_SIZE))
			return -1;
	}
	if (!fill && ftruncate(fd, LEN))
		return -1;
	return fd;
}

static char *map(int prot, int flags, int fd)
{
	char *p = mmap(NULL, LEN, prot, flags, fd, 0);

	if (p == MAP_FAILED) {
		pr_perror("mmap");
		return NULL;
	}
	return p;
}

static int setup_files(void)
{
	int fd[4], i, mfd;

	for (i = 0; i < 4; i++) {
		snprintf(path[i], sizeof(path[i]), "%s.%d", test_filename, i);
		fd[i] = make_file(path[i], 1);
		if (fd[i] < 0) {
			pr_perror("create %s", path[i]);
			return 1;
		}
	}
	mfd = memfd_create("maps_contents00", 0);
	if (mfd < 0 || ftruncate(mfd, LEN)) {
		pr_perror("memfd");
		return 1;
	}
	close(fd[3]);
	fd[3] = open(path[3], O_RDONLY);
	if (!(m[FPRIV] = map(PROT_READ | PROT_WRITE, MAP_PRIVATE, fd[0])) ||
	    !(m[FSHARED] = map(PROT_READ | PROT_WRITE, MAP_SHARED, fd[1])) ||
	    !(ro_rdwr = map(PROT_READ, MAP_SHARED, fd[2])) ||
	    !(ro_rdonly = map(PROT_READ, MAP_SHARED, fd[3])) ||
	    !(m[MEMFD_SH] = map(PROT_READ | PROT_WRITE, MAP_SHARED, mfd)))
		return 1;
	/* the private map sees the memfd's pages until it writes its own */
	pattern_fill(m[MEMFD_SH], LEN, (unsigned long)m[MEMFD_SH], MEMFD_SH + 1);
	if (!(m[MEMFD_PRIV] = map(PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd)))
		return 1;
	for (i = 0; i < 4; i++)
		close(fd[i]);
	/* kept open: without /proc/PID/map_files (rootless) only an fd reaches a memfd */
	return 0;
}

/* With 4 MiB free below it (more than the stack guard gap), so that it can grow. */
static int map_grows(void)
{
	char *p = mmap(NULL, GROW_ROOM + LEN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, GROW_ROOM)) {
		pr_perror("mmap room for MAP_GROWSDOWN");
		return 1;
	}
	m[GROWS] = mmap(p + GROW_ROOM, LEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, -1, 0);
	if (m[GROWS] == MAP_FAILED) {
		pr_perror("mmap MAP_GROWSDOWN");
		return 1;
	}
	return 0;
}

/* A fault just below it makes it grow down, as before the dump. */
static int check_grows(void)
{
	unsigned long s, e;
	char perms[5], p[64];

	m[GROWS][-1] = 7;
	if (find_vma((unsigned long)m[GROWS] - 1, &s, &e, perms, p, sizeof(p)) ||
	    s >= (unsigned long)m[GROWS] || e != (unsigned long)m[GROWS] + LEN) {
		fail("MAP_GROWSDOWN region did not grow down");
		return 1;
	}
	return 0;
}

static int setup(void)
{
	int i, pg;

	if (setup_files())
		return 1;
	if (!(m[PRIV] = map(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1)) ||
	    !(m[SHARED] = map(PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1)) ||
	    !(m[NONE] = map(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1)) ||
	    !(m[WONLY] = map(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1)) ||
	    map_grows())
		return 1;
	m[SPARSE] = mmap(NULL, SPARSE_LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m[SPARSE] == MAP_FAILED) {
		pr_perror("mmap MAP_NORESERVE");
		return 1;
	}
	for (i = 0; i < NR; i++) {
		if (i == MEMFD_SH)
			continue;
		for (pg = 0; pg < NR_PAGES; pg++) {
			char *p = m[i] + pg * PAGE_SIZE;

			if (i == SPARSE)
				p = m[i] + pg * SPARSE_STEP;
			if ((i == FPRIV || i == MEMFD_PRIV) && !written(i, pg))
				continue;
			pattern_fill(p, PAGE_SIZE, (unsigned long)m[i] + pg * PAGE_SIZE, i + 1);
		}
	}
	if (mprotect(m[NONE], LEN, PROT_NONE) || mprotect(m[WONLY], LEN, PROT_WRITE)) {
		pr_perror("mprotect");
		return 1;
	}
	return 0;
}

static int check_region(int r)
{
	uint64_t key, seed;
	long bad;
	int pg;

	for (pg = 0; pg < NR_PAGES; pg++) {
		char *p = m[r] + (r == SPARSE ? pg * SPARSE_STEP : pg * PAGE_SIZE);

		expect(r, pg, &key, &seed);
		bad = pattern_check(p, PAGE_SIZE, key, seed);
		if (bad >= 0) {
			fail("%s: page %d differs at byte %ld", names[r], pg, bad);
			return 1;
		}
	}
	if (r == SPARSE && !is_zero(m[r] + PAGE_SIZE, PAGE_SIZE)) {
		fail("%s: an untouched page is not zero", names[r]);
		return 1;
	}
	return 0;
}

/* what the shared file holds is what its mapping showed */
static int check_file(void)
{
	char buf[PAGE_SIZE];
	int fd = open(path[1], O_RDONLY), pg;

	if (fd < 0) {
		pr_perror("open %s", path[1]);
		return 1;
	}
	for (pg = 0; pg < NR_PAGES; pg++) {
		if (pread(fd, buf, PAGE_SIZE, pg * PAGE_SIZE) != PAGE_SIZE ||
		    pattern_check(buf, PAGE_SIZE, (unsigned long)m[FSHARED] + pg * PAGE_SIZE,
				  FSHARED + 1) >= 0) {
			fail("shared file: page %d of the file differs", pg);
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

static int check_access(void)
{
	char perms[5], p[4096];
	unsigned long s, e;

	if (find_vma((unsigned long)m[NONE], &s, &e, perms, p, sizeof(p)) ||
	    strcmp(perms, "---p") ||
	    find_vma((unsigned long)m[WONLY], &s, &e, perms, p, sizeof(p)) ||
	    strcmp(perms, "-w-p")) {
		fail("PROT_NONE or write-only region has other protections now");
		return 1;
	}
	if (mprotect(m[NONE], LEN, PROT_READ) || mprotect(m[WONLY], LEN, PROT_READ)) {
		pr_perror("mprotect PROT_READ");
		return 1;
	}
	if (pattern_check(ro_rdwr, LEN, 0, 100) >= 0 || pattern_check(ro_rdonly, LEN, 0, 100) >= 0) {
		fail("read-only shared file mappings differ");
		return 1;
	}
	if (mprotect(ro_rdwr, LEN, PROT_READ | PROT_WRITE)) {
		pr_perror("a shared mapping of an O_RDWR file cannot be made writable");
		return 1;
	}
	ro_rdwr[5] = 'x';
	if (!mprotect(ro_rdonly, LEN, PROT_READ | PROT_WRITE) || errno != EACCES) {
		fail("a shared mapping of an O_RDONLY file could be made writable (or %m)");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int i;

	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_access())
		return 1;
	for (i = 0; i < NR; i++)
		if (check_region(i))
			return 1;
	if (check_file() || check_grows())
		return 1;
	pass();
	return 0;
}
