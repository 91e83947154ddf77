// SPDX-License-Identifier: GPL-2.0-only
/* /proc/self/exe: the same path, and the same file behind it. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

struct exe {
	char path[4096];
	struct stat st;
};

static int get_exe(struct exe *e)
{
	ssize_t len;

	len = readlink("/proc/self/exe", e->path, sizeof(e->path) - 1);
	if (len < 0) {
		pr_perror("readlink /proc/self/exe");
		return 1;
	}
	e->path[len] = '\0';
	if (stat("/proc/self/exe", &e->st)) {
		pr_perror("stat /proc/self/exe");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct exe a, b;

	test_init(argc, argv);
	if (get_exe(&a))
		return 1;

	test_daemon();
	test_waitsig();

	if (get_exe(&b))
		return 1;
	if (strcmp(a.path, b.path)) {
		fail("exe link changed: %s -> %s", a.path, b.path);
		return 1;
	}
	if (a.st.st_dev != b.st.st_dev || a.st.st_ino != b.st.st_ino) {
		fail("exe file changed: %lx:%lu -> %lx:%lu", (unsigned long)a.st.st_dev,
		     (unsigned long)a.st.st_ino, (unsigned long)b.st.st_dev,
		     (unsigned long)b.st.st_ino);
		return 1;
	}
	pass();
	return 0;
}
