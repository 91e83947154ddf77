// SPDX-License-Identifier: GPL-2.0-only
/* Descriptors of character devices: /dev/null read-write, /dev/zero read-only. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "zdtmtst.h"

static int check_dev(int fd, dev_t rdev, int acc, const char *name)
{
	struct stat st;

	if (fstat(fd, &st)) {
		pr_perror("fstat %s", name);
		return 1;
	}
	if (!S_ISCHR(st.st_mode) || st.st_rdev != rdev) {
		fail("fd %d is not %s any more", fd, name);
		return 1;
	}
	if ((fcntl(fd, F_GETFL) & O_ACCMODE) != acc) {
		fail("%s access mode changed", name);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char buf[256];
	int null, zero;

	test_init(argc, argv);
	null = open("/dev/null", O_RDWR);
	zero = open("/dev/zero", O_RDONLY);
	if (null < 0 || zero < 0) {
		pr_perror("open");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_dev(null, makedev(1, 3), O_RDWR, "/dev/null") ||
	    check_dev(zero, makedev(1, 5), O_RDONLY, "/dev/zero"))
		return 1;
	if (write(null, buf, sizeof(buf)) != sizeof(buf) || read(null, buf, sizeof(buf)) != 0) {
		fail("/dev/null does not behave");
		return 1;
	}
	if (read(zero, buf, sizeof(buf)) != sizeof(buf) || !is_zero(buf, sizeof(buf))) {
		fail("/dev/zero does not behave");
		return 1;
	}
	pass();
	return 0;
}
