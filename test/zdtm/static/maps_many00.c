// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many VMAs: one anonymous region whose pages alternate PROT_READ and
 * PROT_READ|PROT_WRITE (20,000 VMAs), and 10,000 one-page mappings of one
 * file, private and shared, with alternating protections so that no two
 * neighbours merge.  Restore must be linear in the number of VMAs; after
 * it every VMA must be back with its bounds, protection and contents.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef NR_ANON
#define NR_ANON 20000
#endif
#ifndef NR_FILE
#define NR_FILE 10000
#endif
#define FILE_PAGES 16
#define MAPS_BUF (16 << 20)

static char *anon, *fmap;
static long psz;

static int anon_rw(int i)
{
	return i & 1;
}

/* file mapping i: protection alternates, private/shared every other pair */
static int file_rw(int i)
{
	return i & 1;
}

static int file_shared(int i)
{
	return (i >> 1) & 1;
}

/* n pages between two PROT_NONE pages, so that no neighbour merges in */
static char *reserve(int n)
{
	char *p = mmap(NULL, (n + 2) * psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p + psz;
}

/* n private pages, every third with data, the even ones read-only */
static char *setup_anon(int n)
{
	char *p = reserve(n);
	int i;

	if (!p || mmap(p, n * psz, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_ANONYMOUS | MAP_PRIVATE,
		       -1, 0) == MAP_FAILED) {
		pr_perror("mmap anon");
		return NULL;
	}
	for (i = 0; i < n; i += 3)
		datagen(p + i * psz, psz, i);
	for (i = 0; i < n; i++)
		if (!anon_rw(i) && mprotect(p + i * psz, psz, PROT_READ)) {
			pr_perror("mprotect page %d", i);
			return NULL;
		}
	return p;
}

static int setup_file(void)
{
	char *page = malloc(psz);
	int fd, i;

	fd = open(test_filename, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !page) {
		pr_perror("open %s", test_filename);
		return 1;
	}
	for (i = 0; i < FILE_PAGES; i++) {
		datagen(page, psz, 100000 + i);
		if (write_all(fd, page, psz)) {
			pr_perror("write %s", test_filename);
			return 1;
		}
	}
	free(page);
	fmap = reserve(NR_FILE);
	if (!fmap) {
		pr_perror("reserve");
		return 1;
	}
	for (i = 0; i < NR_FILE; i++) {
		int prot = PROT_READ | (file_rw(i) ? PROT_WRITE : 0);
		int flags = MAP_FIXED | (file_shared(i) ? MAP_SHARED : MAP_PRIVATE);

		if (mmap(fmap + i * psz, psz, prot, flags, fd, (i % FILE_PAGES) * psz) ==
		    MAP_FAILED) {
			pr_perror("mmap file page %d", i);
			return 1;
		}
		/* private writable copies get their own data */
		if (file_rw(i) && !file_shared(i) && i % 5 == 1)
			datagen(fmap + i * psz, psz, 200000 + i);
	}
	close(fd);
	return 0;
}

static int check_anon(char *mem, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		char *p = mem + i * psz;

		if (i % 3 == 0 ? datachk(p, psz, i) != (size_t)-1 : !is_zero(p, psz)) {
			fail("anon page %d lost its contents", i);
			return 1;
		}
	}
	return 0;
}

static int check_file(void)
{
	int i;

	for (i = 0; i < NR_FILE; i++) {
		uint32_t seed = 100000 + i % FILE_PAGES;

		if (file_rw(i) && !file_shared(i) && i % 5 == 1)
			seed = 200000 + i;
		if (datachk(fmap + i * psz, psz, seed) != (size_t)-1) {
			fail("file mapping %d lost its contents", i);
			return 1;
		}
	}
	return 0;
}

/* The protection and sharing expected at addr, or NULL outside our regions. */
static const char *expected(unsigned long s, unsigned long e, char *want)
{
	unsigned long a = (unsigned long)anon, f = (unsigned long)fmap;
	int i;

	if (s >= a && s < a + NR_ANON * psz) {
		i = (s - a) / psz;
		sprintf(want, "%s", anon_rw(i) ? "rw-p" : "r--p");
	} else if (s >= f && s < f + NR_FILE * psz) {
		i = (s - f) / psz;
		sprintf(want, "r%c-%c", file_rw(i) ? 'w' : '-', file_shared(i) ? 's' : 'p');
	} else {
		return NULL;
	}
	if (e - s != (unsigned long)psz)
		return "";
	return want;
}

/* Counts the lines of /proc/self/maps and checks each of our VMAs. */
static int check_maps(char *buf, int *lines, int *ours)
{
	ssize_t len = read_file("/proc/self/maps", buf, MAPS_BUF - 1);
	char *line, *save;

	if (len < 0 || len >= MAPS_BUF - 1) {
		pr_perror("read maps");
		return 1;
	}
	buf[len] = 0;
	*lines = *ours = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long s, e;
		char perms[5], want[5];
		const char *w;

		(*lines)++;
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) != 3) {
			fail("odd maps line %s", line);
			return 1;
		}
		w = expected(s, e, want);
		if (!w)
			continue;
		(*ours)++;
		if (strcmp(w, perms)) {
			fail("vma %s: expected one page %s", line, w);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int lines0, ours0, lines, ours;
	char *buf;

	test_init(argc, argv);
	psz = sysconf(_SC_PAGESIZE);
	buf = malloc(MAPS_BUF);
	if (!buf) {
		fail("no memory");
		return 1;
	}
	anon = setup_anon(NR_ANON);
	if (!anon || setup_file() || check_maps(buf, &lines0, &ours0))
		return 1;
	if (ours0 != NR_ANON + NR_FILE) {
		fail("set up %d of our VMAs, expected %d", ours0, NR_ANON + NR_FILE);
		return 1;
	}
	test_daemon();
	test_waitsig();
	if (check_maps(buf, &lines, &ours) || check_anon(anon, NR_ANON) || check_file())
		return 1;
	if (lines != lines0 || ours != ours0) {
		fail("%d maps lines (%d ours) after restore, %d (%d) before", lines, ours, lines0,
		     ours0);
		return 1;
	}
	pass();
	return 0;
}
