// SPDX-License-Identifier: GPL-2.0-only
/*
 * Files of /proc and /sys open by path, each at an offset of its own:
 * /proc/sys/kernel/ostype, /sys/devices/system/cpu/online, and the
 * test's own /proc/self/status.  Afterwards each fd is the same path
 * (the status file of the test's own pid), at the same offset, and reads
 * from its start what a fresh open of that path reads.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zdtmtst.h"

struct pf {
	const char *path;
	off_t pos;
	int fd;
	char link[128];
};

static int check(struct pf *f)
{
	char path[64], link[128], buf[4096], want[4096];
	ssize_t n, m;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (strcmp(link, f->link)) {
		fail("fd %d is %s, want %s", f->fd, link, f->link);
		return 1;
	}
	if (lseek(f->fd, 0, SEEK_CUR) != f->pos) {
		fail("%s: offset %lld, want %lld", f->link, (long long)lseek(f->fd, 0, SEEK_CUR),
		     (long long)f->pos);
		return 1;
	}
	/*
	 * A seq file regenerates its text when read from the start, and
	 * before that hands out what it generated when it was positioned
	 * (here: during the restore).  So: some data after the offset, then
	 * from the start the same text as a fresh open of the same path.
	 */
	n = read(f->fd, buf, sizeof(buf));
	if (n <= 0 || lseek(f->fd, 0, SEEK_SET) || (n = read(f->fd, buf, sizeof(buf) - 1)) <= 0) {
		pr_perror("%s: read after the restore (%zd)", f->link, n);
		return 1;
	}
	fd = open(f->link, O_RDONLY);
	m = fd < 0 ? -1 : read(fd, want, sizeof(want) - 1);
	if (fd >= 0)
		close(fd);
	buf[n] = want[m > 0 ? m : 0] = '\0';
	if (m <= 0 || strncmp(buf, want, strcspn(want, "\n") + 1)) {
		fail("%s: reads \"%.40s\", a fresh open \"%.40s\"", f->link, buf, want);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pf f[] = {
		{ "/proc/sys/kernel/ostype", 2, -1, "" },
		{ "/sys/devices/system/cpu/online", 1, -1, "" },
		{ "/proc/self/status", 6, -1, "" },
	};
	char buf[16];
	size_t i;

	test_init(argc, argv);
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		f[i].fd = open(f[i].path, O_RDONLY);
		if (f[i].fd < 0 || read(f[i].fd, buf, f[i].pos) != f[i].pos) {
			pr_perror("open/read %s", f[i].path);
			return 1;
		}
		if (i == 2)
			snprintf(f[i].link, sizeof(f[i].link), "/proc/%d/status", getpid());
		else
			snprintf(f[i].link, sizeof(f[i].link), "%s", f[i].path);
	}

	test_daemon();
	test_waitsig();

	for (i = 0; i < ARRAY_SIZE(f); i++)
		if (check(&f[i]))
			return 1;
	pass();
	return 0;
}
