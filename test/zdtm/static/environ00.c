// SPDX-License-Identifier: GPL-2.0-only
/*
 * The environment: the original area rewritten in place (shown by
 * /proc/self/environ) and a variable added with setenv() (which lives
 * on the heap, invisible to /proc).
 */
#include <stdlib.h>
#include <string.h>

#include "zdtmtst.h"

#define MAX_AREA 16384

struct area {
	unsigned long long start, end;
	char bytes[MAX_AREA];
};

static int read_area(struct area *a)
{
	if (proc_stat_field(50, &a->start) || proc_stat_field(51, &a->end)) {
		pr_perror("can't read env_start/env_end");
		return 1;
	}
	if (a->end <= a->start || a->end - a->start > MAX_AREA) {
		fail("odd environment area %llx-%llx", a->start, a->end);
		return 1;
	}
	memcpy(a->bytes, (void *)(unsigned long)a->start, a->end - a->start);
	return 0;
}

static int check_environ(const struct area *a)
{
	char buf[MAX_AREA + 1];
	size_t len = a->end - a->start;
	ssize_t ret;

	ret = read_file("/proc/self/environ", buf, sizeof(buf));
	if (ret < 0) {
		pr_perror("read environ");
		return 1;
	}
	if ((size_t)ret != len || memcmp(buf, a->bytes, len)) {
		fail("environ (%zd bytes) differs from the area (%zu bytes)", ret, len);
		return 1;
	}
	return 0;
}

/* Rewrites every value in place, keeping the names and lengths. */
static void scramble(char **env)
{
	int i, j;

	for (i = 0; env[i]; i++) {
		char *v = strchr(env[i], '=');

		for (j = 0; v && v[j + 1]; j++)
			v[j + 1] = 'A' + (i * 3 + j) % 26;
	}
}

int main(int argc, char **argv)
{
	extern char **environ;
	struct area before, after;
	const char *val;

	test_init(argc, argv);
	if (!environ[0]) {
		fail("the test needs a non-empty environment");
		return 1;
	}
	scramble(environ);
	if (setenv("ZDTM_ADDED", "added-after-exec", 1)) {
		pr_perror("setenv");
		return 1;
	}
	if (read_area(&before) || check_environ(&before))
		return 1;

	test_daemon();
	test_waitsig();

	if (read_area(&after))
		return 1;
	if (after.start != before.start || after.end != before.end) {
		fail("environment area moved: %llx-%llx -> %llx-%llx", before.start, before.end,
		     after.start, after.end);
		return 1;
	}
	if (memcmp(after.bytes, before.bytes, before.end - before.start)) {
		fail("environment bytes changed");
		return 1;
	}
	if (check_environ(&before))
		return 1;
	val = getenv("ZDTM_ADDED");
	if (!val || strcmp(val, "added-after-exec")) {
		fail("setenv()'s variable is now %s", val ? val : "(none)");
		return 1;
	}
	pass();
	return 0;
}
