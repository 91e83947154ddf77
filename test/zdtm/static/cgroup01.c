// SPDX-License-Identifier: GPL-2.0-only
/*
 * As cgroup00, restored with --manage-cgroups=full: the cgroups are still
 * there at restore, but the runner spoils every property between dump
 * and restore (desc "cgroups": "spoil"); full mode must write the dumped
 * values back into cgroups it did not make, and put the test back in.
 */
#include "cgroup_util.h"

static struct cg cgs[] = {
	{ .ctrl = "pids", .sub = "sub", .prop = "pids.max", .value = "41" },
	{ .ctrl = "cpu", .sub = "", .prop = "cpu.shares", .value = "256" },
	{ .ctrl = "memory", .sub = "", .prop = "memory.limit_in_bytes", .value = "134217728" },
	{ .ctrl = "", .sub = "inner", .prop = "cgroup.max.descendants", .value = "3" },
};

static const char *const spoiled[] = { "99", "1024", "536870912", "9" };

/* the runner writes these between dump and restore */
static void note_spoils(struct cg *c, int n)
{
	char line[1024], dir[768];
	int i;

	for (i = 0; i < n; i++) {
		if (!c[i].made)
			continue;
		cg_dir(&c[i], dir, sizeof(dir), true);
		snprintf(line, sizeof(line), "%s/%s %s", dir, c[i].prop, spoiled[i]);
		cg_note("spoil", line);
	}
}

int main(int argc, char **argv)
{
	return cg_test_main(argc, argv, cgs, sizeof(cgs) / sizeof(cgs[0]), "cgroup01",
			    note_spoils);
}
