// SPDX-License-Identifier: GPL-2.0
/*
 * The --external list: KEY[:VALUE], where a KEY of the form KIND[ID] may
 * hold colons inside its brackets.  The users of a kind look their keys
 * up (veth[NAME]: net-ns.c); the last one given for a key counts.
 */
#include <stdlib.h>
#include <string.h>

#include "external.h"
#include "log.h"
#include "util.h"

struct ext {
	char *key, *value;
	struct ext *next;
};

static struct ext *externals;

int external_add(const char *arg)
{
	const char *br = strchr(arg, '[');
	const char *colon = br && strchr(br, ']') ? strchr(strchr(br, ']'), ':') : strchr(arg, ':');
	struct ext *e = xzalloc(sizeof(*e));

	if (!e)
		return -1;
	e->key = colon ? strndup(arg, colon - arg) : strdup(arg);
	e->value = strdup(colon ? colon + 1 : "");
	if (!e->key || !e->value || !*e->key) {
		pr_err("bad --external '%s': want KEY[:VALUE], e.g. veth[eth0]:vh0\n", arg);
		free(e->key);
		free(e->value);
		free(e);
		return -1;
	}
	e->next = externals;
	externals = e;
	pr_info("external: %s%s%s\n", e->key, *e->value ? " as " : "", e->value);
	return 0;
}

const char *external_value(const char *key)
{
	struct ext *e;

	for (e = externals; e; e = e->next)
		if (!strcmp(e->key, key))
			return e->value;
	return NULL;
}
