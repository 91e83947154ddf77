/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_CGROUP_H
#define CR_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

struct pstree_item;

/* --manage-cgroups modes (CRIU's meanings); CG_MODE_SOFT is the default */
enum cg_mode {
	CG_MODE_IGNORE,		/* no cgroups at all: tasks stay in criu's */
	CG_MODE_NONE,		/* cgroups must exist; no property written */
	CG_MODE_PROPS,		/* cgroups must exist; properties written */
	CG_MODE_SOFT,		/* missing ones made with their properties */
	CG_MODE_FULL,		/* missing ones made; properties written on all */
	CG_MODE_STRICT,		/* none may exist; all made with their properties */
};

/* options: 0 or -1 with the reason on stderr */
int cg_mode_parse(const char *arg);		/* NULL: soft; -1 if unknown */
int cg_root_add(const char *ctrl, const char *path);	/* ctrl NULL: every controller */
int cg_root_parse(const char *arg);		/* "[controller:]/path" */
int cg_dump_controller_add(const char *name);
/* --cgroup-props and --cgroup-props-file (CRIU's simplified YAML) */
int cg_props_add_spec(const char *spec, size_t len);
int cg_props_add_file(const char *path);

/* cgroup-props.c: the control files dumped for a controller, NULL-ended */
const char *const *cg_props_of(const char *controller, int *nr);
bool cg_prop_is_early(const char *name);
/* v1: the files every hierarchy has (cgroup.procs, tasks: owner and mode only) */
const char *const *cg_global_props(bool v2);

/* dump (cgroup.c) */
int dump_task_cgroup(pid_t pid, u32 *set_id);	/* the set of a task of the tree */
u32 dump_criu_cgroup_set(void);			/* criu's own set: inventory's root_cg_set */
int dump_cgroups(void);				/* cgroup.img */
void cgroup_dump_fini(void);

/* restore (cgroup.c) */
void cgroup_note_inventory(bool has_root_set, u32 root_set);
int prepare_cgroups(void);			/* before the fork: dirs, cgroup.procs fds */
int restore_task_cgroup(struct pstree_item *it);	/* in the new task, first thing */
int restore_cgroup_props(void);			/* once every task is made */
int restore_cgroup_freezer(void);		/* at the very end: a frozen tree stays so */
void cgroup_restore_failed(void);		/* remove the cgroups it made */
void cgroup_restore_fini(void);

/* --freeze-cgroup (cgroup-freeze.c) */
int freezer_freeze(void);			/* freeze, seize all, thaw; 0 when not asked */
bool freezer_preseized(pid_t tid);		/* seized by freezer_freeze(): claims it */
void freezer_forget_outsiders(void);
const char *freezer_dumped_state(bool v2);	/* NULL if not frozen that way */
int freezer_restore_state(void);		/* after the dump: frozen again if it was */

#endif
