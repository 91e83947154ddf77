/* SPDX-License-Identifier: GPL-2.0-only */
/* What the vma_* and maps_contents tests share: smaps lines, patterns. */
#ifndef VMA_UTIL_H
#define VMA_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "zdtmtst.h"

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif

/*
 * The value of "field:" in the /proc/self/smaps entry of the VMA holding
 * addr (for "VmFlags" the flags with a space before each), or -1.
 */
static inline int smaps_field(unsigned long addr, const char *field, char *out, size_t len)
{
	char line[512];
	size_t fl = strlen(field);
	int in = 0, ret = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char c;

		if (sscanf(line, "%lx-%lx %c", &s, &e, &c) == 3 && strchr(line, '-') &&
		    strspn(line, "0123456789abcdef") == (size_t)(strchr(line, '-') - line)) {
			if (in)
				break;
			in = s <= addr && addr < e;
			continue;
		}
		if (in && !strncmp(line, field, fl) && line[fl] == ':') {
			char *v = line + fl + 1;

			v[strcspn(v, "\n")] = '\0';
			if (!strcmp(field, "VmFlags"))
				snprintf(out, len, "%s", v);
			else
				snprintf(out, len, "%s", v + strspn(v, " "));
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Does the VMA holding addr show the two-letter VmFlags flag fl? -1: no VMA. */
static inline int vma_has_flag(unsigned long addr, const char *fl)
{
	char flags[512], want[8];

	if (smaps_field(addr, "VmFlags", flags, sizeof(flags)))
		return -1;
	snprintf(want, sizeof(want), " %s", fl);
	return strstr(flags, want) != NULL;
}

/* A kB field of the VMA holding addr ("Rss", "AnonHugePages"), or -1. */
static inline long vma_kb(unsigned long addr, const char *field)
{
	char v[64];

	if (smaps_field(addr, field, v, sizeof(v)))
		return -1;
	return atol(v);
}

/* A mapping between two PROT_NONE pages, so that no neighbour merges with it. */
static inline void *map_isolated(size_t len, int prot, int flags)
{
	char *p = mmap(NULL, len + 2 * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return p;
	return mmap(p + PAGE_SIZE, len, prot, flags | MAP_FIXED, -1, 0);
}

/* The word that belongs at address a (or file offset a): a shifted page shows. */
static inline uint64_t pattern_word(uint64_t a, uint64_t seed)
{
	uint64_t x = a ^ (seed * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* key: the address of p, or an offset standing for it */
static inline void pattern_fill(void *p, size_t len, uint64_t key, uint64_t seed)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pattern_word(key + i * 8, seed);
}

/* The offset of the first wrong byte, or -1. */
static inline long pattern_check(const void *p, size_t len, uint64_t key, uint64_t seed)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(key + i * 8, seed))
			return (long)(i * 8);
	return -1;
}

#endif
