/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_PAGEMAP_SCAN_H
#define CR_PAGEMAP_SCAN_H

#include "util.h"

/* A range of pages that are present, swapped or guard pages. */
struct pm_region {
	u64 start, end, categories;
};

/*
 * The ranges in [start, end) of /proc/PID/pagemap's task that hold pages
 * (present, swapped or guards), up to cap of them, with the PAGEMAP_SCAN
 * ioctl.  Returns their number and sets *walk_end to where the walk stopped
 * (end when done); 0 with *walk_end = 0 when this kernel has no
 * PAGEMAP_SCAN (or no PAGE_IS_GUARD), then the caller reads pagemap words;
 * -1 with errno on failure.
 */
long pagemap_scan(int pm_fd, u64 start, u64 end, struct pm_region *vec, size_t cap,
		  u64 *walk_end);

#endif
