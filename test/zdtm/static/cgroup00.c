// SPDX-License-Identifier: GPL-2.0-only
/*
 * The test in cgroups of its own, with a property each: pids.max (v1
 * pids, in a child cgroup), cpu.shares (v1 cpu), memory.limit_in_bytes
 * (v1 memory) and cgroup.max.descendants (the v2 hierarchy, in a child
 * cgroup), as far as the host has them.  The runner removes the cgroups
 * between dump and restore (desc "cgroups": "remove"), so the default
 * mode (soft) must make them again with their properties and put the
 * test back in before it runs.
 */
#include "cgroup_util.h"

static struct cg cgs[] = {
	{ .ctrl = "pids", .sub = "sub", .prop = "pids.max", .value = "37" },
	{ .ctrl = "cpu", .sub = "", .prop = "cpu.shares", .value = "512" },
	{ .ctrl = "memory", .sub = "", .prop = "memory.limit_in_bytes", .value = "268435456" },
	{ .ctrl = "", .sub = "inner", .prop = "cgroup.max.descendants", .value = "5" },
};

int main(int argc, char **argv)
{
	return cg_test_main(argc, argv, cgs, sizeof(cgs) / sizeof(cgs[0]), "cgroup00", NULL);
}
