// SPDX-License-Identifier: GPL-2.0
/*
 * Joining existing namespaces at restore (--join-ns, RPC join_ns): the
 * root is not cloned into a new namespace of that kind and what the images
 * hold of it (hostname, SysV objects) is not restored; the root setns()es
 * into the given one before anything else of it is made, so every task of
 * the tree is in it.  Only uts and ipc, the ones crun joins for a pod;
 * CRIU's user-namespace options are not taken.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "join-ns.h"
#include "log.h"

static struct join {
	const char *name;
	int flag;
	char path[256];
	int fd;
} joins[] = {
	{ "uts", CLONE_NEWUTS, "", -1 },
	{ "ipc", CLONE_NEWIPC, "", -1 },
};

int join_ns_add(const char *ns, const char *target, const char *extra)
{
	const char *t = target;
	size_t i;

	if (extra && *extra) {
		pr_err("unsupported: --join-ns %s options '%s' (only for a user namespace)\n", ns,
		       extra);
		return -1;
	}
	for (i = 0; i < ARRAY_SIZE(joins); i++) {
		if (strcmp(joins[i].name, ns))
			continue;
		while (*t && isdigit((unsigned char)*t))
			t++;
		if (!*target) {
			pr_err("--join-ns %s: no pid or namespace file\n", ns);
			return -1;
		}
		if (!*t)	/* a pid: its namespace */
			snprintf(joins[i].path, sizeof(joins[i].path), "/proc/%s/ns/%s", target,
				 ns);
		else
			snprintf(joins[i].path, sizeof(joins[i].path), "%s", target);
		return 0;
	}
	pr_err("unsupported: --join-ns %s (only uts and ipc are joined)\n", ns);
	return -1;
}

int join_ns_parse(const char *arg)
{
	char buf[512], *colon, *comma;

	snprintf(buf, sizeof(buf), "%s", arg);
	colon = strchr(buf, ':');
	if (!colon) {
		pr_err("bad --join-ns '%s': NS:{PID|FILE}[,OPTIONS]\n", arg);
		return -1;
	}
	*colon = '\0';
	comma = strchr(colon + 1, ',');
	if (comma)
		*comma++ = '\0';
	return join_ns_add(buf, colon + 1, comma);
}

int join_ns_prepare(u32 *flags)
{
	size_t i;

	*flags = 0;
	for (i = 0; i < ARRAY_SIZE(joins); i++) {
		if (!joins[i].path[0] || joins[i].fd >= 0)
			continue;
		joins[i].fd = open(joins[i].path, O_RDONLY | O_CLOEXEC);
		if (joins[i].fd < 0) {
			pr_perror("--join-ns %s: cannot open %s", joins[i].name, joins[i].path);
			return -1;
		}
		*flags |= joins[i].flag;
		pr_info("the tree joins the %s namespace %s\n", joins[i].name, joins[i].path);
	}
	return 0;
}

int join_ns_enter(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(joins); i++) {
		if (joins[i].fd < 0)
			continue;
		if (setns(joins[i].fd, joins[i].flag)) {
			pr_perror("cannot join the %s namespace %s", joins[i].name, joins[i].path);
			return -1;
		}
		close(joins[i].fd);
		joins[i].fd = -1;
	}
	return 0;
}
