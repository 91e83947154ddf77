/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cgroups for the cgroup tests: the test makes its own below where it
 * starts, in the v1 controllers this host has (pids, cpu, memory,
 * freezer) and in the v2 hierarchy, sets properties, moves itself in and
 * afterwards checks the paths in /proc/self/cgroup and the values.
 *
 * The runner (zdtm.py) reads what the test made from FILENAME.cgroups
 * (one directory a line, parents first) and removes it when the test is
 * done; FILENAME.spoil holds "FILE VALUE" lines it writes between dump
 * and restore (desc "cgroups": "spoil"), FILENAME.freezer the cgroup it
 * passes to --freeze-cgroup (desc "freeze_cgroup": true).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

struct cg {
	const char *ctrl;	/* the controller its hierarchy has; "" for v2 */
	const char *sub;	/* below the test's own cgroup, "" for none */
	const char *prop, *value;	/* NULL: none */
	char mnt[256];		/* mount of the hierarchy */
	char start[256];	/* where the test started */
	char path[512];		/* in the hierarchy */
	bool made;
};

static char cg_base[64];

/* the mount of the hierarchy that has ctrl (v1), or the v2 one */
static int cg_mount_of(const char *ctrl, char *mnt, size_t len)
{
	static char buf[1 << 16];
	ssize_t n = read_file("/proc/self/mountinfo", buf, sizeof(buf) - 1);
	char *l, *save = NULL;

	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char root[256], mp[256], type[32], super[512], *sep = strstr(l, " - ");
		char want[64];

		if (!sep || sscanf(l, "%*d %*d %*s %255s %255s", root, mp) != 2 ||
		    sscanf(sep + 3, "%31s %*s %511s", type, super) != 2 || strcmp(root, "/"))
			continue;
		snprintf(want, sizeof(want), ",%s,", ctrl);
		strcat(super, ",");
		memmove(super + 1, super, strlen(super) + 1);
		super[0] = ',';
		if ((!ctrl[0] && !strcmp(type, "cgroup2")) ||
		    (ctrl[0] && !strcmp(type, "cgroup") && strstr(super, want))) {
			snprintf(mnt, len, "%s", mp);
			return 0;
		}
	}
	return -1;
}

/* our path in the hierarchy that has ctrl, from /proc/PID/cgroup */
static int cg_path_of(pid_t pid, const char *ctrl, char *path, size_t len)
{
	char file[64], buf[4096], *l, *save = NULL;
	ssize_t n;

	snprintf(file, sizeof(file), pid ? "/proc/%d/cgroup" : "/proc/self/cgroup", pid);
	n = read_file(file, buf, sizeof(buf) - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *names = strchr(l, ':'), *p = names ? strchr(names + 1, ':') : NULL;
		char want[64], have[256];

		if (!p)
			continue;
		snprintf(have, sizeof(have), ",%.*s,", (int)(p - names - 1), names + 1);
		snprintf(want, sizeof(want), ",%s,", ctrl);
		if ((!ctrl[0] && !strcmp(have, ",,")) || (ctrl[0] && strstr(have, want))) {
			snprintf(path, len, "%s", p + 1);
			return 0;
		}
	}
	return -1;
}

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[1024];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

static int cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[1024];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	n = read_file(path, buf, len - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

static void cg_note(const char *suffix, const char *line)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s.%s", test_filename, suffix);
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
}

static void cg_dir(struct cg *c, char *buf, size_t len, bool sub)
{
	snprintf(buf, len, "%s%s/%s%s%s", c->mnt, strcmp(c->start, "/") ? c->start : "", cg_base,
		 sub && c->sub[0] ? "/" : "", sub ? c->sub : "");
}

/* Where the cgroups of c go, below where the caller is now; nothing made. */
static int cg_plan(struct cg *c, int n, const char *name)
{
	const char *flavor = getenv("ZDTM_FLAVOR");
	char dir[768];
	int i, nr = 0;

	snprintf(cg_base, sizeof(cg_base), "zdtm-%s-%s", name, flavor ? flavor : "x");
	for (i = 0; i < n; i++) {
		c[i].made = false;
		if (cg_mount_of(c[i].ctrl, c[i].mnt, sizeof(c[i].mnt)) ||
		    cg_path_of(0, c[i].ctrl, c[i].start, sizeof(c[i].start)))
			continue;	/* not on this host */
		cg_dir(&c[i], dir, sizeof(dir), true);
		snprintf(c[i].path, sizeof(c[i].path), "%s", dir + strlen(c[i].mnt));
		c[i].made = true;
		nr++;
	}
	return nr;
}

/*
 * Make the cgroups of c (those whose controller the host has), set their
 * property and move the caller in.  Returns how many it made, -1 on error.
 */
static int cg_setup(struct cg *c, int n, const char *name)
{
	char dir[768], top[768];
	int i, made = 0;

	cg_plan(c, n, name);
	for (i = 0; i < n; i++) {
		if (!c[i].made)
			continue;
		c[i].made = false;
		cg_dir(&c[i], top, sizeof(top), false);
		cg_dir(&c[i], dir, sizeof(dir), true);
		/* what a failed run left */
		rmdir(dir);
		rmdir(top);
		if (mkdir(top, 0755) || (c[i].sub[0] && mkdir(dir, 0755))) {
			pr_perror("mkdir %s", dir);
			return -1;
		}
		cg_note("cgroups", top);
		if (c[i].sub[0])
			cg_note("cgroups", dir);
		if (c[i].prop && cg_write(dir, c[i].prop, c[i].value)) {
			pr_perror("cannot set %s/%s to %s", dir, c[i].prop, c[i].value);
			return -1;
		}
		if (cg_write(dir, "cgroup.procs", "0")) {
			pr_perror("cannot move into %s", dir);
			return -1;
		}
		c[i].made = true;
		made++;
	}
	return made;
}

/* The same cgroups and values after the restore? */
static int cg_check(pid_t pid, struct cg *c, int n)
{
	char path[512], val[256], dir[768];
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		if (!c[i].made)
			continue;
		if (cg_path_of(pid, c[i].ctrl, path, sizeof(path)) || strcmp(path, c[i].path)) {
			fail("pid %d: in %s:%s, not %s", pid, c[i].ctrl, path, c[i].path);
			bad++;
			continue;
		}
		cg_dir(&c[i], dir, sizeof(dir), true);
		if (c[i].prop && (cg_read(dir, c[i].prop, val, sizeof(val)) ||
				  strcmp(val, c[i].value))) {
			fail("%s/%s is \"%s\", not \"%s\"", dir, c[i].prop, val, c[i].value);
			bad++;
		}
	}
	return bad ? -1 : 0;
}

/* Back where the test started; the runner removes the directories. */
static void cg_leave(struct cg *c, int n)
{
	char dir[768];
	int i;

	for (i = 0; i < n; i++) {
		if (!c[i].made)
			continue;
		snprintf(dir, sizeof(dir), "%s%s", c[i].mnt, c[i].start);
		cg_write(dir, "cgroup.procs", "0");
	}
}

/* The whole of a one-process cgroup test; before(): what to note for the runner. */
static inline int cg_test_main(int argc, char **argv, struct cg *c, int n, const char *name,
			void (*before)(struct cg *c, int n))
{
	test_init(argc, argv);
	if (cg_setup(c, n, name) <= 0) {
		fail("no cgroup could be made");
		cg_leave(c, n);
		return 1;
	}
	if (before)
		before(c, n);
	test_daemon();
	test_waitsig();
	if (cg_check(0, c, n)) {
		cg_leave(c, n);
		return 1;
	}
	cg_leave(c, n);
	pass();
	return 0;
}
