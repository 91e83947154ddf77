// SPDX-License-Identifier: GPL-2.0-only
/*
 * The working directory: a directory the test made and entered; the same
 * path and inode afterwards, and relative names resolve in it.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], now[PATH_MAX], abs[PATH_MAX + 16];
	struct stat before, after, st;
	int fd;

	test_init(argc, argv);
	if (mkdir(test_filename, 0755) || chdir(test_filename)) {
		pr_perror("can't make and enter %s", test_filename);
		return 1;
	}
	if (!getcwd(cwd, sizeof(cwd)) || stat(".", &before)) {
		pr_perror("getcwd");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (!getcwd(now, sizeof(now)) || stat(".", &after)) {
		pr_perror("getcwd");
		return 1;
	}
	if (strcmp(cwd, now)) {
		fail("cwd changed: %s -> %s", cwd, now);
		return 1;
	}
	if (before.st_dev != after.st_dev || before.st_ino != after.st_ino) {
		fail("cwd is another directory now");
		return 1;
	}
	fd = open("relative", O_CREAT | O_WRONLY, 0644);
	if (fd < 0) {
		pr_perror("create ./relative");
		return 1;
	}
	close(fd);
	snprintf(abs, sizeof(abs), "%s/relative", test_filename);
	if (stat(abs, &st)) {
		fail("./relative did not appear in %s", test_filename);
		return 1;
	}
	unlink(abs);
	pass();
	return 0;
}
