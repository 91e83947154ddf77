// SPDX-License-Identifier: GPL-2.0
/*
 * What criu itself holds when a command ends: its open descriptors and
 * peak memory, in the log, so that tests can see leaks across runs.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "selfstat.h"
#include "util.h"

static long peak_rss_kb(void)
{
	char *buf, *p;
	long kb = -1;

	if (read_file("/proc/self/status", &buf) < 0)
		return -1;
	p = strstr(buf, "\nVmHWM:");
	if (p)
		kb = strtol(p + 7, NULL, 10);
	free(buf);
	return kb;
}

void log_own_resources(const char *cmd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[300], link[256];
		ssize_t len;

		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		link[len > 0 ? len : 0] = '\0';
		pr_debug("criu %s ends with fd %s open: %s\n", cmd, de->d_name, link);
	}
	closedir(d);
	pr_info("criu %s ends with %d fds open, peak RSS %ld kB\n", cmd, n, peak_rss_kb());
}
