// SPDX-License-Identifier: GPL-2.0
/*
 * criu check: try each kernel feature the tool relies on, for real, and
 * print one line per feature.  Exit 0 when everything needed is there;
 * features for later work are reported but not required.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cr_options.h"
#include "mem-track.h"
#include "lazy.h"
#include "log.h"
#include "proc_parse.h"
#include "util.h"

#ifndef PAGEMAP_SCAN
#define PAGEMAP_SCAN 0xc0606610	/* _IOWR('f', 16, struct pm_scan_arg) */
#endif
#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif
#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#endif

struct check {
	const char *name;
	bool needed;
	/* 0: present; otherwise an errno; the text says what was seen */
	int (*run)(char *text, size_t len);
};

static int check_mm_map(char *text, size_t len)
{
	unsigned int size = 0;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0))
		return errno;
	snprintf(text, len, "PR_SET_MM_MAP_SIZE says %u bytes", size);
	return size == 104 ? 0 : EINVAL;
}

/*
 * The per-field PR_SET_MM_* calls need CAP_SYS_RESOURCE in the initial
 * user namespace.  The tool never makes them, not even to look: it says
 * whether they would be refused from the capability they need.
 */
#define CR_CAP_SYS_RESOURCE	24
#define PROC_USER_INIT_INO	0xEFFFFFFDU	/* the initial user namespace */

static int check_legacy_mm(char *text, size_t len)
{
	struct proc_status st;
	struct stat ns;

	if (parse_pid_status(getpid(), 0, &st) || stat("/proc/self/ns/user", &ns))
		return errno;
	if ((st.cap_eff & (1ULL << CR_CAP_SYS_RESOURCE)) && ns.st_ino == PROC_USER_INIT_INO)
		snprintf(text, len, "would be allowed (CAP_SYS_RESOURCE present); never used");
	else
		snprintf(text, len, "refused: no CAP_SYS_RESOURCE in the initial user namespace; "
			 "never used");
	return 0;
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	xwaitpid(pid, NULL, __WALL);
}

static int check_seize(char *text, size_t len)
{
	pid_t pid = spawn_sleeper();
	u64 mask = 0;
	int status, err = 0;

	if (pid < 0)
		return errno;
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) || ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) ||
	    xwaitpid(pid, &status, __WALL) != pid)
		err = errno;
	else if ((status >> 16) != PTRACE_EVENT_STOP)
		err = EINVAL;
	else if (ptrace(PTRACE_GETSIGMASK, pid, sizeof(mask), &mask))
		err = errno;
	if (!err)
		snprintf(text, len, "PTRACE_SEIZE, PTRACE_INTERRUPT, PTRACE_GETSIGMASK work");
	reap(pid);
	return err;
}

static int check_map_files(char *text, size_t len)
{
	char path[96], link[256], *maps;
	unsigned long start, end;
	ssize_t n;

	/* the first mapping of our own: an entry named after its range */
	if (read_file("/proc/self/maps", &maps) < 0)
		return errno;
	n = sscanf(maps, "%lx-%lx", &start, &end);
	free(maps);
	if (n != 2)
		return EINVAL;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", start, end);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno;
	link[n] = '\0';
	snprintf(text, len, "%s -> %s", path + 11, link);
	return 0;
}

/* A pid nobody uses, ahead of the last one handed out, below pid_max. */
static pid_t free_pid(void)
{
	long long last = 1000, pid_max = 32768;
	pid_t pid;
	int i;

	read_int_file("/proc/sys/kernel/ns_last_pid", &last);
	read_int_file("/proc/sys/kernel/pid_max", &pid_max);
	for (i = 0; i < 2000; i++) {
		pid = 300 + (last + 1000 + i - 300) % (pid_max - 300);
		if (kill(pid, 0) && errno == ESRCH)
			return pid;
	}
	return -1;
}

static int check_set_tid(char *text, size_t len)
{
	struct clone_args ca;
	pid_t want = free_pid(), got;
	int status;

	if (want < 0)
		return ESRCH;
	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	ca.set_tid = (u64)(unsigned long)&want;
	ca.set_tid_size = 1;
	got = syscall(SYS_clone3, &ca, sizeof(ca));
	if (got == 0)
		_exit(0);
	if (got < 0)
		return errno;
	xwaitpid(got, &status, 0);
	snprintf(text, len, "asked for pid %d, got %d", want, got);
	return got == want ? 0 : EINVAL;
}

static int check_userns(char *text, size_t len)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) ? errno : 0);
	if (pid < 0 || xwaitpid(pid, &status, 0) != pid)
		return errno;
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);
	snprintf(text, len, "unshare(CLONE_NEWUSER) works");
	return 0;
}

static int check_uffd(char *text, size_t len)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	snprintf(text, len, "userfaultfd() works");
	return 0;
}

/* struct pm_scan_arg of linux/fs.h (6.7), spelled out for older headers */
struct cr_pm_scan_arg {
	u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};

static int check_pagemap_scan(char *text, size_t len)
{
	struct cr_pm_scan_arg arg;
	u64 region[2];
	void *p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	int fd, ret, err = 0;

	if (p == MAP_FAILED)
		return errno;
	*(volatile char *)p = 1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.start = (unsigned long)p;
	arg.end = (unsigned long)p + PAGE_SIZE;
	arg.vec = (unsigned long)region;
	arg.vec_len = 1;
	arg.category_mask = 1 << 1;	/* PAGE_IS_PRESENT */
	arg.return_mask = 1 << 1;
	ret = ioctl(fd, PAGEMAP_SCAN, &arg);
	if (ret < 0)
		err = errno;
	else
		snprintf(text, len, "found %d present region(s)", ret);
	close(fd);
out:
	munmap(p, PAGE_SIZE);
	return err;
}

static int check_process_vm_readv(char *text, size_t len)
{
	char src[16] = "criu-check", dst[16] = "";
	struct iovec l = { dst, sizeof(dst) }, r = { src, sizeof(src) };

	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != sizeof(src))
		return errno;
	snprintf(text, len, "works");
	return strcmp(src, dst) ? EINVAL : 0;
}

static int check_kcmp(char *text, size_t len)
{
	int fd = dup(0);
	long r;

	if (fd < 0)
		fd = open("/dev/null", O_RDONLY);
	r = syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, fd, fd);
	close(fd);
	if (r < 0)
		return errno;
	snprintf(text, len, "KCMP_FILE works");
	return 0;
}

static int check_timer_ids(char *text, size_t len)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		timer_t id = (timer_t)42;

		if (prctl(PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0))
			_exit(errno);
		if (syscall(SYS_timer_create, CLOCK_MONOTONIC, NULL, &id))
			_exit(errno);
		_exit((long)id == 42 ? 0 : EINVAL);
	}
	if (pid < 0 || xwaitpid(pid, &status, 0) != pid)
		return errno;
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);
	snprintf(text, len, "timer_create() takes the id it is given");
	return 0;
}

static int check_mem_track(char *text, size_t len)
{
	if (!mem_track_works())
		return ENOTSUP;
	snprintf(text, len, "userfaultfd WP_ASYNC + PAGEMAP_SCAN track writes");
	return 0;
}

static int check_lazy(char *text, size_t len)
{
	if (!lazy_pages_works())
		return ENOTSUP;
	snprintf(text, len, "userfaultfd for restore --lazy-pages");
	return 0;
}

static const struct check checks[] = {
	{ "PR_SET_MM_MAP", true, check_mm_map },
	{ "legacy PR_SET_MM_* fields", false, check_legacy_mm },
	{ "ptrace seize", true, check_seize },
	{ "/proc/PID/map_files", true, check_map_files },
	{ "clone3 with set_tid", true, check_set_tid },
	{ "process_vm_readv", true, check_process_vm_readv },
	{ "kcmp", true, check_kcmp },
	{ "PR_TIMER_CREATE_RESTORE_IDS", true, check_timer_ids },
	{ "user namespaces", false, check_userns },
	{ "userfaultfd", false, check_uffd },
	{ "PAGEMAP_SCAN", false, check_pagemap_scan },
	{ "write tracking", false, check_mem_track },
	{ "lazy pages", false, check_lazy },
};

/* criu check --feature NAME, CRIU's way: one feature, exit status says it. */
static int check_feature(const char *name)
{
	bool ok;

	if (!strcmp(name, "mem_dirty_track")) {
		ok = mem_track_works();
	} else if (!strcmp(name, "lazy_pages")) {
		ok = lazy_pages_works();
	} else {
		printf("unknown or unsupported feature: %s\n", name);
		return -1;
	}
	if (!ok) {
		printf("%s is not supported\n", name);
		return -1;
	}
	printf("%s is supported\n", name);
	return 0;
}

int cr_check(void)
{
	size_t i;
	int missing = 0;

	if (opts.check_feature)
		return check_feature(opts.check_feature);

	for (i = 0; i < ARRAY_SIZE(checks); i++) {
		char text[160] = "";
		int err = checks[i].run(text, sizeof(text));

		if (err) {
			printf("%-28s no: %s%s%s\n", checks[i].name, strerror(err),
			       text[0] ? "; " : "", text);
			if (checks[i].needed)
				missing++;
		} else {
			printf("%-28s yes: %s\n", checks[i].name, text);
		}
	}
	if (missing) {
		printf("%d needed feature(s) missing\n", missing);
		return -1;
	}
	printf("Looks good.\n");
	return 0;
}
