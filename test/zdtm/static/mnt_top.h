/* SPDX-License-Identifier: GPL-2.0 */
#ifndef ZDTM_MNT_TOP_H
#define ZDTM_MNT_TOP_H

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The top directory of the checkout the test runs from ("/work" for
 * /work/main/...): the mount tests bind it into their new root so that
 * the test's own files (outfile, pidfile) are reachable after pivot_root.
 */
static inline const char *mnt_top(void)
{
	static char top[PATH_MAX];
	char *s;

	if (top[0])
		return top;
	if (!getcwd(top, sizeof(top)))
		snprintf(top, sizeof(top), "/work");
	s = strchr(top + 1, '/');
	if (s)
		*s = '\0';
	return top;
}

#endif
