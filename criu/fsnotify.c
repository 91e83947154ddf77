// SPDX-License-Identifier: GPL-2.0
/*
 * inotify.  fdinfo lists each watch ("inotify wd:" lines: wd, inode,
 * s_dev, mask and a file handle).  The dump finds a path to each watched
 * object: through open_by_handle_at() where criu may use it
 * (CAP_DAC_READ_SEARCH in the initial user namespace), else by looking
 * for the inode around the task (its cwd, its open files, their
 * directories).  The restore adds the watches again on the same inodes;
 * wds come from a cyclic allocator (each new watch gets the number after
 * the last one given), so a watch is added and removed until it gets its
 * old wd, and the IN_IGNORED events that leaves are drained.
 * fanotify is refused by files.c's generic "unsupported" message.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "files.h"
#include "util.h"

#define FH_MAX_BYTES 128 /* MAX_HANDLE_SZ */
#define FH_WORDS (FH_MAX_BYTES / 8)
#define SEARCH_BUDGET 50000 /* directory entries looked at per watch */
#define WATCH_MASK (IN_ALL_EVENTS | IN_EXCL_UNLINK | IN_ONESHOT)

struct watch {
	u32 wd, mask, ignored, sdev;
	u64 ino;
	u32 fh_bytes, fh_type;
	u64 fh[FH_WORDS];
};

static u64 kdev_to_st(u32 kdev)
{
	return makedev(kdev >> 20, kdev & 0xfffff);
}

static bool same_inode(const struct stat *st, const struct watch *w)
{
	return st->st_ino == w->ino && st->st_dev == kdev_to_st(w->sdev);
}

static int parse_handle(const char *hex, struct watch *w)
{
	unsigned char *b = (unsigned char *)w->fh;
	u32 i;

	if (w->fh_bytes > FH_MAX_BYTES)
		return -1;
	for (i = 0; i < w->fh_bytes; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &b[i]) != 1)
			return -1;
	return 0;
}

static int parse_watch(const char *l, struct watch *w)
{
	char hex[2 * FH_MAX_BYTES + 1] = "";
	unsigned long long ino;
	int n;

	memset(w, 0, sizeof(*w));
	n = sscanf(l,
		   "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x "
		   "fhandle-type:%x f_handle:%256s",
		   &w->wd, &ino, &w->sdev, &w->mask, &w->ignored, &w->fh_bytes, &w->fh_type, hex);
	w->ino = ino;
	if (n < 5)
		return -1;
	if (n < 8) /* the filesystem gives no handles */
		w->fh_bytes = w->fh_type = 0;
	return parse_handle(hex, w);
}

/* ---- dump: finding a path to the watched inode ---- */

/*
 * Open a mount that has this kernel s_dev; proc is /proc/PID or /proc/self.
 * Not O_PATH: open_by_handle_at() refuses those as its mount fd.
 */
static int open_mount_of(const char *proc, u32 sdev)
{
	char path[PATH_MAX + 64], mnt[PATH_MAX], *buf, *l, *save;
	unsigned int maj, min;
	int fd = -1;

	snprintf(path, sizeof(path), "%s/mountinfo", proc);
	if (read_file(path, &buf) < 0)
		return -1;
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (sscanf(l, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    makedev(maj, min) != kdev_to_st(sdev) || strchr(mnt, '\\'))
			continue;
		snprintf(path, sizeof(path), "%s/root%s", proc, mnt);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			break;
	}
	free(buf);
	return fd;
}

static int open_handle(int mfd, const struct watch *w)
{
	struct {
		struct file_handle h;
		unsigned char b[FH_MAX_BYTES];
	} fh;

	fh.h.handle_bytes = w->fh_bytes;
	fh.h.handle_type = w->fh_type;
	memcpy(fh.h.f_handle, w->fh, w->fh_bytes);
	return open_by_handle_at(mfd, &fh.h, O_PATH | O_CLOEXEC);
}

/*
 * Through the handle; returns 1 if criu may not open handles, -1 if the
 * object is gone (reported), 0 with path when found.
 */
static int path_by_handle(pid_t pid, int fd, const struct watch *w, char *path, size_t len)
{
	char link[64];
	struct stat st;
	int mfd, ofd;
	ssize_t n;

	if (!w->fh_bytes)
		return 1;
	snprintf(link, sizeof(link), "/proc/%d", pid);
	mfd = open_mount_of(link, w->sdev);
	if (mfd < 0)
		return 1;
	ofd = open_handle(mfd, w);
	close(mfd);
	if (ofd < 0) {
		if (errno != ESTALE)
			return 1;
		goto deleted;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", ofd);
	n = readlink(link, path, len - 1);
	if (fstat(ofd, &st) || n < 0) {
		close(ofd);
		return 1;
	}
	close(ofd);
	path[n] = '\0';
	if (st.st_nlink == 0)
		goto deleted;
	return !lstat(path, &st) && same_inode(&st, w) ? 0 : 1;
deleted:
	pr_err("unsupported: pid %d fd %d is an inotify watching a deleted file (wd %u, inode "
	       "%llu)\n",
	       pid, fd, w->wd, (unsigned long long)w->ino);
	return -1;
}

/* dir's entries, then (depth > 0) its subdirectories' entries, and so on. */
static int search_dir(const char *dir, const struct watch *w, int depth, int *budget, char *path,
		      size_t len)
{
	struct dirent *de;
	struct stat st;
	int found = -1;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -1;
	while (found && (de = readdir(d)) && --*budget > 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (same_inode(&st, w)) {
			snprintf(path, len, "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
			found = 0;
		}
	}
	if (found && depth > 0) {
		rewinddir(d);
		while (found && (de = readdir(d)) && *budget > 0) {
			char sub[PATH_MAX];

			if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", strcmp(dir, "/") ? dir : "",
				 de->d_name);
			found = search_dir(sub, w, depth - 1, budget, path, len);
		}
	}
	closedir(d);
	return found;
}

/* A place to look: the path itself, and around it. */
static int try_place(const char *place, const struct watch *w, int depth, int *budget, char *path,
		     size_t len)
{
	struct stat st;

	if (place[0] != '/' || lstat(place, &st))
		return -1;
	if (same_inode(&st, w)) {
		snprintf(path, len, "%s", place);
		return 0;
	}
	return S_ISDIR(st.st_mode) ? search_dir(place, w, depth, budget, path, len) : -1;
}

static int link_of(pid_t pid, const char *what, char *buf, size_t len)
{
	char p[PATH_MAX];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/%s", pid, what);
	n = readlink(p, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Without handles: the task's cwd, its open files and their directories. */
static int path_by_search(pid_t pid, const struct watch *w, char *path, size_t len)
{
	char place[PATH_MAX], fdp[300];
	int budget = SEARCH_BUDGET;
	struct dirent *de;
	DIR *d;
	int ret = -1;

	if (!link_of(pid, "cwd", place, sizeof(place)) &&
	    !try_place(place, w, 2, &budget, path, len))
		return 0;
	snprintf(fdp, sizeof(fdp), "/proc/%d/fd", pid);
	d = opendir(fdp);
	if (!d)
		return -1;
	while (ret && (de = readdir(d)) && budget > 0) {
		char *slash;

		snprintf(fdp, sizeof(fdp), "fd/%s", de->d_name);
		if (de->d_name[0] == '.' || link_of(pid, fdp, place, sizeof(place)))
			continue;
		ret = try_place(place, w, 1, &budget, path, len);
		slash = strrchr(place, '/');
		if (ret && slash && slash != place) {
			*slash = '\0';
			ret = try_place(place, w, 1, &budget, path, len);
		}
	}
	closedir(d);
	if (ret && budget > 0)
		ret = try_place("/", w, 0, &budget, path, len);
	return ret;
}

static int watch_path(pid_t pid, int fd, const struct watch *w, char *path, size_t len)
{
	int ret = path_by_handle(pid, fd, w, path, len);

	if (ret == 0)
		pr_debug("inotify wd %u: %s, from its handle\n", w->wd, path);
	if (ret <= 0)
		return ret;
	if (!path_by_search(pid, w, path, len)) {
		pr_debug("inotify wd %u: %s, found around the task\n", w->wd, path);
		return 0;
	}
	pr_err("unsupported: pid %d fd %d is an inotify watching inode %llu (wd %u) that no path "
	       "was found to: deleted, or away from the task's cwd and open files (any inode is "
	       "reached with CAP_DAC_READ_SEARCH)\n",
	       pid, fd, (unsigned long long)w->ino, w->wd);
	return -1;
}

/* ---- dump ---- */

struct wd_slot {
	InotifyWdEntry e;
	FhEntry fh;
	u64 words[FH_WORDS];
	char path[PATH_MAX];
};

static int fill_wd(struct fd_parms *p, const char *line, struct wd_slot *s, u32 id)
{
	struct watch w;

	if (parse_watch(line, &w)) {
		pr_err("pid %d fd %d: cannot parse inotify fdinfo line '%.80s'\n", p->pid, p->fd,
		       line);
		return -1;
	}
	if (watch_path(p->pid, p->fd, &w, s->path, sizeof(s->path)))
		return -1;
	inotify_wd_entry__init(&s->e);
	fh_entry__init(&s->fh);
	memcpy(s->words, w.fh, sizeof(s->words));
	s->fh.bytes = w.fh_bytes;
	s->fh.type = w.fh_type;
	s->fh.n_handle = FH_WORDS;
	s->fh.handle = s->words;
	s->fh.path = s->path;
	s->e.id = id;
	s->e.i_ino = w.ino;
	s->e.mask = w.mask;
	s->e.ignored_mask = w.ignored;
	s->e.s_dev = w.sdev;
	s->e.wd = w.wd;
	s->e.f_handle = &s->fh;
	pr_debug("pid %d fd %d: inotify wd %u mask %#x on %s (inode %llu)\n", p->pid, p->fd, w.wd,
		 w.mask, s->path, (unsigned long long)w.ino);
	return 0;
}

static size_t count_watches(const char *fdinfo)
{
	const char *l = fdinfo;
	size_t n = 0;

	while ((l = strstr(l, "inotify wd:"))) {
		n++;
		l++;
	}
	return n;
}

static int dump_inotify(struct fd_parms *p, u32 id)
{
	InotifyFileEntry ie = INOTIFY_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	size_t n = p->fdinfo ? count_watches(p->fdinfo) : 0, i = 0;
	struct wd_slot *s = n ? xzalloc(n * sizeof(*s)) : NULL;
	InotifyWdEntry **ep = n ? xzalloc(n * sizeof(*ep)) : NULL;
	const char *l;
	int ret = -1;

	if ((n && (!s || !ep)) || dump_fown(p, &fown))
		goto out;
	for (l = p->fdinfo; l && *l && i < n; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, "inotify wd:", 11))
			continue;
		if (fill_wd(p, l, &s[i], id))
			goto out;
		ep[i] = &s[i].e;
		i++;
	}
	ie.id = id;
	ie.flags = p->flags;
	ie.fown = &fown;
	ie.n_wd = i;
	ie.wd = ep;
	fe.type = FD_TYPES__INOTIFY;
	fe.id = id;
	fe.ify = &ie;
	ret = write_file_entry(&fe);
out:
	free(s);
	free(ep);
	return ret;
}

/* ---- restore ---- */

/* The O_PATH fd of the watched object, opened by its handle. */
static int restore_open_handle(const InotifyWdEntry *e)
{
	struct watch w = {.sdev = e->s_dev, .ino = e->i_ino};
	FhEntry *fh = e->f_handle;
	int mfd, fd;

	if (!fh->bytes || fh->bytes > FH_MAX_BYTES || fh->n_handle * 8 < fh->bytes) {
		errno = EOPNOTSUPP; /* no handle was saved */
		return -1;
	}
	w.fh_bytes = fh->bytes;
	w.fh_type = fh->type;
	memcpy(w.fh, fh->handle, fh->bytes);
	mfd = open_mount_of("/proc/self", e->s_dev);
	if (mfd < 0) {
		errno = ENODEV; /* no mount of that device here */
		return -1;
	}
	fd = open_handle(mfd, &w);
	close(mfd);
	return fd;
}

/*
 * The path to give inotify_add_watch() for e: its path when that still
 * names the inode, else /proc/self/fd/N of the object opened by handle.
 */
static int watch_target(const InotifyWdEntry *e, char *buf, size_t len, int *ofd, u32 *flags)
{
	struct watch w = {.sdev = e->s_dev, .ino = e->i_ino};
	const char *path = e->f_handle->path, *why = "is another inode now";
	struct stat st;

	*ofd = -1;
	*flags = 0;
	if (!path)
		why = "(no path was saved)";
	else if (lstat(path, &st))
		why = "is gone";
	else if (same_inode(&st, &w)) {
		snprintf(buf, len, "%s", path);
		*flags = IN_DONT_FOLLOW; /* the path names the object itself */
		return 0;
	}
	*ofd = restore_open_handle(e);
	if (*ofd >= 0) {
		snprintf(buf, len, "/proc/self/fd/%d", *ofd);
		return 0;
	}
	pr_err("cannot watch inode %llu again (inotify wd %u): %s %s, and it cannot be opened by "
	       "its handle: %s\n",
	       (unsigned long long)e->i_ino, e->wd, path ? path : "", why, strerror(errno));
	return -1;
}

/* Add e's watch, again and again, until the kernel hands out its wd. */
static int add_watch_at(int ifd, const InotifyWdEntry *e)
{
	char target[PATH_MAX];
	int ofd, wd, tries = 0;
	u32 flags;

	if (watch_target(e, target, sizeof(target), &ofd, &flags))
		return -1;
	for (;;) {
		wd = inotify_add_watch(ifd, target, (e->mask & WATCH_MASK) | flags);
		if (wd < 0 || wd >= (int)e->wd)
			break;
		if (inotify_rm_watch(ifd, wd)) {
			wd = -1;
			break;
		}
		tries++;
	}
	close_safe(&ofd);
	if (wd != (int)e->wd) {
		if (wd < 0)
			pr_perror("cannot watch %s (wd %u)", target, e->wd);
		else
			pr_err("inotify: wanted wd %u for %s, the kernel gave %d\n", e->wd, target,
			       wd);
		return -1;
	}
	pr_debug("inotify: wd %u mask %#x on %s (%d tries)\n", e->wd, e->mask, target, tries + 1);
	return 0;
}

/* The removals of the wd search queued IN_IGNORED events: read them away. */
static int drain_events(int ifd)
{
	char buf[4096];
	int fl = fcntl(ifd, F_GETFL), ret = 0;

	if (fl < 0 || fcntl(ifd, F_SETFL, fl | O_NONBLOCK)) {
		pr_perror("cannot make an inotify non-blocking");
		return -1;
	}
	while (read(ifd, buf, sizeof(buf)) > 0)
		;
	if (errno != EAGAIN) {
		pr_perror("cannot drain an inotify queue");
		ret = -1;
	}
	if (fcntl(ifd, F_SETFL, fl)) {
		pr_perror("cannot restore the flags of an inotify");
		ret = -1;
	}
	return ret;
}

static int cmp_wd(const void *a, const void *b)
{
	const InotifyWdEntry *x = *(InotifyWdEntry *const *)a, *y = *(InotifyWdEntry *const *)b;

	return x->wd < y->wd ? -1 : x->wd > y->wd;
}

static int open_inotify(FileEntry *fe, int *fd)
{
	InotifyFileEntry *ie = fe->ify;
	size_t i;

	if (!ie) {
		pr_err("files.img: file %u of type INOTIFY has no inotify entry\n", fe->id);
		return -1;
	}
	*fd = inotify_init1(IN_CLOEXEC | (ie->flags & O_NONBLOCK));
	if (*fd < 0) {
		pr_perror("cannot create inotify %u", fe->id);
		return -1;
	}
	/* wds are handed out in increasing order */
	qsort(ie->wd, ie->n_wd, sizeof(*ie->wd), cmp_wd);
	for (i = 0; i < ie->n_wd; i++) {
		if (!ie->wd[i]->f_handle || ie->wd[i]->wd == 0) {
			pr_err("files.img: inotify %u has a bad watch entry\n", fe->id);
			goto err;
		}
		if (add_watch_at(*fd, ie->wd[i]))
			goto err;
	}
	if (drain_events(*fd) || restore_fown(*fd, ie->fown))
		goto err;
	/* armed again in the task, at its own fd (files.c) */
	if ((ie->flags & O_ASYNC) && fcntl(*fd, F_SETFL, ie->flags & (O_NONBLOCK | O_ASYNC))) {
		pr_perror("cannot set the flags of inotify %u", fe->id);
		goto err;
	}
	pr_debug("inotify %u: %zu watches\n", fe->id, ie->n_wd);
	return 0;
err:
	close(*fd);
	return -1;
}

static bool match_inotify(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:inotify");
}

const struct fd_kind inotify_kind = {
	.name = "inotify",
	.type = FD_TYPES__INOTIFY,
	.match = match_inotify,
	.dump = dump_inotify,
	.open = open_inotify,
};
