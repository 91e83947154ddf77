// SPDX-License-Identifier: GPL-2.0
/*
 * Which already dumped open file description an fd refers to: an index
 * of the descriptions by inode and kernel file object (see below).
 */
#include <linux/kcmp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files.h"
#include "list.h"
#include "log.h"
#include "util.h"

static long kcmp_file(pid_t p1, pid_t p2, int fd1, int fd2)
{
	return syscall(SYS_kcmp, p1, p2, KCMP_FILE, fd1, fd2);
}

static struct dumped_file **fd_index;
static size_t nr_fd_index, fd_index_cap;
static bool fd_index_broken;

/*
 * The dumped descriptions reached through an fd, sorted by inode and then
 * by kcmp's order of the kernel's file objects (a total order), so that
 * finding a description costs log(n) kcmp calls, not one per description
 * of the same inode (every task's own /dev/null, say).  If a kcmp fails,
 * the list is searched one by one from then on.
 */
/* p's file against d's: <0 before, 0 the same, >0 after; *err on failure */
static int cmp_description(const struct fd_parms *p, const struct dumped_file *d, bool *err)
{
	long r;

	if ((u64)p->st.st_dev != d->dev)
		return (u64)p->st.st_dev < d->dev ? -1 : 1;
	if ((u64)p->st.st_ino != d->ino)
		return (u64)p->st.st_ino < d->ino ? -1 : 1;
	r = kcmp_file(p->pid, d->pid, p->fd, d->fd);
	if (r == 0 || r == 1 || r == 2)
		return r == 0 ? 0 : r == 1 ? -1 : 1;
	*err = true;
	return 1;
}

/* Where p's description is or would go in the index. */
static size_t fd_index_pos(const struct fd_parms *p, bool *found, bool *err)
{
	size_t lo = 0, hi = nr_fd_index;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_description(p, fd_index[mid], err);

		if (*err)
			return 0;
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void fd_index_add(const struct fd_parms *p, struct dumped_file *d)
{
	bool found, err = false;
	size_t pos;

	if (fd_index_broken)
		return;
	pos = fd_index_pos(p, &found, &err);
	if (!err && nr_fd_index == fd_index_cap) {
		size_t cap = fd_index_cap ? fd_index_cap * 2 : 256;
		struct dumped_file **n = xrealloc(fd_index, cap * sizeof(*n));

		if (!n)
			err = true;
		else {
			fd_index = n;
			fd_index_cap = cap;
		}
	}
	if (err || found) {
		pr_debug("pid %d fd %d: files are compared one by one from now on\n", p->pid,
			 p->fd);
		fd_index_broken = true;
		return;
	}
	memmove(fd_index + pos + 1, fd_index + pos, (nr_fd_index - pos) * sizeof(*fd_index));
	fd_index[pos] = d;
	nr_fd_index++;
}

/* An already dumped description this fd refers to, or NULL. */
struct dumped_file *find_same_description(struct fd_parms *p)
{
	struct dumped_file *d;
	bool found, err = false;
	size_t pos;

	if (!fd_index_broken) {
		pos = fd_index_pos(p, &found, &err);
		if (!err)
			return found ? fd_index[pos] : NULL;
	}
	list_for_each_entry(d, &dumped_files, list) {
		if (d->fd < 0 || d->dev != p->st.st_dev || d->ino != p->st.st_ino)
			continue;
		if (kcmp_file(d->pid, p->pid, d->fd, p->fd) == 0)
			return d;
	}
	return NULL;
}

void fd_index_free(void)
{
	free(fd_index);
	fd_index = NULL;
	nr_fd_index = fd_index_cap = 0;
	fd_index_broken = false;
}
