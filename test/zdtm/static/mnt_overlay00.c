// SPDX-License-Identifier: GPL-2.0-only
/*
 * A container root that is an overlay, as podman and containerd make it:
 * lower and upper directories of the host, /usr and /work bound in, proc
 * and /dev/null.  Before the dump the test writes a file to the overlay
 * (it goes to the upper directory) and keeps one of the lower directory
 * open.  After the restore / must be the same overlay (same options in
 * mountinfo), show both files and the one deleted before the dump as
 * gone (a whiteout), and the open file must read its data.
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

static int put(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd))
		return -1;
	return 0;
}

static int dirs(const char *base, const char *const *names, char *p, size_t len)
{
	for (; *names; names++) {
		snprintf(p, len, "%s/%s", base, *names);
		if (mkdir(p, 0755) && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* the line of / in mountinfo, without its ids and device */
static int root_line(char *out, size_t len)
{
	char buf[16384], *line, *save;
	ssize_t n = read_file("/proc/self/mountinfo", buf, sizeof(buf) - 1);
	int id, parent;
	char dev[32], root[PATH_MAX], mp[PATH_MAX];

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int off = 0;

		if (sscanf(line, "%d %d %31s %4095s %4095s %n", &id, &parent, dev, root, mp, &off) == 5 &&
		    !strcmp(mp, "/")) {
			snprintf(out, len, "%s", line + off);
			return 0;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *const mps[] = { "usr", mnt_top() + 1, "proc", "dev", NULL };
	char lower[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], root[PATH_MAX];
	char p[2 * PATH_MAX], opts[4 * PATH_MAX], before[8192], after[8192], buf[64];
	ssize_t n;
	int held;

	test_init(argc, argv);
	snprintf(lower, sizeof(lower), "%s.lower", test_filename);
	snprintf(upper, sizeof(upper), "%s.upper", test_filename);
	snprintf(work, sizeof(work), "%s.work", test_filename);
	snprintf(root, sizeof(root), "%s.root", test_filename);
	if (mkdir(lower, 0755) || mkdir(upper, 0755) || mkdir(work, 0755) || mkdir(root, 0755) ||
	    dirs(lower, mps, p, sizeof(p)) ||
	    (snprintf(p, sizeof(p), "%s/lower", lower), put(p, "from the lower dir")) ||
	    (snprintf(p, sizeof(p), "%s/gone", lower), put(p, "deleted in the overlay")) ||
	    (snprintf(p, sizeof(p), "%s/dev/null", lower), put(p, ""))) {
		pr_perror("can't make the layers");
		return 1;
	}
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("overlay", root, "overlay", 0, opts)) {
		pr_perror("can't mount the overlay");
		return 1;
	}
	snprintf(p, sizeof(p), "%s/usr", root);
	if (mount("/usr", p, NULL, MS_BIND, NULL) ||
	    (snprintf(p, sizeof(p), "%s%s", root, mnt_top()), mount(mnt_top(), p, NULL, MS_BIND, NULL)) ||
	    (snprintf(p, sizeof(p), "%s/proc", root), mount("proc", p, "proc", 0, NULL)) ||
	    (snprintf(p, sizeof(p), "%s/dev/null", root), mount("/dev/null", p, NULL, MS_BIND, NULL)) ||
	    (snprintf(p, sizeof(p), "%s/lib64", root), symlink("usr/lib64", p)) ||
	    (snprintf(p, sizeof(p), "%s/lib", root), symlink("usr/lib", p)) ||
	    chdir(root) || syscall(SYS_pivot_root, ".", ".") || umount2(".", MNT_DETACH) ||
	    chdir("/")) {
		pr_perror("can't build the root");
		return 1;
	}
	if (put("/written", "into the upper dir") || unlink("/gone") || root_line(before, sizeof(before))) {
		pr_perror("can't use the overlay");
		return 1;
	}
	held = open("/lower", O_RDONLY);
	if (held < 0) {
		pr_perror("can't open /lower");
		return 1;
	}
	test_daemon();
	test_waitsig();

	if (root_line(after, sizeof(after)) || strcmp(before, after)) {
		fail("/ is not the overlay it was: '%s' then '%s'", before, after);
		return 1;
	}
	n = read_file("/written", buf, sizeof(buf) - 1);
	if (n != 18 || memcmp(buf, "into the upper dir", 18)) {
		fail("/written is gone from the overlay");
		return 1;
	}
	if (!access("/gone", F_OK)) {
		fail("/gone came back");
		return 1;
	}
	n = pread(held, buf, sizeof(buf) - 1, 0);
	if (n != 18 || memcmp(buf, "from the lower dir", 18)) {
		fail("the open /lower reads something else");
		return 1;
	}
	pass();
	return 0;
}
