// SPDX-License-Identifier: GPL-2.0-only
/* The file mode creation mask: kept, and still applied to new files. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MASK 0153

static int status_umask(unsigned int *mask)
{
	char buf[4096], *p;
	ssize_t len;

	len = read_file("/proc/self/status", buf, sizeof(buf) - 1);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	p = strstr(buf, "Umask:");
	if (!p || sscanf(p + 6, "%o", mask) != 1)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int status;
	struct stat st;
	mode_t old;
	int fd;

	test_init(argc, argv);
	umask(MASK);

	test_daemon();
	test_waitsig();

	if (status_umask(&status) || status != MASK) {
		fail("status says umask %o, want %o", status, MASK);
		return 1;
	}
	old = umask(MASK);
	if (old != MASK) {
		fail("umask is %o, want %o", old, MASK);
		return 1;
	}
	fd = open(test_filename, O_CREAT | O_EXCL | O_WRONLY, 0777);
	if (fd < 0 || fstat(fd, &st)) {
		pr_perror("create %s", test_filename);
		return 1;
	}
	close(fd);
	unlink(test_filename);
	if ((st.st_mode & 0777) != (0777 & ~MASK)) {
		fail("new file mode %o, want %o", st.st_mode & 0777, 0777 & ~MASK);
		return 1;
	}
	pass();
	return 0;
}
