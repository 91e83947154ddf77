/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_PAGE_CHAIN_H
#define CR_PAGE_CHAIN_H

#include <sys/types.h>

#include "util.h"

/* Read [addr, addr + len) of task vpid from the parent dumps into dst. */
int page_chain_read(int vpid, u64 addr, u64 len, void *dst);
/* The same, piece by piece: fn gets the pages file of the level that has it. */
typedef int (*page_chain_fn)(int fd, off_t off, u64 addr, u64 len, u8 *dst, void *arg);
int page_chain_each(int vpid, u64 addr, u64 len, void *dst, page_chain_fn fn, void *arg);
/* Does the chain hold [addr, addr + len)?  -1 with the reason if not (nothing printed). */
int page_chain_check(int vpid, u64 addr, u64 len, const char **reason);
/* Close the parent images. */
void page_chain_fini(void);

#endif
