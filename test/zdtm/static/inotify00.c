// SPDX-License-Identifier: GPL-2.0-only
/*
 * inotify watches on a file and on a directory, with wds that are not
 * the first ones (watches were added and removed before them).
 * Afterwards fdinfo shows the same wds, masks and inodes, no event is
 * queued, touching the file and creating a file in the directory give
 * events with the right wd, mask and name, and a new watch gets the wd
 * after the last one given out, as it would have before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE)
#define DIR_MASK (IN_CREATE | IN_DELETE | IN_ONLYDIR)

static char file[PATH_MAX], dir[PATH_MAX], gone[PATH_MAX];
static int wd_file, wd_dir;

/* fdinfo's watch lines, without the handle (it may be re-encoded) */
static int read_watches(int fd, char *out, size_t len)
{
	char path[64], buf[4096], *l, *h;
	size_t off = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	out[0] = '\0';
	for (l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		if (strncmp(l, "inotify wd:", 11))
			continue;
		h = strstr(l, " fhandle-bytes:");
		if (h)
			*h = '\0';
		off += snprintf(out + off, len - off, "%s\n", l);
	}
	return 0;
}

static int expect_event(int fd, int wd, unsigned int mask, const char *name)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < (ssize_t)sizeof(*e)) {
		fail("no event for wd %d: %zd (%m)", wd, n);
		return 1;
	}
	if (e->wd != wd || e->mask != mask || (name && strcmp(e->name, name)) ||
	    (!name && e->len) || n != (ssize_t)(sizeof(*e) + e->len)) {
		fail("event wd %d mask %#x name '%s' (%zd bytes), want wd %d mask %#x name '%s'",
		     e->wd, e->mask, e->len ? e->name : "", n, wd, mask, name ? name : "");
		return 1;
	}
	return 0;
}

static int check(int fd, const char *before)
{
	char after[2048], sub[PATH_MAX + 8], c;
	int f, wd;

	if (read_watches(fd, after, sizeof(after)) || strcmp(before, after)) {
		fail("watches were\n%s now\n%s", before, after);
		return 1;
	}
	if (read(fd, &c, 1) != -1 || errno != EAGAIN) {
		fail("events queued after the restore");
		return 1;
	}
	f = open(file, O_WRONLY | O_APPEND);
	if (f < 0 || write(f, "x", 1) != 1) {
		pr_perror("write %s", file);
		return 1;
	}
	if (expect_event(fd, wd_file, IN_MODIFY, NULL))
		return 1;
	close(f);
	if (expect_event(fd, wd_file, IN_CLOSE_WRITE, NULL))
		return 1;
	snprintf(sub, sizeof(sub), "%s/new", dir);
	f = open(sub, O_CREAT | O_RDONLY, 0600);
	if (f < 0 || expect_event(fd, wd_dir, IN_CREATE, "new"))
		return 1;
	close(f);
	wd = inotify_add_watch(fd, gone, IN_OPEN);
	if (wd != wd_dir + 1) {
		fail("a new watch got wd %d, want %d", wd, wd_dir + 1);
		return 1;
	}
	return 0;
}

/* Watch path, throw the watch away and its IN_IGNORED event too. */
static int burn_wd(int fd, const char *path)
{
	char buf[256];
	int wd = inotify_add_watch(fd, path, IN_OPEN);

	return wd < 0 || inotify_rm_watch(fd, wd) || read(fd, buf, sizeof(buf)) <= 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	char before[2048];
	int fd, f;

	test_init(argc, argv);
	snprintf(file, sizeof(file), "%s", test_filename);
	snprintf(dir, sizeof(dir), "%s.d", test_filename);
	snprintf(gone, sizeof(gone), "%s.other", test_filename);
	f = open(file, O_CREAT | O_WRONLY, 0600);
	if (f < 0 || close(f) || mkdir(dir, 0700)) {
		pr_perror("create %s, %s", file, dir);
		return 1;
	}
	f = open(gone, O_CREAT | O_WRONLY, 0600);
	if (f < 0 || close(f)) {
		pr_perror("create %s", gone);
		return 1;
	}
	fd = inotify_init1(IN_NONBLOCK);
	if (fd < 0 || burn_wd(fd, gone) || burn_wd(fd, gone)) {
		pr_perror("inotify");
		return 1;
	}
	wd_file = inotify_add_watch(fd, file, FILE_MASK);
	if (wd_file < 0 || burn_wd(fd, gone) || burn_wd(fd, dir)) {
		pr_perror("inotify_add_watch %s", file);
		return 1;
	}
	wd_dir = inotify_add_watch(fd, dir, DIR_MASK);
	if (wd_dir != wd_file + 3 || read_watches(fd, before, sizeof(before))) {
		fail("watches: file wd %d, dir wd %d", wd_file, wd_dir);
		return 1;
	}
	test_daemon();
	test_waitsig();

	if (check(fd, before))
		return 1;
	pass();
	return 0;
}
