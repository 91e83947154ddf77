/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by cgroup.c, cgroup-dir.c, cgroup-props.c and cgroup-freeze.c. */
#ifndef CR_CGROUP_INTERNAL_H
#define CR_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.pb-c.h"

/* a task's place in one hierarchy, as /proc/PID/cgroup names it */
struct cg_member {
	char *name;		/* "cpu,cpuacct", "name=systemd", "" for v2 */
	char *path;
};

/* a hierarchy criu reaches: fd is its root as criu's cgroup namespace sees it */
struct cg_hier {
	char *name;
	int fd;
	char *prefix;		/* the hierarchy path fd stands for ("/" mostly) */
	bool v2;
};

int cg_parse_proc(pid_t pid, struct cg_member **m, int *nr);	/* 0: criu */
void cg_members_free(struct cg_member *m, int n);
const char *cg_member_path(struct cg_member *m, int n, const char *name);
bool cg_path_within(const char *path, const char *dir);		/* strictly below */
int cg_split_names(const char *name, char ***cnames, size_t *n);
char *cg_join_names(char **cnames, size_t n);

/* options (cgroup-props.c) */
bool cg_controller_dumped(const char *name);
const char *cg_root_of(const char *name);	/* --cgroup-root for it, or NULL */
const char *cg_mode_name(int mode);

/* hierarchies and their directories (cgroup-dir.c) */
int cg_open_hier(const char *name, struct cg_hier *h);
void cg_close_hier(struct cg_hier *h);
/* path of the hierarchy relative to h->fd, for the *at() calls */
const char *cg_rel(const struct cg_hier *h, const char *path, char *buf, size_t len);
/* only: NULL-ended paths; the subtree holds only what leads to them (NULL: all) */
CgroupDirEntry *cg_dump_dir(struct cg_hier *h, const char *path, const char *dir_name,
			    const char *const *only);
void cg_free_dir(CgroupDirEntry *de);
int cg_add_freezer_state(CgControllerEntry *cc, const char *name, struct cg_hier *h);

/* a cgroup whose properties are written once the tasks are made */
struct cg_late {
	int hier;
	char *path;
	CgroupDirEntry *de;
};
int cg_make_dirs(struct cg_hier *h, int hier, const char *parent, CgroupDirEntry *de,
		 struct cg_late **late, int *nr_late);
int cg_write_at(int dfd, const char *file, const char *val);
void cg_remove_made(bool remove);
int cg_write_props(struct cg_hier *h, const char *path, CgroupDirEntry *de, bool early);

#endif
