// SPDX-License-Identifier: GPL-2.0-only
/*
 * The argument area rewritten in place (as programs that set their
 * process title do): /proc/self/cmdline shows the new bytes, before and
 * after, and the area's bounds do not move.
 */
#include <string.h>

#include "zdtmtst.h"

#define MAX_AREA 4096

struct area {
	unsigned long long start, end;
	char bytes[MAX_AREA];
};

static int read_area(struct area *a)
{
	if (proc_stat_field(48, &a->start) || proc_stat_field(49, &a->end)) {
		pr_perror("can't read arg_start/arg_end");
		return 1;
	}
	if (a->end <= a->start || a->end - a->start > MAX_AREA) {
		fail("odd argument area %llx-%llx", a->start, a->end);
		return 1;
	}
	memcpy(a->bytes, (void *)(unsigned long)a->start, a->end - a->start);
	return 0;
}

static int check_cmdline(const struct area *a)
{
	char buf[MAX_AREA + 1];
	size_t len = a->end - a->start;
	ssize_t ret;

	ret = read_file("/proc/self/cmdline", buf, sizeof(buf));
	if (ret < 0) {
		pr_perror("read cmdline");
		return 1;
	}
	if ((size_t)ret != len || memcmp(buf, a->bytes, len)) {
		fail("cmdline (%zd bytes) differs from the area (%zu bytes)", ret, len);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct area before, after;
	int i, j;

	test_init(argc, argv);
	/* Same lengths, new letters; the terminating zeroes stay. */
	for (i = 0; i < argc; i++)
		for (j = 0; argv[i][j]; j++)
			argv[i][j] = 'a' + (i * 7 + j) % 26;
	if (read_area(&before) || check_cmdline(&before))
		return 1;

	test_daemon();
	test_waitsig();

	if (read_area(&after))
		return 1;
	if (after.start != before.start || after.end != before.end) {
		fail("argument area moved: %llx-%llx -> %llx-%llx", before.start, before.end,
		     after.start, after.end);
		return 1;
	}
	if (memcmp(after.bytes, before.bytes, before.end - before.start)) {
		fail("argument bytes changed");
		return 1;
	}
	if (check_cmdline(&before))
		return 1;
	pass();
	return 0;
}
