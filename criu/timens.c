// SPDX-License-Identifier: GPL-2.0
/*
 * Time namespaces.  As in CRIU, timens-ID.img holds what CLOCK_MONOTONIC
 * and CLOCK_BOOTTIME read in the tree's own time namespace at the dump,
 * and timens-0.img what they read in criu's.  At restore the root makes
 * a new namespace whose offsets give the tree those clocks back.
 * /proc/PID/timens_offsets shows the namespace of PID's future children,
 * which for the tree's root and for criu is their own.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "namespaces.h"
#include "timens.pb-c.h"

#define NSEC_PER_SEC 1000000000LL

struct clocks {
	int64_t mono, boot; /* ns */
};

static struct clocks dump_criu_clocks;
static bool dump_clocks_taken;

static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int read_offsets(const char *path, struct clocks *off)
{
	char *buf, *line, *save;

	off->mono = off->boot = 0;
	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32];
		long long sec;
		long nsec;

		if (sscanf(line, "%31s %lld %ld", name, &sec, &nsec) != 3)
			continue;
		if (!strcmp(name, "monotonic") || !strcmp(name, "1"))
			off->mono = sec * NSEC_PER_SEC + nsec;
		else if (!strcmp(name, "boottime") || !strcmp(name, "7"))
			off->boot = sec * NSEC_PER_SEC + nsec;
	}
	free(buf);
	return 0;
}

static void take_dump_clocks(void)
{
	if (dump_clocks_taken)
		return;
	dump_criu_clocks.mono = clock_ns(CLOCK_MONOTONIC);
	dump_criu_clocks.boot = clock_ns(CLOCK_BOOTTIME);
	dump_clocks_taken = true;
}

static int write_clocks(const struct clocks *c, unsigned long id)
{
	TimensEntry te = TIMENS_ENTRY__INIT;
	Timespec mono = TIMESPEC__INIT, boot = TIMESPEC__INIT;

	mono.tv_sec = c->mono / NSEC_PER_SEC;
	mono.tv_nsec = c->mono % NSEC_PER_SEC;
	boot.tv_sec = c->boot / NSEC_PER_SEC;
	boot.tv_nsec = c->boot % NSEC_PER_SEC;
	te.monotonic = &mono;
	te.boottime = &boot;
	pr_info("timens-%lu.img: monotonic %lld ns, boottime %lld ns\n", id, (long long)c->mono,
		(long long)c->boot);
	return pb_write_image(CR_FD_TIMENS, &te.base, id);
}

/* The clocks of pid's time namespace: criu's, moved by the offsets' difference. */
int dump_tree_timens(pid_t pid, unsigned long id)
{
	struct clocks mine, theirs, c;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/timens_offsets", pid);
	if (read_offsets("/proc/self/timens_offsets", &mine) || read_offsets(path, &theirs))
		return -1;
	take_dump_clocks();
	c.mono = dump_criu_clocks.mono - mine.mono + theirs.mono;
	c.boot = dump_criu_clocks.boot - mine.boot + theirs.boot;
	return write_clocks(&c, id);
}

/* timens_offsets shows the namespace for children: it must be the root's own */
int check_time_for_children(pid_t pid)
{
	char a[64], b[64];
	struct stat own, children;

	snprintf(a, sizeof(a), "/proc/%d/ns/time", pid);
	snprintf(b, sizeof(b), "/proc/%d/ns/time_for_children", pid);
	if (stat(a, &own) || stat(b, &children)) {
		pr_perror("cannot stat %s or %s", a, b);
		return -1;
	}
	if (own.st_ino != children.st_ino) {
		pr_err("unsupported: pid %d made a time namespace for its children\n", pid);
		return -1;
	}
	return 0;
}

int dump_timens(pid_t pid)
{
	(void)pid;
	take_dump_clocks();
	return write_clocks(&dump_criu_clocks, 0);
}

/* ---- restore ---- */

static TimensEntry *rst_timens, *rst_criu_clocks;

int prepare_timens(u32 id)
{
	if (pb_read_image(CR_FD_TIMENS, O_RSTR, (void **)&rst_timens, &timens_entry__descriptor,
			  id) <= 0) {
		pr_err("no clocks in timens-%u.img\n", id);
		return -1;
	}
	/* absent from CRIU's images of a tree with its own time namespace */
	return pb_read_image(CR_FD_TIMENS, O_RSTR | O_OPT, (void **)&rst_criu_clocks,
			     &timens_entry__descriptor, 0) < 0
		       ? -1
		       : 0;
}

static int64_t ts_ns(const Timespec *t)
{
	return (int64_t)t->tv_sec * NSEC_PER_SEC + (int64_t)t->tv_nsec;
}

/*
 * The offset (to the host's clock) that makes clk read what the tree's
 * read at the dump.  While criu's clock has not gone back since the dump
 * (timens-0.img), the tree stays as far from criu's clock as it was, so
 * its offsets and timers are what they were; otherwise (another boot, an
 * image without timens-0) it goes on from its dump reading, as CRIU does.
 * cur: the offset of the namespace we are in, criu's.
 */
static int64_t new_offset(clockid_t clk, const Timespec *tree, const Timespec *criu, int64_t cur)
{
	int64_t now = clock_ns(clk);

	if (criu && now >= ts_ns(criu))
		return ts_ns(tree) - ts_ns(criu) + cur;
	pr_info("clock %d: counting on from the dump\n", (int)clk);
	return ts_ns(tree) - (now - cur);
}

/* the kernel wants seconds and 0 <= nsec < 1 s */
static long long off_sec(int64_t ns)
{
	return ns >= 0 ? ns / NSEC_PER_SEC : -((-ns + NSEC_PER_SEC - 1) / NSEC_PER_SEC);
}

static long long off_nsec(int64_t ns)
{
	return ((ns % NSEC_PER_SEC) + NSEC_PER_SEC) % NSEC_PER_SEC;
}

static int write_offsets(void)
{
	struct clocks cur, off;
	char buf[128];
	int len;

	/* a new namespace starts with the offsets of the one it came from */
	if (read_offsets("/proc/self/timens_offsets", &cur))
		return -1;
	off.mono = new_offset(CLOCK_MONOTONIC, rst_timens->monotonic,
			      rst_criu_clocks ? rst_criu_clocks->monotonic : NULL, cur.mono);
	off.boot = new_offset(CLOCK_BOOTTIME, rst_timens->boottime,
			      rst_criu_clocks ? rst_criu_clocks->boottime : NULL, cur.boot);
	len = snprintf(buf, sizeof(buf), "monotonic %lld %lld\nboottime %lld %lld\n",
		       off_sec(off.mono), off_nsec(off.mono), off_sec(off.boot),
		       off_nsec(off.boot));
	if (write_file("/proc/self/timens_offsets", buf, len)) {
		pr_perror("cannot write /proc/self/timens_offsets");
		return -1;
	}
	pr_info("time namespace offsets: monotonic %lld ns, boottime %lld ns\n",
		(long long)off.mono, (long long)off.boot);
	return 0;
}

/*
 * In the root, before it or any task of the tree reads a clock: a new
 * time namespace (owned by the tree's user namespace, where the root has
 * CAP_SYS_TIME) gets its offsets while nothing is in it yet, then the
 * root, still single-threaded, joins it; its children follow it.
 * clone3(CLONE_NEWTIME) cannot do it: the child would be in the new
 * namespace before anyone could set its offsets.
 */
int restore_timens(void)
{
	int fd, ret;

	if (!rst_timens)
		return 0;
	if (unshare(CLONE_NEWTIME)) {
		pr_perror("cannot create a time namespace");
		return -1;
	}
	if (write_offsets())
		return -1;
	fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open /proc/self/ns/time_for_children");
		return -1;
	}
	ret = setns(fd, CLONE_NEWTIME);
	if (ret)
		pr_perror("cannot join the new time namespace");
	close(fd);
	return ret;
}
