// SPDX-License-Identifier: GPL-2.0-only
/*
 * Locks held only through a mapping: each file is locked through an fd,
 * mapped, and the fd closed, so the lock stays with the description the
 * mapping holds and no fd shows it (the JVM's hsperfdata file):
 *   - an exclusive flock on a file mapped MAP_SHARED read-write;
 *   - a shared flock on a file mapped MAP_PRIVATE read-only;
 *   - an OFD write lock on bytes 0-99 of a file mapped MAP_SHARED.
 * Afterwards a child's new descriptions must meet the same locks, the
 * shared mapping must still write through to its file, /proc/locks must
 * name us as the holder of both flocks, and once a mapping is gone its
 * lock must be gone too (it lived as long as the mapping, no longer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LEN 8192

static char path_ex[4096], path_sh[4096], path_ofd[4096];
static char *map_ex, *map_sh, *map_ofd;

/* What flock(op | LOCK_NB) through a new description in a child gives. */
static int child_flock(const char *path, int op)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		pr_perror("fork");
		return -1;
	}
	if (pid == 0) {
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			_exit(255);
		_exit(flock(fd, op | LOCK_NB) ? errno : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255) {
		pr_perror("child on %s", path);
		return -1;
	}
	return WEXITSTATUS(status);
}

/* The type of the first OFD lock on [0, 100) a new description meets. */
static int ofd_lock_type(void)
{
	struct flock f = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
	int fd = open(path_ofd, O_RDONLY);

	if (fd < 0 || fcntl(fd, F_OFD_GETLK, &f)) {
		pr_perror("F_OFD_GETLK on %s", path_ofd);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (f.l_type != F_UNLCK && (f.l_start != 0 || f.l_len != 100)) {
		fail("OFD lock at %ld+%ld, expected 0+100", (long)f.l_start, (long)f.l_len);
		return -1;
	}
	return f.l_type;
}

/* /proc/locks: the holder pid of the one FLOCK lock of type on path. */
static int flock_holder(const char *path, const char *type)
{
	char buf[65536], kind[16], ltype[16], want[64], dev[64];
	int pid, found = 0, holder = -1;
	struct stat st;
	char *l;

	if (stat(path, &st) || read_file("/proc/locks", buf, sizeof(buf) - 1) < 0) {
		pr_perror("stat %s or read /proc/locks", path);
		return -1;
	}
	buf[sizeof(buf) - 1] = '\0';
	snprintf(want, sizeof(want), "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
		 (unsigned long)st.st_ino);
	for (l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (sscanf(l, "%*d: %15s %*s %15s %d %63s", kind, ltype, &pid, dev) != 4 ||
		    strcmp(dev, want))
			continue;
		if (strcmp(kind, "FLOCK") || strcmp(ltype, type)) {
			fail("%s: unexpected lock %.60s", path, l);
			return -1;
		}
		found++;
		holder = pid;
	}
	if (found != 1) {
		fail("%s: %d FLOCK %s locks in /proc/locks, expected one", path, found, type);
		return -1;
	}
	return holder;
}

static int check_locks(void)
{
	int r;

	if ((r = child_flock(path_ex, LOCK_SH)) != EWOULDBLOCK) {
		fail("exclusive flock: a child's LOCK_SH gave %s", r < 0 ? "?" : strerror(r));
		return 1;
	}
	if ((r = child_flock(path_sh, LOCK_SH)) != 0) {
		fail("shared flock: a child's LOCK_SH gave %s", r < 0 ? "?" : strerror(r));
		return 1;
	}
	if ((r = child_flock(path_sh, LOCK_EX)) != EWOULDBLOCK) {
		fail("shared flock: a child's LOCK_EX gave %s", r < 0 ? "?" : strerror(r));
		return 1;
	}
	if ((r = ofd_lock_type()) != F_WRLCK) {
		fail("OFD lock: a new description meets type %d, expected F_WRLCK", r);
		return 1;
	}
	if (flock_holder(path_ex, "WRITE") != getpid() || flock_holder(path_sh, "READ") != getpid()) {
		fail("/proc/locks does not name pid %d as the holder of both flocks", getpid());
		return 1;
	}
	return 0;
}

/* The shared mapping still writes through to the file. */
static int check_write_through(void)
{
	char got[16];
	int fd = open(path_ex, O_RDONLY);

	memcpy(map_ex + 4096, "after restore", 14);
	if (fd < 0 || pread(fd, got, 14, 4096) != 14) {
		pr_perror("read %s", path_ex);
		return 1;
	}
	close(fd);
	if (memcmp(got, "after restore", 14) || memcmp(map_ex, "flock_map00 ex", 14) ||
	    memcmp(map_sh, "flock_map00 sh", 14)) {
		fail("the mappings do not show their files");
		return 1;
	}
	return 0;
}

/* Unmapped, each lock goes with the last reference to its description. */
static int check_unmapped(void)
{
	int r;

	if (munmap(map_ex, LEN) || munmap(map_sh, LEN) || munmap(map_ofd, LEN)) {
		pr_perror("munmap");
		return 1;
	}
	if ((r = child_flock(path_ex, LOCK_EX)) != 0) {
		fail("exclusive flock still held after munmap: %s", r < 0 ? "?" : strerror(r));
		return 1;
	}
	if ((r = child_flock(path_sh, LOCK_EX)) != 0) {
		fail("shared flock still held after munmap: %s", r < 0 ? "?" : strerror(r));
		return 1;
	}
	if ((r = ofd_lock_type()) != F_UNLCK) {
		fail("OFD lock still there after munmap (type %d)", r);
		return 1;
	}
	return 0;
}

/* Create path, lock it through fd with lock(), map it and close the fd. */
static char *lock_and_map(const char *path, const char *tag, int prot, int flags, int op)
{
	struct flock f = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100 };
	char buf[LEN] = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *p;

	snprintf(buf, sizeof(buf), "%s", tag);
	if (fd < 0 || write_all(fd, buf, sizeof(buf))) {
		pr_perror("create %s", path);
		return NULL;
	}
	if (op ? flock(fd, op) : fcntl(fd, F_OFD_SETLK, &f)) {
		pr_perror("lock %s", path);
		return NULL;
	}
	p = mmap(NULL, LEN, prot, flags, fd, 0);
	if (p == MAP_FAILED) {
		pr_perror("mmap %s", path);
		return NULL;
	}
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	snprintf(path_ex, sizeof(path_ex), "%s.ex", test_filename);
	snprintf(path_sh, sizeof(path_sh), "%s.sh", test_filename);
	snprintf(path_ofd, sizeof(path_ofd), "%s.ofd", test_filename);
	map_ex = lock_and_map(path_ex, "flock_map00 ex", PROT_READ | PROT_WRITE, MAP_SHARED,
			      LOCK_EX);
	map_sh = lock_and_map(path_sh, "flock_map00 sh", PROT_READ, MAP_PRIVATE, LOCK_SH);
	map_ofd = lock_and_map(path_ofd, "flock_map00 ofd", PROT_READ | PROT_WRITE, MAP_SHARED,
			       0);
	if (!map_ex || !map_sh || !map_ofd || check_locks())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_locks() || check_write_through() || check_unmapped())
		return 1;
	pass();
	return 0;
}
