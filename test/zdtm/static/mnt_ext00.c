// SPDX-License-Identifier: GPL-2.0-only
/*
 * An external bind mount: a directory of the host bound at /ext of a
 * pivot_root'ed mount namespace.  The dump marks it external under a key
 * (--external mnt[/ext]:ext-key); the restore binds another directory for
 * that key (--external mnt[ext-key]:WD/test.file.ext2, see the .desc).
 * Afterwards /ext must show that other directory's file, read-write and
 * still a mount of its own (under a read-only root), and a file kept
 * open under /ext its data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "mnt_top.h"

static int put(const char *dir, const char *name, const char *text)
{
	char p[2 * PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd))
		return -1;
	return 0;
}

static int sub(const char *root, const char *dir, char *p, size_t len)
{
	snprintf(p, len, "%s%s", root, dir);
	return mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
}

static int build(const char *root, const char *ext)
{
	char p[2 * PATH_MAX];

	if (mount("tmpfs", root, "tmpfs", 0, "mode=755") || sub(root, "/usr", p, sizeof(p)) ||
	    mount("/usr", p, NULL, MS_BIND, NULL) || sub(root, mnt_top(), p, sizeof(p)) ||
	    mount(mnt_top(), p, NULL, MS_BIND, NULL) || sub(root, "/dev", p, sizeof(p)) ||
	    (snprintf(p, sizeof(p), "%s/dev/null", root), put(root, "dev/null", "")) ||
	    mount("/dev/null", p, NULL, MS_BIND, NULL) || sub(root, "/proc", p, sizeof(p)) ||
	    mount("proc", p, "proc", 0, NULL) || sub(root, "/ext", p, sizeof(p)) ||
	    mount(ext, p, NULL, MS_BIND, NULL))
		return -1;
	snprintf(p, sizeof(p), "%s/bin", root);
	if (symlink("usr/bin", p))
		return -1;
	snprintf(p, sizeof(p), "%s/lib", root);
	if (symlink("usr/lib", p))
		return -1;
	snprintf(p, sizeof(p), "%s/lib64", root);
	if (symlink("usr/lib64", p))
		return -1;
	/* a read-only root, as runtimes make it: set last, after pivot_root */
	if (chdir(root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
	    chdir("/") || mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	char root[PATH_MAX], ext[PATH_MAX], ext2[PATH_MAX], buf[64];
	struct stat top, st;
	ssize_t n;
	int held;

	test_init(argc, argv);
	snprintf(root, sizeof(root), "%s.root", test_filename);
	snprintf(ext, sizeof(ext), "%s.ext", test_filename);
	snprintf(ext2, sizeof(ext2), "%s.ext2", test_filename);
	if (mkdir(root, 0755) || mkdir(ext, 0755) || mkdir(ext2, 0755) ||
	    put(ext, "file", "dumped") || put(ext2, "file", "restored") ||
	    put(ext, "held", "kept open") || put(ext2, "held", "other")) {
		pr_perror("can't make the directories");
		return 1;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    build(root, ext)) {
		pr_perror("can't build the mount namespace");
		return 1;
	}
	held = open("/ext/held", O_RDONLY);
	if (held < 0) {
		pr_perror("can't open /ext/held");
		return 1;
	}
	test_daemon();
	test_waitsig();

	n = read_file("/ext/file", buf, sizeof(buf) - 1);
	if (n < 0 || (buf[n] = '\0', strcmp(buf, "restored"))) {
		fail("/ext shows '%s', not the directory the restore mapped ext-key to",
		     n < 0 ? "nothing" : buf);
		return 1;
	}
	if (stat("/", &top) || stat("/ext", &st) || st.st_dev == top.st_dev) {
		fail("/ext is not a mount of its own");
		return 1;
	}
	if (put("/ext", "new", "rw")) {
		fail("/ext is not writable: %m");
		return 1;
	}
	if (!put("/", "new", "") || errno != EROFS) {
		fail("/ is not read-only");
		return 1;
	}
	n = pread(held, buf, sizeof(buf) - 1, 0);
	if (n < 0 || (buf[n] = '\0', strcmp(buf, "other"))) {
		fail("the file kept open under /ext reads '%s'", n < 0 ? "" : buf);
		return 1;
	}
	pass();
	return 0;
}
