/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_LAZY_INTERNAL_H
#define CR_LAZY_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* Pages [start, end) still to be filled, at off in the pages file. */
struct lz_ext {
	u64 start, end, off;
};

/* A pages image, mapped read-only: UFFDIO_COPY reads straight from it. */
struct lz_src {
	u32 id;
	u8 *map;
	size_t len;
};

/* One mm the daemon fills: a restored process or one it forked since. */
struct lz_task {
	pid_t pid;		/* as in the images; a forked child: -(its parent's) */
	int uffd;		/* -1 once done */
	int idx;		/* in the daemon's (and the guard's) table */
	struct lz_src *src;
	struct lz_ext *ext;
	size_t nr, cap;
	u64 left;		/* bytes in ext */
	u64 *retry;		/* faults to answer again (EAGAIN) */
	size_t nr_retry;
};

struct lz_stats {
	u64 faults, zero_faults, fault_bytes, push_bytes;
};

int lz_cut(struct lz_task *t, u64 s, u64 e);
int lz_retry_later(struct lz_task *t, u64 addr);
int lz_retry(struct lz_task *t);

/*
 * lazy-guard.c: a second process that holds every uffd too and, if the
 * daemon dies before all pages are in, poisons the pages not loaded
 * (UFFDIO_POISON: the process gets SIGBUS there, never zeros).
 */
int lz_guard_add(struct lz_task *t, struct lz_task *parent);
void lz_guard_remap(struct lz_task *t, u64 from, u64 to, u64 len);
void lz_guard_close(struct lz_task *t);
int lz_guard_start(struct lz_task **tasks, size_t nr);
void lz_guard_done(bool ok);

#endif
