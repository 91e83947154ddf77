/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the copy-on-write tests: an address-derived page pattern, and
 * how much of a region a tree of processes shares physically, measured
 * from outside each process: page frame numbers from /proc/PID/pagemap
 * (visible to root in the initial user namespace only) and the region's
 * Pss in /proc/PID/smaps (everywhere).
 */
#ifndef COW_UTIL_H
#define COW_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

#define COW_WORDS (PAGE_SIZE / sizeof(uint64_t))

static inline uint64_t cow_word(const uint64_t *w, uint64_t seed)
{
	return (uint64_t)(uintptr_t)w * 0x9E3779B97F4A7C15ULL ^ seed;
}

static inline void cow_fill_page(void *page, uint64_t seed)
{
	uint64_t *w = page;
	size_t i;

	for (i = 0; i < COW_WORDS; i++)
		w[i] = cow_word(&w[i], seed);
}

/* Whether the page holds the pattern of seed. */
static inline int cow_page_ok(const void *page, uint64_t seed)
{
	const uint64_t *w = page;
	size_t i;

	for (i = 0; i < COW_WORDS; i++)
		if (w[i] != cow_word(&w[i], seed))
			return 0;
	return 1;
}

#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_PRESENT_BIT (1ULL << 63)

/* The PFNs of n pages at addr in pid (0: not present); 1 if PFNs show, 0 if not, -1. */
static inline int cow_pfns(pid_t pid, unsigned long addr, size_t n, uint64_t *pfn)
{
	char path[64];
	size_t i, shown = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		pr_perror("open %s", path);
		return -1;
	}
	r = pread(fd, pfn, n * 8, (off_t)(addr / PAGE_SIZE) * 8);
	close(fd);
	if (r != (ssize_t)(n * 8)) {
		pr_perror("read %s", path);
		return -1;
	}
	for (i = 0; i < n; i++) {
		pfn[i] = pfn[i] & PM_PRESENT_BIT ? pfn[i] & PM_PFN_MASK : 0;
		shown += pfn[i] != 0;
	}
	return shown > 0;
}

/* The Pss (kB) of pid's VMA that holds addr (the region may have merged with a neighbour), or -1. */
static inline long cow_pss(pid_t pid, unsigned long addr)
{
	size_t cap = 4 << 20;
	char path[64], *buf = malloc(cap), *p;
	long kb = -1;
	ssize_t len;

	if (!buf)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	len = read_file(path, buf, cap - 1);
	if (len < 0) {
		pr_perror("read %s", path);
		goto out;
	}
	buf[len] = '\0';
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		unsigned long s, e;
		char c;

		if (sscanf(p, "%lx-%lx %c", &s, &e, &c) == 3 && s <= addr && addr < e)
			break;
	}
	if (p && (p = strstr(p, "\nPss:")))
		kb = strtol(p + 5, NULL, 10);
	if (kb < 0)
		fail("no Pss for %lx in %s", addr, path);
out:
	free(buf);
	return kb;
}

/* How much of the region the tree shares: procs[i] against procs[parent[i]]. */
struct cow_snap {
	int pfn_shown;
	long shared;		/* pages on the same frame as the parent's, if pfn_shown */
	long pss_kb;		/* the region's Pss summed over the tree */
};

static inline int cow_snapshot(const pid_t *procs, const int *parent, int n, unsigned long addr,
			       size_t pages, struct cow_snap *s)
{
	uint64_t *pfn = malloc(n * pages * 8);
	int i, ret = -1;
	size_t k;

	memset(s, 0, sizeof(*s));
	if (!pfn)
		return -1;
	s->pfn_shown = 1;
	for (i = 0; i < n; i++) {
		long kb = cow_pss(procs[i], addr);
		int shown = cow_pfns(procs[i], addr, pages, pfn + i * pages);

		if (kb < 0 || shown < 0)
			goto out;
		s->pss_kb += kb;
		s->pfn_shown &= shown;
	}
	for (i = 0; s->pfn_shown && i < n; i++) {
		const uint64_t *mine = pfn + i * pages, *theirs = pfn + parent[i] * pages;

		if (parent[i] < 0)
			continue;
		for (k = 0; k < pages; k++)
			s->shared += mine[k] && mine[k] == theirs[k];
	}
	ret = 0;
out:
	free(pfn);
	return ret;
}

/* After restore the tree must share at least what it did before, give or take 1%. */
static inline int cow_compare(const struct cow_snap *pre, const struct cow_snap *post,
			      size_t pages)
{
	test_msg("before: Pss %ld kB, %ld pages on the parent's frame%s", pre->pss_kb,
		 pre->shared, pre->pfn_shown ? "" : " (PFNs not shown)");
	test_msg("after:  Pss %ld kB, %ld pages on the parent's frame%s", post->pss_kb,
		 post->shared, post->pfn_shown ? "" : " (PFNs not shown)");
	if (pre->pfn_shown && post->pfn_shown && post->shared < pre->shared - (long)pages / 100) {
		fail("%ld pages share a frame with the parent after restore, %ld before",
		     post->shared, pre->shared);
		return 1;
	}
	if (post->pss_kb > pre->pss_kb + pre->pss_kb / 20 + 1024) {
		fail("the tree's Pss of the region is %ld kB after restore, %ld kB before",
		     post->pss_kb, pre->pss_kb);
		return 1;
	}
	return 0;
}

#endif
