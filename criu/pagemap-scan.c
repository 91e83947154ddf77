// SPDX-License-Identifier: GPL-2.0
/*
 * The PAGEMAP_SCAN ioctl of /proc/PID/pagemap (Linux 6.7; PAGE_IS_GUARD
 * 6.14): the kernel walks the page tables and returns only the ranges that
 * hold something, so a huge sparse mapping costs what is in it, not one
 * pagemap word per page.  It has no category for "mapped by this process
 * only" (the pagemap word's exclusive bit), which the dump needs to tell
 * copy-on-write shared pages, so mem.c still reads the pagemap words, but
 * only of the ranges found here.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "pagemap-scan.h"

struct pm_scan_arg {
	u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PAGEMAP_SCAN_IOC	_IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT		(1ULL << 3)
#define PAGE_IS_SWAPPED		(1ULL << 4)
#define PAGE_IS_GUARD		(1ULL << 8)

static bool no_scan;

long pagemap_scan(int pm_fd, u64 start, u64 end, struct pm_region *vec, size_t cap,
		  u64 *walk_end)
{
	struct pm_scan_arg arg;
	long n;

	*walk_end = 0;
	if (no_scan)
		return 0;
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = start;
	arg.end = end;
	arg.vec = (u64)(unsigned long)vec;
	arg.vec_len = cap;
	arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_GUARD;
	arg.return_mask = arg.category_anyof_mask;
	n = ioctl(pm_fd, PAGEMAP_SCAN_IOC, &arg);
	if (n < 0 && (errno == ENOTTY || errno == EINVAL)) {
		pr_info("no PAGEMAP_SCAN with guard pages here (%s): reading the pagemap\n",
			strerror(errno));
		no_scan = true;
		return 0;
	}
	if (n < 0)
		return -1;
	*walk_end = arg.walk_end;
	return n;
}
