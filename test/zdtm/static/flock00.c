// SPDX-License-Identifier: GPL-2.0-only
/*
 * flock() locks: a shared one on one file and an exclusive one on
 * another, the exclusive file also open through a dup and a second
 * description.  Afterwards a new description of each file must find
 * the shared lock shared (LOCK_SH granted, LOCK_EX refused) and the
 * exclusive one exclusive (both refused), and fdinfo must show each lock
 * once, of the right type, held by this process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "zdtmtst.h"

static char path_sh[4096], path_ex[4096];
static int fd_sh, fd_ex, fd_ex_dup, fd_ex_other;

/* What flock(op | LOCK_NB) from a new description of path does: 0 or errno. */
static int try_flock(const char *path, int op)
{
	int fd = open(path, O_RDONLY), ret = 0;

	if (fd < 0)
		return -1;
	if (flock(fd, op | LOCK_NB))
		ret = errno;
	close(fd); /* drops what it got */
	return ret;
}

/* fdinfo of fd must show exactly one FLOCK lock of type want, held by us */
static int check_fdinfo(int fd, const char *want)
{
	char path[64], buf[4096], kind[16], type[16], *l;
	int n = 0, pid;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len < 0) {
		pr_perror("read %s", path);
		return 1;
	}
	buf[len] = '\0';
	for (l = strstr(buf, "lock:"); l; l = strstr(l + 5, "lock:")) {
		if (sscanf(l, "lock: %*d: %15s %*s %15s %d", kind, type, &pid) != 3 ||
		    strcmp(kind, "FLOCK") || strcmp(type, want) || pid != getpid()) {
			fail("fd %d: unexpected lock line: %.80s", fd, l);
			return 1;
		}
		n++;
	}
	if (n != 1) {
		fail("fd %d: %d lock lines, expected one %s FLOCK", fd, n, want);
		return 1;
	}
	return 0;
}

static int check(void)
{
	int r;

	if ((r = try_flock(path_sh, LOCK_SH))) {
		fail("shared lock: LOCK_SH from another description refused (%s)", strerror(r));
		return 1;
	}
	if ((r = try_flock(path_sh, LOCK_EX)) != EWOULDBLOCK) {
		fail("shared lock: LOCK_EX from another description gave %s", strerror(r));
		return 1;
	}
	if ((r = try_flock(path_ex, LOCK_SH)) != EWOULDBLOCK) {
		fail("exclusive lock: LOCK_SH from another description gave %s", strerror(r));
		return 1;
	}
	/* our own second description is another description: refused too */
	if (flock(fd_ex_other, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
		fail("exclusive lock: our second description got LOCK_SH");
		return 1;
	}
	return check_fdinfo(fd_sh, "READ") || check_fdinfo(fd_ex, "WRITE") ||
	       check_fdinfo(fd_ex_dup, "WRITE");
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	snprintf(path_sh, sizeof(path_sh), "%s.sh", test_filename);
	snprintf(path_ex, sizeof(path_ex), "%s.ex", test_filename);
	fd_sh = open(path_sh, O_RDWR | O_CREAT | O_TRUNC, 0644);
	fd_ex = open(path_ex, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd_sh < 0 || fd_ex < 0) {
		pr_perror("open");
		return 1;
	}
	if (flock(fd_sh, LOCK_SH) || flock(fd_ex, LOCK_EX)) {
		pr_perror("flock");
		return 1;
	}
	fd_ex_dup = dup(fd_ex);
	fd_ex_other = open(path_ex, O_RDONLY);
	if (fd_ex_dup < 0 || fd_ex_other < 0) {
		pr_perror("dup/open");
		return 1;
	}
	if (check())
		return 1;

	test_daemon();
	test_waitsig();

	if (check())
		return 1;
	pass();
	return 0;
}
