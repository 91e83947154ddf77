// SPDX-License-Identifier: GPL-2.0-only
/*
 * The task moves its own argument and environment areas into a fresh
 * mapping with one prctl(PR_SET_MM, PR_SET_MM_MAP) call (which needs no
 * CAP_SYS_RESOURCE).  /proc/self/cmdline, environ and the stat fields
 * must show the moved areas before and after.
 */
#include <linux/prctl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

static const char new_args[] = "mm_map\0--moved\0third argument";
static const char new_env[] = "ZDTM_MOVED=yes\0HOME=/nowhere";

static unsigned long long stat_field(int n)
{
	unsigned long long v = 0;

	proc_stat_field(n, &v);
	return v;
}

static int move_areas(char *page)
{
	static uint64_t auxv[64];
	struct prctl_mm_map map = {};
	ssize_t auxv_len;

	auxv_len = read_file("/proc/self/auxv", auxv, sizeof(auxv));
	if (auxv_len <= 0) {
		pr_perror("read auxv");
		return 1;
	}
	map.start_code = stat_field(26);
	map.end_code = stat_field(27);
	map.start_stack = stat_field(28);
	map.start_data = stat_field(45);
	map.end_data = stat_field(46);
	map.start_brk = stat_field(47);
	map.brk = syscall(SYS_brk, 0);
	map.arg_start = (unsigned long)page;
	map.arg_end = map.arg_start + sizeof(new_args);
	map.env_start = (unsigned long)page + 2048;
	map.env_end = map.env_start + sizeof(new_env);
	map.auxv = (__u64 *)auxv;
	map.auxv_size = auxv_len;
	map.exe_fd = -1;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0)) {
		pr_perror("PR_SET_MM_MAP");
		return 1;
	}
	return 0;
}

static int check_file(const char *path, const char *want, size_t len)
{
	char buf[4096];
	ssize_t ret;

	ret = read_file(path, buf, sizeof(buf));
	if (ret < 0) {
		pr_perror("read %s", path);
		return 1;
	}
	if ((size_t)ret != len || memcmp(buf, want, len)) {
		fail("%s has %zd bytes, not the moved %zu", path, ret, len);
		return 1;
	}
	return 0;
}

static int check(char *page)
{
	unsigned long base = (unsigned long)page;

	if (stat_field(48) != base || stat_field(49) != base + sizeof(new_args) ||
	    stat_field(50) != base + 2048 || stat_field(51) != base + 2048 + sizeof(new_env)) {
		fail("stat shows args %llx-%llx env %llx-%llx, page at %lx", stat_field(48),
		     stat_field(49), stat_field(50), stat_field(51), base);
		return 1;
	}
	if (memcmp(page, new_args, sizeof(new_args)) ||
	    memcmp(page + 2048, new_env, sizeof(new_env))) {
		fail("the moved areas' bytes changed");
		return 1;
	}
	return check_file("/proc/self/cmdline", new_args, sizeof(new_args)) ||
	       check_file("/proc/self/environ", new_env, sizeof(new_env));
}

int main(int argc, char **argv)
{
	char *page;

	test_init(argc, argv);
	page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		pr_perror("mmap");
		return 1;
	}
	memcpy(page, new_args, sizeof(new_args));
	memcpy(page + 2048, new_env, sizeof(new_env));
	if (mprotect(page, PAGE_SIZE, PROT_READ)) {
		pr_perror("mprotect");
		return 1;
	}
	if (move_areas(page) || check(page))
		return 1;

	test_daemon();
	test_waitsig();

	if (check(page))
		return 1;
	pass();
	return 0;
}
