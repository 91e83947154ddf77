// SPDX-License-Identifier: GPL-2.0-only
/*
 * Namespace files held open: /proc/self/ns/KIND for each kind a task can
 * open, one of them twice (a dup) and one without close-on-exec.  After
 * the restore each fd is still a namespace file of its kind, and the
 * namespace is the one the test is in now (the inode of its own
 * /proc/self/ns/KIND), so setns() to it is a no-op that works.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static const char *const kinds[] = { "user", "pid", "mnt", "uts", "ipc", "net", "cgroup" };
#define NR ARRAY_SIZE(kinds)

static int check(int fd, const char *kind, int cloexec)
{
	char path[64], link[64], want[64];
	struct stat a, b;
	ssize_t n;
	int fl = fcntl(fd, F_GETFD);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		pr_perror("readlink %s", path);
		return 1;
	}
	link[n] = '\0';
	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	if (fstat(fd, &a) || stat(path, &b)) {
		pr_perror("stat %s", kind);
		return 1;
	}
	snprintf(want, sizeof(want), "%s:[%lu]", kind, (unsigned long)b.st_ino);
	if (strcmp(link, want) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		fail("fd %d is %s, want %s", fd, link, want);
		return 1;
	}
	if (!!(fl & FD_CLOEXEC) != cloexec) {
		fail("fd %d (%s): close-on-exec %d, want %d", fd, kind, !!(fl & FD_CLOEXEC),
		     cloexec);
		return 1;
	}
	/* uts and ipc: joining one's own namespace needs only the fd */
	if ((!strcmp(kind, "uts") || !strcmp(kind, "ipc")) && setns(fd, 0) && errno != EPERM) {
		pr_perror("setns to the %s namespace of fd %d", kind, fd);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int fds[NR], dupfd;
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < NR; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/ns/%s", kinds[i]);
		fds[i] = open(path, O_RDONLY | (i == 3 ? 0 : O_CLOEXEC));
		if (fds[i] < 0) {
			pr_perror("open %s", path);
			return 1;
		}
	}
	dupfd = dup(fds[5]);
	if (dupfd < 0) {
		pr_perror("dup");
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < NR; i++)
		if (check(fds[i], kinds[i], i != 3))
			return 1;
	if (check(dupfd, "net", 0))
		return 1;
	pass();
	return 0;
}
