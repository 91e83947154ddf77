// SPDX-License-Identifier: GPL-2.0-only
/*
 * Open regular files: read-only at an offset, read-write with O_APPEND,
 * write-only with close-on-exec, and a dup() sharing an offset.  The
 * flags, fd flags, offsets and the file behind each descriptor are kept,
 * and the shared offset is still shared.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FILE_SIZE (3 * PAGE_SIZE)
#define STATUS_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK)

struct fdesc {
	int fd, flags, fdflags;
	off_t pos;
};

static struct fdesc fds[4]; /* ro, rw|append, wo|cloexec, dup of ro */

static int snap(struct fdesc *d)
{
	d->flags = fcntl(d->fd, F_GETFL);
	d->fdflags = fcntl(d->fd, F_GETFD);
	d->pos = lseek(d->fd, 0, SEEK_CUR);
	return d->flags < 0 || d->fdflags < 0 || d->pos < 0;
}

static int make_file(void)
{
	char buf[FILE_SIZE];
	int fd;

	datagen(buf, sizeof(buf), 5);
	fd = open(test_filename, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || write_all(fd, buf, sizeof(buf)) || close(fd))
		return -1;
	return 0;
}

static int check_fds(void)
{
	struct stat st, fst;
	struct fdesc now;
	unsigned int i;

	if (stat(test_filename, &st)) {
		pr_perror("stat");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		now.fd = fds[i].fd;
		if (snap(&now) || fstat(now.fd, &fst)) {
			pr_perror("fd %d is gone", now.fd);
			return 1;
		}
		if ((now.flags & STATUS_FLAGS) != (fds[i].flags & STATUS_FLAGS) ||
		    now.fdflags != fds[i].fdflags || now.pos != fds[i].pos) {
			fail("fd %d: flags %#x fd flags %#x pos %ld, was %#x %#x %ld", now.fd,
			     now.flags, now.fdflags, (long)now.pos, fds[i].flags, fds[i].fdflags,
			     (long)fds[i].pos);
			return 1;
		}
		if (fst.st_ino != st.st_ino || fst.st_dev != st.st_dev) {
			fail("fd %d is another file now", now.fd);
			return 1;
		}
	}
	return 0;
}

static int check_io(void)
{
	char buf[100], want[FILE_SIZE];
	struct stat st;

	datagen(want, sizeof(want), 5);
	/* The read-only fd reads on from its offset... */
	if (read_all(fds[0].fd, buf, sizeof(buf)) || memcmp(buf, want + fds[0].pos, sizeof(buf))) {
		fail("reading at the saved offset gives other data");
		return 1;
	}
	/* ...and its dup() moved with it. */
	if (lseek(fds[3].fd, 0, SEEK_CUR) != fds[0].pos + (off_t)sizeof(buf)) {
		fail("the dup()ed fd does not share the offset any more");
		return 1;
	}
	/* O_APPEND writes go to the end wherever the offset is. */
	if (lseek(fds[1].fd, 0, SEEK_SET) || write_all(fds[1].fd, "tail", 4) ||
	    fstat(fds[1].fd, &st) || st.st_size != FILE_SIZE + 4) {
		fail("O_APPEND write did not go to the end");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int i;

	test_init(argc, argv);
	if (make_file()) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	fds[0].fd = open(test_filename, O_RDONLY);
	fds[1].fd = open(test_filename, O_RDWR | O_APPEND);
	fds[2].fd = open(test_filename, O_WRONLY | O_CLOEXEC);
	fds[3].fd = dup(fds[0].fd);
	if (fds[0].fd < 0 || fds[1].fd < 0 || fds[2].fd < 0 || fds[3].fd < 0) {
		pr_perror("open");
		return 1;
	}
	if (lseek(fds[0].fd, 1234, SEEK_SET) != 1234 || lseek(fds[1].fd, 777, SEEK_SET) != 777 ||
	    lseek(fds[2].fd, PAGE_SIZE + 5, SEEK_SET) != PAGE_SIZE + 5) {
		pr_perror("lseek");
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(fds); i++)
		if (snap(&fds[i])) {
			pr_perror("fcntl");
			return 1;
		}

	test_daemon();
	test_waitsig();

	if (check_fds() || check_io())
		return 1;
	pass();
	return 0;
}
