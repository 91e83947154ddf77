/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_MOUNT_INTERNAL_H
#define CR_MOUNT_INTERNAL_H

#include <limits.h>
#include <stdbool.h>

#include "mount.h"
#include "util.h"

/* one line of mountinfo; the strings point into the text */
struct mi {
	int id, parent;
	unsigned int maj, min;
	char *root, *mp, *mopts, *fstype, *source, *sopts;
	int shared, master;
};

int parse_mountinfo(char *buf, struct mi **out, int *nr);
/* path is dir or below it; rest: what follows dir ("" or "/...") */
bool path_under(const char *path, const char *dir, const char **rest);

#define MAX_EXT_MAPS 128
struct ext_map {
	char *key, *val;
};
extern struct ext_map ext_maps[MAX_EXT_MAPS];
extern int nr_ext_maps;
const char *ext_map_find(const char *key);
/* the kernel's name of an fstype of the images */
const char *fstype_name(u32 type);

#endif
