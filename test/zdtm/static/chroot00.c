// SPDX-License-Identifier: GPL-2.0-only
/*
 * A task whose root is not "/": it chroot()ed into a directory of its
 * own.  Afterwards "/" is still that directory, a file made there before
 * is still "/marker", and the cwd is still inside it.  The test leaves
 * the chroot only after its checks (through a descriptor of the real
 * root), to write its verdict.
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
	struct stat root0, root1, mark0, mark1, sub0, sub1;
	char cwd[PATH_MAX], path[PATH_MAX + 16];
	const char *msg = NULL;
	int fd, realroot;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/sub", test_filename);
	if (mkdir(test_filename, 0755) || mkdir(path, 0755)) {
		pr_perror("can't make %s", path);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/marker", test_filename);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0 || write(fd, "chroot", 6) != 6 || close(fd)) {
		pr_perror("can't write %s", path);
		return 1;
	}
	realroot = open("/", O_PATH | O_DIRECTORY);
	if (realroot < 0) {
		pr_perror("can't open /");
		return 1;
	}
	test_daemon();
	if (chroot(test_filename) || chdir("/sub")) {
		pr_perror("can't chroot into %s", test_filename);
		return 1;
	}
	if (stat("/", &root0) || stat("/marker", &mark0) || stat(".", &sub0)) {
		pr_perror("stat in the new root");
		return 1;
	}

	test_waitsig();

	if (stat("/", &root1) || stat("/marker", &mark1) || stat(".", &sub1))
		msg = "the chroot is gone: stat of /, /marker or . fails";
	else if (root0.st_ino != root1.st_ino || root0.st_dev != root1.st_dev ||
		 mark0.st_ino != mark1.st_ino)
		msg = "/ is another directory now";
	else if (sub0.st_ino != sub1.st_ino || !getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/sub"))
		msg = "the cwd is not /sub of the chroot";
	if (fchdir(realroot) || chroot(".")) {
		pr_perror("can't leave the chroot");
		return 1;
	}
	if (msg) {
		fail("%s", msg);
		return 1;
	}
	pass();
	return 0;
}
