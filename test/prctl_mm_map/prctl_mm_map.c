// SPDX-License-Identifier: GPL-2.0-only
/*
 * prctl_mm_map - assert what the running kernel does with
 * prctl(PR_SET_MM, PR_SET_MM_MAP, &map, size, 0).
 *
 * Every check exercises one behaviour and prints one TAP line; the plan
 * comes last.  The expectations depend only on facts the process can see
 * about itself (capabilities, user namespace, rlimits), so the same binary
 * is meaningful as root, inside a user namespace (--userns) and as an
 * unprivileged user.  Documentation/prctl_mm_map.md explains the results.
 *
 * The process changes its own mm bookkeeping in many checks.  Every
 * accepted change is undone at once with a map read back from /proc just
 * before, and nothing between the change and the undo may allocate
 * memory (the brk fields may be wrong meanwhile).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/prctl.h>

#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

#define AUXV_BUF 4096
#define KERNEL_ADDR 0xffff800000000000ULL
#define NO_FD 1000000U /* above any RLIMIT_NOFILE we run with */

typedef unsigned long long u64;

/* ------------------------------------------------------------------ */
/* TAP output; the counters live in shared memory so children can report */

struct tap_count {
	unsigned int n;
	unsigned int failed;
};

static struct tap_count *tap;

static void __attribute__((format(printf, 3, 4)))
tap_result(bool pass, const char *what, const char *fmt, ...)
{
	va_list ap;

	tap->n++;
	if (pass) {
		printf("ok %u - %s\n", tap->n, what);
		return;
	}
	tap->failed++;
	printf("not ok %u - %s: ", tap->n, what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void tap_skip(const char *what, const char *why)
{
	tap->n++;
	printf("ok %u - %s # SKIP %s\n", tap->n, what, why);
}

static void __attribute__((noreturn)) bail(const char *what, int err)
{
	printf("Bail out! %s: %s\n", what, strerror(err));
	exit(2);
}

static const char *err_name(int err)
{
	const char *name;

	if (!err)
		return "0";
	name = strerrorname_np(err);
	return name ? name : "E?";
}

/* want and got are 0 for success or a positive errno value */
static void expect_err(const char *what, int want, int got)
{
	tap_result(want == got, what, "expected %s got %s (%s)", err_name(want), err_name(got),
		   strerror(got));
}

static void expect_val(const char *what, u64 want, u64 got)
{
	tap_result(want == got, what, "expected %llu got %llu", want, got);
}

/* ------------------------------------------------------------------ */
/* What the process can do here */

struct env {
	const char *mode;
	bool init_userns;
	bool cr_cap; /* CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE */
	bool sys_resource; /* CAP_SYS_RESOURCE in the initial userns */
	unsigned long page;
	unsigned long min_addr; /* vm.mmap_min_addr */
};

static struct env env;

static ssize_t read_file(const char *path, void *buf, size_t size)
{
	size_t len = 0;
	ssize_t n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < size) {
		n = read(fd, (char *)buf + len, size - len);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	return n < 0 ? -1 : (ssize_t)len;
}

static int write_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, text, len) != (ssize_t)len)
		ret = errno ? errno : EIO;
	close(fd);
	return ret;
}

static u64 cap_effective(void)
{
	char buf[4096], *p;
	ssize_t n;

	n = read_file("/proc/self/status", buf, sizeof(buf) - 1);
	if (n < 0)
		bail("read /proc/self/status", errno);
	buf[n] = '\0';
	p = strstr(buf, "\nCapEff:");
	if (!p)
		bail("no CapEff in /proc/self/status", EINVAL);
	return strtoull(p + strlen("\nCapEff:"), NULL, 16);
}

static bool in_init_userns(void)
{
	char buf[256];
	unsigned long inside, outside, count;
	ssize_t n;

	n = read_file("/proc/self/uid_map", buf, sizeof(buf) - 1);
	if (n < 0)
		bail("read /proc/self/uid_map", errno);
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu %lu", &inside, &outside, &count) != 3)
		return false;
	return inside == 0 && outside == 0 && count == 4294967295UL;
}

static void env_init(const char *mode)
{
	char buf[64];
	u64 caps = cap_effective();
	ssize_t n;

	env.mode = mode;
	env.init_userns = in_init_userns();
	env.cr_cap = (caps >> CAP_SYS_ADMIN & 1) || (caps >> CAP_CHECKPOINT_RESTORE & 1);
	env.sys_resource = env.init_userns && (caps >> CAP_SYS_RESOURCE & 1);
	env.page = sysconf(_SC_PAGESIZE);
	n = read_file("/proc/sys/vm/mmap_min_addr", buf, sizeof(buf) - 1);
	if (n < 0)
		bail("read /proc/sys/vm/mmap_min_addr", errno);
	buf[n] = '\0';
	env.min_addr = strtoul(buf, NULL, 10);
}

/* errno expected for an exe_fd change that would otherwise give @err */
static int exe_err(int err)
{
	return env.cr_cap ? err : EPERM;
}

/*
 * An exe_fd check: without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE the
 * kernel answers EPERM before it looks at the file, and the name says so.
 */
static void expect_exe(const char *what, int err, int got)
{
	char name[192];
	int want = exe_err(err);

	snprintf(name, sizeof(name), "rule 7: %s %s%s%s", what, want ? "is " : "succeeds",
		 want ? err_name(want) : "",
		 env.cr_cap ? "" : " (no CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE)");
	expect_err(name, want, got);
}

/* ------------------------------------------------------------------ */
/* The mm as /proc shows it */

enum {
	F_START_CODE,
	F_END_CODE,
	F_START_STACK,
	F_START_DATA,
	F_END_DATA,
	F_START_BRK,
	F_ARG_START,
	F_ARG_END,
	F_ENV_START,
	F_ENV_END,
	F_BRK,
	F_NR
};

static const char *const field_name[F_NR] = {
	"start_code", "end_code", "start_stack", "start_data", "end_data", "start_brk",
	"arg_start",  "arg_end",  "env_start",	 "env_end",    "brk",
};

/* /proc/PID/stat field numbers (1-based) of the entries above but brk */
static const int stat_field[F_BRK] = {26, 27, 28, 45, 46, 47, 48, 49, 50, 51};

struct mm_state {
	u64 v[F_NR];
	unsigned char auxv[AUXV_BUF];
	size_t auxv_len;
	dev_t exe_dev;
	ino_t exe_ino;
};

static int read_stat_fields(u64 *v)
{
	char buf[2048], *p;
	int field, i = 0;
	ssize_t n;

	n = read_file("/proc/self/stat", buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2; /* field 3 starts here */
	for (field = 3; i < F_BRK && *p; field++) {
		u64 val = strtoull(p, NULL, 10);

		if (field == stat_field[i])
			v[i++] = val;
		p = strchr(p, ' ');
		if (!p)
			break;
		p++;
	}
	return i == F_BRK ? 0 : -1;
}

/* Reads everything without allocating: safe while brk is out of place */
static int read_state(struct mm_state *s)
{
	struct stat st;
	ssize_t n;

	if (read_stat_fields(s->v))
		return -1;
	s->v[F_BRK] = syscall(SYS_brk, 0UL);
	n = read_file("/proc/self/auxv", s->auxv, sizeof(s->auxv));
	if (n < 0)
		return -1;
	s->auxv_len = n;
	if (stat("/proc/self/exe", &st))
		return -1;
	s->exe_dev = st.st_dev;
	s->exe_ino = st.st_ino;
	return 0;
}

/* Returns true if equal, else describes the first difference in @out */
static bool state_same(const struct mm_state *a, const struct mm_state *b, char *out, size_t len)
{
	int i;

	for (i = 0; i < F_NR; i++) {
		if (a->v[i] != b->v[i]) {
			snprintf(out, len, "%s %#llx -> %#llx", field_name[i], a->v[i], b->v[i]);
			return false;
		}
	}
	if (a->auxv_len != b->auxv_len || memcmp(a->auxv, b->auxv, a->auxv_len)) {
		snprintf(out, len, "auxv changed (%zu -> %zu bytes)", a->auxv_len, b->auxv_len);
		return false;
	}
	if (a->exe_dev != b->exe_dev || a->exe_ino != b->exe_ino) {
		snprintf(out, len, "/proc/self/exe changed");
		return false;
	}
	return true;
}

static void expect_same(const char *what, const struct mm_state *before,
			const struct mm_state *after)
{
	char diff[128];

	tap_result(state_same(before, after, diff, sizeof(diff)), what, "expected unchanged got %s",
		   diff);
}

/* ------------------------------------------------------------------ */
/* Building and applying maps */

static u64 *map_field(struct prctl_mm_map *m, int f)
{
	switch (f) {
	case F_START_CODE:
		return (u64 *)&m->start_code;
	case F_END_CODE:
		return (u64 *)&m->end_code;
	case F_START_STACK:
		return (u64 *)&m->start_stack;
	case F_START_DATA:
		return (u64 *)&m->start_data;
	case F_END_DATA:
		return (u64 *)&m->end_data;
	case F_START_BRK:
		return (u64 *)&m->start_brk;
	case F_ARG_START:
		return (u64 *)&m->arg_start;
	case F_ARG_END:
		return (u64 *)&m->arg_end;
	case F_ENV_START:
		return (u64 *)&m->env_start;
	case F_ENV_END:
		return (u64 *)&m->env_end;
	default:
		return (u64 *)&m->brk;
	}
}

/* A map that restates what the process has now; @s must outlive it */
static void own_map(struct prctl_mm_map *m, struct mm_state *s)
{
	int f;

	if (read_state(s))
		bail("read own mm state", errno);
	memset(m, 0, sizeof(*m));
	for (f = 0; f < F_NR; f++)
		*map_field(m, f) = s->v[f];
	m->auxv = (__u64 *)s->auxv;
	m->auxv_size = s->auxv_len;
	m->exe_fd = -1;
}

static int mm_map_raw(const void *m, unsigned long size, unsigned long arg5)
{
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)m, size, arg5))
		return errno;
	return 0;
}

static int set_map(const struct prctl_mm_map *m)
{
	return mm_map_raw(m, sizeof(*m), 0);
}

/*
 * Applies @m; if the kernel took it, reads the result into @seen (may be
 * NULL) and puts @orig back before anything can allocate.
 */
static int try_map(const struct prctl_mm_map *m, const struct prctl_mm_map *orig,
		   struct mm_state *seen)
{
	int err = set_map(m);

	if (err)
		return err;
	if (seen && read_state(seen))
		seen->v[0] = 0;
	if (set_map(orig))
		bail("cannot put the original map back", errno);
	return 0;
}

/* Some address that nothing maps */
static unsigned long unmapped_hole(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bail("mmap", errno);
	munmap(p, len);
	return (unsigned long)p;
}

static void flush_all(void)
{
	fflush(stdout);
	fflush(stderr);
}

/* Runs @fn in a child that shares the TAP counters; reports if it dies */
static void run_child(const char *what, void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	flush_all();
	pid = fork();
	if (pid < 0)
		bail("fork", errno);
	if (pid == 0) {
		fn(arg);
		flush_all();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		bail("waitpid", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		tap_result(false, what, "expected exit 0 got status %#x", status);
}

/* ------------------------------------------------------------------ */
/* The call itself: size query, size argument, arg5 */

static void check_size_query(void)
{
	unsigned int size = 0;
	int err = 0;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0))
		err = errno;
	expect_err("PR_SET_MM_MAP_SIZE succeeds", 0, err);
	expect_val("PR_SET_MM_MAP_SIZE reports sizeof(struct prctl_mm_map) (104 on x86_64)",
		   sizeof(struct prctl_mm_map), size);

	err = 0;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)unmapped_hole(env.page), 0, 0))
		err = errno;
	expect_err("PR_SET_MM_MAP_SIZE into an unmapped address is EFAULT", EFAULT, err);

	err = 0;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 1))
		err = errno;
	expect_err("PR_SET_MM_MAP_SIZE with arg5 != 0 is EINVAL", EINVAL, err);
}

static void check_size_arg(void)
{
	/* Room for a larger struct so a bigger size cannot fault */
	static union {
		struct prctl_mm_map m;
		char pad[2 * sizeof(struct prctl_mm_map)];
	} big;
	struct mm_state s;
	size_t size = sizeof(big.m);

	own_map(&big.m, &s);
	expect_err("map with size sizeof - 8 is EINVAL", EINVAL, mm_map_raw(&big, size - 8, 0));
	expect_err("map with size sizeof + 8 is EINVAL", EINVAL, mm_map_raw(&big, size + 8, 0));
	expect_err("map with size 0 is EINVAL", EINVAL, mm_map_raw(&big, 0, 0));
	expect_err("map with arg5 != 0 is EINVAL", EINVAL, mm_map_raw(&big, size, 1));
	expect_err("map at an unmapped address is EFAULT", EFAULT,
		   mm_map_raw((void *)unmapped_hole(env.page), size, 0));
}

/* ------------------------------------------------------------------ */
/* The process's own values */

static void check_own_map(void)
{
	struct prctl_mm_map m;
	struct mm_state before, after;
	int err;

	own_map(&m, &before);
	err = set_map(&m);
	if (read_state(&after))
		bail("read own mm state", errno);
	expect_err("map of the process's own values is accepted", 0, err);
	expect_same("own map is a no-op (/proc/self/stat, brk, auxv, exe)", &before, &after);
}

/* ------------------------------------------------------------------ */
/* Rule 1: every address in [mmap_min_addr, TASK_SIZE) */

static bool is_end_field(int f)
{
	return f == F_END_CODE || f == F_END_DATA || f == F_BRK || f == F_ARG_END || f == F_ENV_END;
}

static void check_range_one(int f)
{
	struct prctl_mm_map m, orig;
	struct mm_state s;
	char what[128];
	u64 bad;

	/*
	 * A start member goes to 0 and an end member to a kernel address,
	 * so that the pair stays ordered and only the range rule is broken.
	 */
	bad = is_end_field(f) ? KERNEL_ADDR : 0;
	own_map(&orig, &s);
	m = orig;
	*map_field(&m, f) = bad;
	snprintf(what, sizeof(what), "rule 1: %s = %#llx is EINVAL", field_name[f], bad);
	expect_err(what, EINVAL, try_map(&m, &orig, NULL));
}

static bool accepts(int f, u64 val)
{
	struct prctl_mm_map m, orig;
	struct mm_state s;

	own_map(&orig, &s);
	m = orig;
	*map_field(&m, f) = val;
	return !try_map(&m, &orig, NULL);
}

/*
 * Binary search between @lo, whose verdict is @lo_ok, and @hi, whose
 * verdict is the other one; returns the first value with @hi's verdict.
 */
static u64 boundary(int f, u64 lo, u64 hi, bool lo_ok)
{
	while (hi - lo > 1) {
		u64 mid = lo + (hi - lo) / 2;

		if (accepts(f, mid) == lo_ok)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static bool cpu_has_la57(void)
{
	static char buf[65536];
	ssize_t n = read_file("/proc/cpuinfo", buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, " la57") != NULL;
}

/*
 * The floor is the kernel's mmap_min_addr, which is the larger of the
 * vm.mmap_min_addr sysctl and CONFIG_LSM_MMAP_MIN_ADDR: the sysctl alone
 * does not tell it.  The ceiling is TASK_SIZE.  Both are measured.
 */
static void check_range_bounds(void)
{
	struct prctl_mm_map m, orig;
	struct mm_state s;
	char what[160];
	u64 floor, ceil, task_size;

	own_map(&orig, &s);
	m = orig;
	if (env.min_addr) {
		m.start_stack = env.min_addr - 1;
		snprintf(what, sizeof(what),
			 "rule 1: start_stack = vm.mmap_min_addr - 1 (%#lx) is EINVAL",
			 env.min_addr - 1);
		expect_err(what, EINVAL, try_map(&m, &orig, NULL));
		m = orig;
	}
	floor = boundary(F_START_STACK, env.min_addr ? env.min_addr - 1 : 0, m.start_stack, false);
	snprintf(what, sizeof(what),
		 "rule 1: lowest address accepted (%#llx) is not below vm.mmap_min_addr (%#lx)",
		 floor, env.min_addr);
	tap_result(floor >= env.min_addr, what, "expected >= %#lx got %#llx", env.min_addr, floor);

	task_size = (1ULL << (cpu_has_la57() ? 56 : 47)) - env.page;
	ceil = boundary(F_ENV_END, m.env_end, KERNEL_ADDR, true);
	snprintf(what, sizeof(what),
		 "rule 1: lowest address rejected at the top is TASK_SIZE (%#llx)", task_size);
	tap_result(ceil == task_size, what, "expected %#llx got %#llx", task_size, ceil);
}

static void check_range(void)
{
	int f;

	for (f = 0; f < F_NR; f++)
		check_range_one(f);
	check_range_bounds();
}

/* ------------------------------------------------------------------ */
/* Rule 2: members need not lie in a VMA */

static void check_no_vma(void)
{
	struct prctl_mm_map m, orig;
	struct mm_state s, seen;
	unsigned long hole = unmapped_hole(4 * env.page);
	bool shown;
	int err;

	own_map(&orig, &s);
	m = orig;
	m.start_code = hole;
	m.end_code = hole + env.page;
	m.start_brk = m.brk = hole + env.page;
	m.arg_start = m.arg_end = hole + 2 * env.page;
	m.env_start = m.env_end = hole + 2 * env.page;
	m.start_stack = hole + 3 * env.page;
	err = try_map(&m, &orig, &seen);
	expect_err("rule 2: code, brk, stack, arg, env all in an unmapped hole are accepted", 0,
		   err);
	if (err)
		return;
	shown = seen.v[F_START_CODE] == m.start_code && seen.v[F_START_BRK] == m.start_brk &&
		seen.v[F_START_STACK] == m.start_stack && seen.v[F_ARG_START] == m.arg_start &&
		seen.v[F_ENV_END] == m.env_end;
	tap_result(shown, "rule 2: /proc/self/stat shows the hole addresses",
		   "expected start_stack %#llx got %#llx", m.start_stack, seen.v[F_START_STACK]);
}

/* ------------------------------------------------------------------ */
/* Rule 3: pairs ordered */

struct pair {
	const char *name;
	int start, end;
	bool strict;
};

static const struct pair pairs[] = {
	{"code", F_START_CODE, F_END_CODE, true}, {"data", F_START_DATA, F_END_DATA, false},
	{"brk", F_START_BRK, F_BRK, false},	  {"arg", F_ARG_START, F_ARG_END, false},
	{"env", F_ENV_START, F_ENV_END, false},
};

static void check_order_pair(const struct pair *p)
{
	struct prctl_mm_map m, orig;
	struct mm_state s;
	char what[128];

	own_map(&orig, &s);
	m = orig;
	*map_field(&m, p->start) = *map_field(&m, p->end) + env.page;
	snprintf(what, sizeof(what), "rule 3: %s start > end is EINVAL", p->name);
	expect_err(what, EINVAL, try_map(&m, &orig, NULL));

	m = orig;
	*map_field(&m, p->end) = *map_field(&m, p->start);
	snprintf(what, sizeof(what), "rule 3: %s start == end is %s", p->name,
		 p->strict ? "EINVAL" : "accepted");
	expect_err(what, p->strict ? EINVAL : 0, try_map(&m, &orig, NULL));
}

static void check_order(void)
{
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		check_order_pair(&pairs[i]);
}

/* ------------------------------------------------------------------ */
/* Rule 4: brk against end_data (dropped since 5.15) */

static void check_brk_vs_data(void)
{
	struct prctl_mm_map m, orig;
	struct mm_state s;

	own_map(&orig, &s);
	m = orig;
	m.start_brk = m.brk = m.end_data;
	expect_err("rule 4: start_brk == brk == end_data is accepted", 0, try_map(&m, &orig, NULL));

	m = orig;
	m.start_brk = m.brk = m.start_code;
	expect_err("rule 4: start_brk == brk below start_data is accepted", 0,
		   try_map(&m, &orig, NULL));
}

/* ------------------------------------------------------------------ */
/* Rule 5: RLIMIT_DATA (and no longer RLIMIT_STACK) */

static int map_under_limit(int resource, rlim_t soft, const struct prctl_mm_map *m,
			   const struct prctl_mm_map *orig)
{
	struct rlimit old, lim;
	int err;

	if (getrlimit(resource, &old))
		bail("getrlimit", errno);
	lim = old;
	lim.rlim_cur = soft;
	if (setrlimit(resource, &lim))
		bail("setrlimit (lower soft limit)", errno);
	err = set_map(m);
	if (setrlimit(resource, &old))
		bail("setrlimit (put the soft limit back)", errno);
	if (!err && set_map(orig))
		bail("cannot put the original map back", errno);
	return err;
}

static void check_rlimit_data(void)
{
	struct prctl_mm_map m, orig;
	struct mm_state s;
	struct rlimit old;
	u64 total;

	own_map(&orig, &s);
	m = orig;
	m.brk = m.brk + 2 * env.page;
	total = (m.brk - m.start_brk) + (m.end_data - m.start_data);
	if (getrlimit(RLIMIT_DATA, &old))
		bail("getrlimit", errno);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < total) {
		tap_skip("rule 5: brk + data equal to RLIMIT_DATA is accepted",
			 "hard RLIMIT_DATA too low");
		tap_skip("rule 5: brk + data one byte over RLIMIT_DATA is EINVAL",
			 "hard RLIMIT_DATA too low");
	} else {
		expect_err("rule 5: (brk - start_brk) + (end_data - start_data) == RLIMIT_DATA is "
			   "accepted",
			   0, map_under_limit(RLIMIT_DATA, total, &m, &orig));
		expect_err("rule 5: (brk - start_brk) + (end_data - start_data) == RLIMIT_DATA + 1 "
			   "is EINVAL",
			   EINVAL, map_under_limit(RLIMIT_DATA, total - 1, &m, &orig));
	}

	m = orig;
	m.brk = m.start_brk + (1ULL << 40);
	if (old.rlim_cur == RLIM_INFINITY)
		expect_err("rule 5: a 1 TiB brk area is accepted under an infinite RLIMIT_DATA", 0,
			   try_map(&m, &orig, NULL));
	else
		tap_skip("rule 5: a 1 TiB brk area is accepted under an infinite RLIMIT_DATA",
			 "RLIMIT_DATA is finite");
}

static void stack_limit_child(void *arg)
{
	struct prctl_mm_map m;
	struct mm_state s;

	(void)arg;
	own_map(&m, &s);
	expect_err("rule 5: RLIMIT_STACK is not checked (own map accepted under a one-page stack "
		   "limit)",
		   0, map_under_limit(RLIMIT_STACK, env.page, &m, &m));
}

/* ------------------------------------------------------------------ */
/* Rule 6: auxv */

static int map_with_auxv(const void *auxv, size_t size, struct mm_state *seen)
{
	struct prctl_mm_map m, orig;
	struct mm_state s;

	own_map(&orig, &s);
	m = orig;
	m.auxv = (__u64 *)auxv;
	m.auxv_size = size;
	return try_map(&m, &orig, seen);
}

/* The largest auxv_size accepted, probing in words with zero padding */
static size_t probe_auxv_limit(void)
{
	static unsigned char buf[AUXV_BUF];
	struct mm_state s;
	size_t size;

	if (read_state(&s))
		bail("read own mm state", errno);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, s.auxv, s.auxv_len);
	for (size = s.auxv_len; size + 8 <= sizeof(buf); size += 8) {
		if (map_with_auxv(buf, size + 8, NULL))
			break;
	}
	return size;
}

static void check_auxv_size(size_t *limit)
{
	static unsigned char buf[AUXV_BUF];
	struct mm_state s;
	char what[128];
	long got;
	int err = 0;

	if (read_state(&s))
		bail("read own mm state", errno);
	got = prctl(PR_GET_AUXV, (unsigned long)buf, sizeof(buf), 0, 0);
	if (got < 0)
		err = errno;
	expect_err("PR_GET_AUXV succeeds", 0, err);
	tap_result(got >= (long)s.auxv_len && !memcmp(buf, s.auxv, s.auxv_len),
		   "PR_GET_AUXV returns the bytes of /proc/self/auxv",
		   "expected %zu matching bytes got %ld", s.auxv_len, got);

	*limit = probe_auxv_limit();
	snprintf(what, sizeof(what),
		 "rule 6: largest auxv_size accepted (%zu) equals PR_GET_AUXV's size", *limit);
	expect_val(what, got, *limit);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, s.auxv, s.auxv_len);
	expect_err("rule 6: auxv_size = limit + 1 is EINVAL", EINVAL,
		   map_with_auxv(buf, *limit + 1, NULL));
	expect_err("rule 6: auxv_size = limit + 8 is EINVAL", EINVAL,
		   map_with_auxv(buf, *limit + 8, NULL));
}

static void check_auxv_null(void)
{
	struct mm_state before, after;
	int err;

	if (read_state(&before))
		bail("read own mm state", errno);
	err = map_with_auxv(NULL, 0, NULL);
	expect_err("rule 6: auxv = NULL with auxv_size = 0 is accepted", 0, err);
	if (read_state(&after))
		bail("read own mm state", errno);
	tap_result(after.auxv_len == before.auxv_len &&
			   !memcmp(after.auxv, before.auxv, before.auxv_len),
		   "rule 6: auxv_size = 0 leaves /proc/self/auxv alone",
		   "expected %zu bytes unchanged got %zu", before.auxv_len, after.auxv_len);
	expect_err("rule 6: auxv = 0x1 with auxv_size = 0 is accepted (pointer ignored)", 0,
		   map_with_auxv((void *)1, 0, NULL));
	expect_err("rule 6: auxv = NULL with auxv_size = 16 is EINVAL", EINVAL,
		   map_with_auxv(NULL, 16, NULL));
	expect_err("rule 6: unreadable auxv pointer is EFAULT", EFAULT,
		   map_with_auxv((void *)unmapped_hole(env.page), 16, NULL));
}

static void check_auxv_forced_null(size_t limit)
{
	static u64 words[AUXV_BUF / 8];
	static const u64 zero[2];
	struct mm_state seen;
	size_t i, n = limit / 8;
	bool good;
	int err;

	/* Every pair non-null: the vector has no terminator of its own */
	for (i = 0; i + 1 < n; i += 2) {
		words[i] = 0x1000 + i;
		words[i + 1] = 0xa5a5000000000000ULL | i;
	}
	err = map_with_auxv(words, limit, &seen);
	expect_err("rule 6: full-size auxv without AT_NULL is accepted", 0, err);
	if (err)
		return;
	good = seen.auxv_len == limit && !memcmp(seen.auxv, words, limit - 16) &&
	       !memcmp(seen.auxv + limit - 16, zero, 16);
	tap_result(good, "rule 6: kernel forces the last pair to AT_NULL",
		   "expected %zu bytes ending in 16 zero bytes got %zu bytes", limit,
		   seen.auxv_len);
}

static void check_auxv_replace(void)
{
	static const u64 one_pair[2] = {6 /* AT_PAGESZ */, 4096};
	static const u64 want[4] = {6, 4096, 0, 0};
	struct mm_state orig, seen, after;
	int err;

	if (read_state(&orig))
		bail("read own mm state", errno);
	err = map_with_auxv(one_pair, sizeof(one_pair), &seen);
	expect_err("rule 6: a one-pair auxv is accepted", 0, err);
	if (!err)
		tap_result(seen.auxv_len == sizeof(want) && !memcmp(seen.auxv, want, sizeof(want)),
			   "rule 6: a short auxv replaces the whole vector (one pair + AT_NULL)",
			   "expected %zu bytes got %zu", sizeof(want), seen.auxv_len);
	if (read_state(&after))
		bail("read own mm state", errno);
	expect_same("rule 6: the original auxv is back after each change", &orig, &after);
}

/* ------------------------------------------------------------------ */
/* Rule 7: exe_fd */

static int map_with_exe(int fd)
{
	struct prctl_mm_map m;
	struct mm_state s;

	own_map(&m, &s);
	m.exe_fd = fd;
	return set_map(&m);
}

static int open_or_bail(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		bail(path, errno);
	return fd;
}

static bool exe_is_fd(int fd)
{
	struct stat a, b;

	if (stat("/proc/self/exe", &a) || fstat(fd, &b))
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void check_exe_mapped(void)
{
	struct mm_state before, after;
	int fd, err;

	if (read_state(&before))
		bail("read own mm state", errno);
	expect_err("rule 7: exe_fd = -1 is accepted", 0, map_with_exe(-1));
	if (read_state(&after))
		bail("read own mm state", errno);
	tap_result(before.exe_dev == after.exe_dev && before.exe_ino == after.exe_ino,
		   "rule 7: exe_fd = -1 leaves /proc/self/exe", "expected same exe got another");

	expect_exe("exe_fd not open", EBADF, map_with_exe(NO_FD));

	fd = open_or_bail("/bin/true", O_PATH);
	expect_exe("O_PATH exe_fd", EBADF, map_with_exe(fd));
	close(fd);

	fd = open_or_bail("/", O_RDONLY | O_DIRECTORY);
	expect_exe("directory exe_fd", EACCES, map_with_exe(fd));
	close(fd);

	fd = open_or_bail("/etc/passwd", O_RDONLY);
	expect_exe("non-executable (0644) file exe_fd", EACCES, map_with_exe(fd));
	close(fd);

	fd = open_or_bail("/bin/true", O_RDONLY);
	err = map_with_exe(fd);
	expect_exe("executable exe_fd while the old exe is mapped", EBUSY, err);
	close(fd);

	fd = open_or_bail("/proc/self/exe", O_RDONLY);
	expect_exe("the same exe again while it is mapped", EBUSY, map_with_exe(fd));
	close(fd);
}

/* noexec mount: needs a private mount namespace, so it runs in a child */
static void noexec_child(void *arg)
{
	const char *dir = arg;
	const char *what = "rule 7: executable file on a noexec mount";
	char path[PATH_MAX];
	int fd;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", dir, "tmpfs", MS_NOEXEC, "mode=0755")) {
		tap_skip(what, "cannot mount a noexec tmpfs here");
		return;
	}
	snprintf(path, sizeof(path), "%s/exe", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
	if (fd < 0)
		bail(path, errno);
	close(fd);
	fd = open_or_bail(path, O_RDONLY);
	expect_exe("executable file on a noexec mount", EACCES, map_with_exe(fd));
	close(fd);
}

static void check_exe_noexec(void)
{
	char dir[] = "/tmp/prctl_mm_map.XXXXXX";

	if (!mkdtemp(dir))
		bail("mkdtemp", errno);
	run_child("rule 7: noexec child", noexec_child, dir);
	rmdir(dir);
}

/*
 * The old exe must not be mapped for exe_fd to change.  A child can get
 * there while still running its code: it copies every VMA of its
 * executable into anonymous memory of the same protection and mremaps
 * the copy over the original.  The bytes stay the same, the file is gone
 * from the address space.
 */
struct vma {
	unsigned long start, end;
	int prot;
};

#define MAX_EXE_VMAS 32

static int exe_vmas(struct vma *v, int max)
{
	char exe[PATH_MAX], buf[65536], *line, *save = NULL;
	ssize_t n;
	int nr = 0;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	n = read_file("/proc/self/maps", buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char perms[5], *path = strchr(line, '/');

		if (!path || strcmp(path, exe) || nr == max)
			continue;
		if (sscanf(line, "%lx-%lx %4s", &v[nr].start, &v[nr].end, perms) != 3)
			return -1;
		v[nr].prot = (perms[0] == 'r' ? PROT_READ : 0) |
			     (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
		nr++;
	}
	return nr;
}

static int vma_to_anon(const struct vma *v)
{
	size_t len = v->end - v->start;
	void *copy;

	copy = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED)
		return -1;
	if (v->prot & PROT_READ)
		memcpy(copy, (void *)v->start, len);
	if (mprotect(copy, len, v->prot))
		goto err;
	if (mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)v->start) == MAP_FAILED)
		goto err;
	return 0;
err:
	munmap(copy, len);
	return -1;
}

static int unmap_own_exe(void)
{
	struct vma v[MAX_EXE_VMAS];
	int i, nr;

	nr = exe_vmas(v, MAX_EXE_VMAS);
	if (nr < 0)
		return -1;
	for (i = 0; i < nr; i++) {
		if (vma_to_anon(&v[i]))
			return -1;
	}
	return exe_vmas(v, MAX_EXE_VMAS);
}

struct exe_files {
	char path[PATH_MAX]; /* a fresh executable file */
};

static void exe_swap_rest(const struct exe_files *f)
{
	int rw, ro, fd, err;

	rw = open_or_bail(f->path, O_RDWR);
	ro = open_or_bail(f->path, O_RDONLY);
	expect_exe("exe_fd of a file open for writing elsewhere", EACCES, map_with_exe(ro));
	close(rw);

	err = map_with_exe(ro);
	expect_exe("exe_fd change once the old exe is unmapped", 0, err);
	if (err) {
		close(ro);
		return;
	}
	tap_result(exe_is_fd(ro), "rule 7: /proc/self/exe is the new file",
		   "expected the new file got another");
	fd = open(f->path, O_WRONLY | O_CLOEXEC);
	expect_err("rule 7: the new exe cannot be opened for writing", ETXTBSY, fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	close(ro);

	fd = open_or_bail("/bin/true", O_RDONLY);
	err = map_with_exe(fd);
	expect_err("rule 7: a second change succeeds (no one-shot limit)", 0, err);
	tap_result(!err && exe_is_fd(fd), "rule 7: /proc/self/exe follows the second change",
		   "expected /bin/true got another");
	close(fd);
}

static void exe_swap_child(void *arg)
{
	int left = unmap_own_exe();

	expect_val("rule 7: child maps nothing of its exe after moving it to anonymous memory", 0,
		   left);
	if (left)
		return;
	exe_swap_rest(arg);
}

static void check_exe_swap(void)
{
	struct exe_files f;
	static const char body[] = "#!/bin/true\n";
	int fd;

	snprintf(f.path, sizeof(f.path), "/tmp/prctl_mm_map-exe.XXXXXX");
	fd = mkstemp(f.path);
	if (fd < 0)
		bail("mkstemp", errno);
	if (write(fd, body, sizeof(body) - 1) != (ssize_t)sizeof(body) - 1 || fchmod(fd, 0755))
		bail("prepare temporary exe", errno);
	close(fd);
	run_child("rule 7: exe swap child", exe_swap_child, &f);
	unlink(f.path);
}

/* ------------------------------------------------------------------ */
/* Without capabilities: the map works, exe_fd and legacy calls do not */

static int drop_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return syscall(SYS_capset, &hdr, data);
}

static void nocaps_child(void *arg)
{
	struct prctl_mm_map m;
	struct mm_state s;
	char what[128];
	int fd;

	(void)arg;
	if (drop_caps())
		bail("capset", errno);
	env.cr_cap = false;
	env.sys_resource = false;
	tap_result(cap_effective() == 0, "no caps: capset emptied CapEff", "expected 0 got %#llx",
		   cap_effective());
	own_map(&m, &s);
	expect_err("no caps: own map is accepted", 0, set_map(&m));
	fd = open_or_bail("/bin/true", O_RDONLY);
	snprintf(what, sizeof(what), "no caps: exe_fd change is EPERM (uid %u)", getuid());
	expect_err(what, EPERM, map_with_exe(fd));
	close(fd);
	expect_err("no caps: legacy PR_SET_MM_START_BRK is EPERM", EPERM,
		   prctl(PR_SET_MM, PR_SET_MM_START_BRK, (unsigned long)m.start_brk, 0, 0) ? errno
											   : 0);
}

/* ------------------------------------------------------------------ */
/* A rejected call changes nothing */

static void check_failed_call(void)
{
	static const u64 new_auxv[2] = {6, 4096};
	struct prctl_mm_map m;
	struct mm_state s, before, after;
	char what[128];
	int fd;

	own_map(&m, &s);
	m.start_stack = unmapped_hole(env.page);
	m.auxv = (__u64 *)unmapped_hole(env.page);
	m.auxv_size = 16;
	if (read_state(&before))
		bail("read own mm state", errno);
	expect_err("failed call: new start_stack with an unreadable auxv is EFAULT", EFAULT,
		   set_map(&m));
	if (read_state(&after))
		bail("read own mm state", errno);
	expect_same("failed call: EFAULT on auxv changed nothing", &before, &after);

	fd = open_or_bail("/", O_RDONLY | O_DIRECTORY);
	m.auxv = (__u64 *)new_auxv;
	m.exe_fd = fd;
	snprintf(what, sizeof(what),
		 "failed call: new start_stack and auxv with a directory exe_fd is %s",
		 err_name(exe_err(EACCES)));
	expect_err(what, exe_err(EACCES), set_map(&m));
	close(fd);
	if (read_state(&after))
		bail("read own mm state", errno);
	expect_same("failed call: exe_fd failure changed neither stat nor auxv", &before, &after);
}

/* ------------------------------------------------------------------ */
/* The legacy per-field interface */

static void check_legacy(void)
{
	struct mm_state s;
	char what[160];
	int want = env.sys_resource ? 0 : EPERM;
	int err;

	if (read_state(&s))
		bail("read own mm state", errno);
	snprintf(what, sizeof(what),
		 "legacy PR_SET_MM_START_BRK (same value) is %s %s CAP_SYS_RESOURCE in the initial "
		 "userns",
		 err_name(want), env.sys_resource ? "with" : "without");
	err = prctl(PR_SET_MM, PR_SET_MM_START_BRK, (unsigned long)s.v[F_START_BRK], 0, 0) ? errno
											   : 0;
	expect_err(what, want, err);

	snprintf(what, sizeof(what),
		 "legacy PR_SET_MM_AUXV (same vector) is %s %s CAP_SYS_RESOURCE in the initial "
		 "userns",
		 err_name(want), env.sys_resource ? "with" : "without");
	err = prctl(PR_SET_MM, PR_SET_MM_AUXV, (unsigned long)s.auxv, s.auxv_len, 0) ? errno : 0;
	expect_err(what, want, err);
}

/* ------------------------------------------------------------------ */

static void run_checks(void)
{
	size_t auxv_limit;

	printf("# mode=%s uid=%u init_userns=%s cr_cap=%s sys_resource=%s mmap_min_addr=%lu\n",
	       env.mode, getuid(), env.init_userns ? "yes" : "no", env.cr_cap ? "yes" : "no",
	       env.sys_resource ? "yes" : "no", env.min_addr);
	check_size_query();
	check_size_arg();
	check_own_map();
	check_range();
	check_no_vma();
	check_order();
	check_brk_vs_data();
	check_rlimit_data();
	run_child("rule 5: stack limit child", stack_limit_child, NULL);
	check_auxv_size(&auxv_limit);
	check_auxv_null();
	check_auxv_forced_null(auxv_limit);
	check_auxv_replace();
	check_exe_mapped();
	check_exe_noexec();
	check_exe_swap();
	check_failed_call();
	check_legacy();
	run_child("no caps child", nocaps_child, NULL);
	printf("1..%u\n", tap->n);
}

/*
 * --userns: a child unshares its user namespace, the parent maps root in
 * it to our own uid and gid (setgroups denied), and the child re-executes
 * this program there, where it holds every capability of that namespace.
 */
static int write_id_maps(pid_t pid)
{
	char path[64], map[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
	err = write_file(path, "deny");
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	snprintf(map, sizeof(map), "0 %u 1\n", geteuid());
	err = write_file(path, map);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", pid);
	snprintf(map, sizeof(map), "0 %u 1\n", getegid());
	return write_file(path, map);
}

static void __attribute__((noreturn)) userns_child(int up, int down)
{
	char *argv[] = {"prctl_mm_map", "--in-userns", NULL};
	int err = unshare(CLONE_NEWUSER) ? errno : 0;
	char c;

	if (write(up, &err, sizeof(err)) != (ssize_t)sizeof(err) || err)
		_exit(3);
	if (read(down, &c, 1) != 1)
		_exit(3);
	execv("/proc/self/exe", argv);
	printf("Bail out! exec in the user namespace: %s\n", strerror(errno));
	_exit(2);
}

static int run_userns(void)
{
	int up[2], down[2], err = 0, status;
	pid_t pid;

	if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC))
		bail("pipe", errno);
	flush_all();
	pid = fork();
	if (pid < 0)
		bail("fork", errno);
	if (pid == 0)
		userns_child(up[1], down[0]);
	if (read(up[0], &err, sizeof(err)) != (ssize_t)sizeof(err))
		bail("user namespace child", EIO);
	if (err) {
		printf("1..0 # SKIP unshare(CLONE_NEWUSER): %s\n", strerror(err));
		waitpid(pid, NULL, 0);
		return 0;
	}
	err = write_id_maps(pid);
	if (err) {
		kill(pid, SIGKILL);
		bail("write uid_map/gid_map", err);
	}
	if (write(down[1], "x", 1) != 1)
		bail("wake user namespace child", errno);
	if (waitpid(pid, &status, 0) != pid)
		bail("waitpid", errno);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

static void usage(void)
{
	fprintf(stderr, "usage: prctl_mm_map [--userns]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	const char *mode = "host";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2)
		usage();
	if (argc == 2 && !strcmp(argv[1], "--userns"))
		return run_userns();
	if (argc == 2 && strcmp(argv[1], "--in-userns"))
		usage();
	if (argc == 2)
		mode = "userns";

	tap = mmap(NULL, sizeof(*tap), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tap == MAP_FAILED)
		bail("mmap", errno);
	env_init(mode);
	run_checks();
	return tap->failed ? 1 : 0;
}
