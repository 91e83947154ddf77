/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_PAGE_CHAIN_H
#define CR_PAGE_CHAIN_H

#include "util.h"

/* Read [addr, addr + len) of task vpid from the parent dumps into dst. */
int page_chain_read(int vpid, u64 addr, u64 len, void *dst);
/* Close the parent images. */
void page_chain_fini(void);

#endif
