// SPDX-License-Identifier: GPL-2.0
/*
 * The --external list.  Each entry is "KIND[ID]:VALUE"; a user of a kind
 * looks up "KIND[ID]" and gets VALUE.  Kept as given: the parts are the
 * users' to read (veth: net-ns.c).
 */
#include <string.h>

#include "external.h"
#include "log.h"
#include "util.h"

static char **ext;
static int nr_ext;

int external_add(const char *spec)
{
	const char *close = strchr(spec, ']');
	char **n;

	if (!strchr(spec, '[') || !close || close[1] != ':' || !close[2]) {
		pr_err("--external %s: want KIND[ID]:VALUE, e.g. veth[eth0]:vh0\n", spec);
		return -1;
	}
	n = xrealloc(ext, (nr_ext + 1) * sizeof(*n));
	if (!n)
		return -1;
	ext = n;
	ext[nr_ext] = strdup(spec);
	if (!ext[nr_ext])
		return -1;
	pr_debug("external: %s\n", spec);
	nr_ext++;
	return 0;
}

const char *external_lookup(const char *key)
{
	size_t len = strlen(key);
	int i;

	for (i = nr_ext - 1; i >= 0; i--)
		if (!strncmp(ext[i], key, len) && ext[i][len] == ':')
			return ext[i] + len + 1;
	return NULL;
}
