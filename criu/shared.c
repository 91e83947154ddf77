// SPDX-License-Identifier: GPL-2.0
/*
 * Processes that share kernel tables without being threads of one
 * another: clone(CLONE_FILES), clone(CLONE_FS) without CLONE_THREAD.
 *
 * Dump: kcmp() tells which live processes share their mm, fd table, fs
 * struct and signal handlers; processes that share one get the same id
 * in ids-PID.img, and the fd table is written once, to
 * fdinfo-<files_id>.img, by the first process that has it.
 *
 * Restore: a table can only be shared by creating a process with the
 * CLONE_* flag from a process that has it, so a process that shares a
 * table with its parent is created by the parent with that flag, after
 * the parent installed it (fds) or before (fs: chdir in either moves
 * both); it does not install the table again.  Every process of a group
 * but its top must share with its parent; anything else is refused.
 * Processes sharing memory (clone(CLONE_VM) or vfork) are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "namespaces.h"
#include "proc_parse.h"
#include "restore.h"
#include "shared.h"
#include "util.h"

enum { SH_VM, SH_FILES, SH_FS, SH_SIGHAND, SH_NR };

static const struct {
	int kcmp;
	const char *what;
} objs[SH_NR] = {
	[SH_VM] = { KCMP_VM, "memory" },
	[SH_FILES] = { KCMP_FILES, "fd table" },
	[SH_FS] = { KCMP_FS, "cwd, root and umask" },
	[SH_SIGHAND] = { KCMP_SIGHAND, "signal handlers" },
};

typedef bool (*ids_fn)(struct pstree_item *it, u32 id[SH_NR]);

static bool alive(struct pstree_item *it)
{
	return it->state != TASK_DEAD;
}

static pid_t shown_pid(struct pstree_item *it, bool dump)
{
	return dump ? it->pid : it->vpid;
}

/* The first other live process that has table t of it, or NULL. */
static struct pstree_item *other_sharer(struct pstree_item *it, int t, ids_fn ids)
{
	struct pstree_item *q;
	u32 a[SH_NR], b[SH_NR];

	if (!ids(it, a))
		return NULL;
	for_each_item(q)
		if (q != it && ids(q, b) && a[t] == b[t])
			return q;
	return NULL;
}

static bool shares_with_parent(struct pstree_item *it, int t, ids_fn ids)
{
	u32 a[SH_NR], b[SH_NR];

	return it->parent && ids(it, a) && ids(it->parent, b) && a[t] == b[t];
}

static void report_second_top(struct pstree_item *a, struct pstree_item *b, const char *what,
			      bool dump)
{
	struct pstree_item *x = b->parent ? b : a, *y = x == b ? a : b;

	pr_err("unsupported: pid %d shares its %s with pid %d but not with its parent, pid %d; "
	       "only a parent can hand a table on to a new process\n", shown_pid(x, dump), what,
	       shown_pid(y, dump), x->parent ? shown_pid(x->parent, dump) : 0);
}

/*
 * Each group of processes sharing a table must be a subtree hanging
 * from one top, every other member sharing it with its parent.
 */
static int check_topology(ids_fn ids, bool dump)
{
	struct pstree_item *it, *q;
	u32 a[SH_NR], b[SH_NR];
	int t;

	for_each_item(it) {
		if (!ids(it, a))
			continue;
		for (t = 0; t < SH_NR; t++) {
			q = other_sharer(it, t, ids);
			if (!q)
				continue;
			if (t == SH_VM || t == SH_SIGHAND) {
				pr_err("unsupported: pids %d and %d share their %s without being "
				       "threads (clone(CLONE_VM) or vfork())\n",
				       shown_pid(it, dump), shown_pid(q, dump), objs[t].what);
				return -1;
			}
			if (shares_with_parent(it, t, ids))
				continue;
			/* it is a top; another top of the same group cannot be */
			for_each_item(q) {
				if (q == it || !ids(q, b) || b[t] != a[t] ||
				    shares_with_parent(q, t, ids))
					continue;
				report_second_top(it, q, objs[t].what, dump);
				return -1;
			}
		}
	}
	return 0;
}

/* ---- dump ---- */

struct dump_ids {
	struct pstree_item *it;
	u32 id[SH_NR];
};

static struct dump_ids *dids;
static int nr_dids;

static struct dump_ids *dump_ids_of(struct pstree_item *it)
{
	int i;

	for (i = 0; i < nr_dids; i++)
		if (dids[i].it == it)
			return &dids[i];
	return NULL;
}

static bool dump_ids(struct pstree_item *it, u32 id[SH_NR])
{
	struct dump_ids *d = dump_ids_of(it);
	int t;

	if (!d)
		return false;
	for (t = 0; t < SH_NR; t++)
		id[t] = d->id[t];
	return true;
}

/* Table t of d: the id of an earlier process with the same table, or a new one. */
static int assign_id(struct dump_ids *d, int t)
{
	struct dump_ids *e;
	long r;

	for (e = dids; e < d; e++) {
		r = syscall(SYS_kcmp, e->it->pid, d->it->pid, objs[t].kcmp, 0, 0);
		if (r < 0) {
			pr_perror("kcmp of the %s of pids %d and %d", objs[t].what, e->it->pid,
				  d->it->pid);
			return -1;
		}
		if (r == 0) {
			d->id[t] = e->id[t];
			pr_info("pid %d shares its %s with pid %d\n", d->it->pid, objs[t].what,
				e->it->pid);
			return 0;
		}
	}
	d->id[t] = new_kobj_id();
	return 0;
}

int dump_shared_ids(void)
{
	struct pstree_item *it;
	int t;

	dids = xzalloc(sizeof(*dids) * pstree_count());
	if (!dids)
		return -1;
	for_each_item(it) {
		struct dump_ids *d = &dids[nr_dids];

		if (!alive(it))
			continue;
		d->it = it;
		for (t = 0; t < SH_NR; t++)
			if (assign_id(d, t))
				return -1;
		nr_dids++;
	}
	return check_topology(dump_ids, true);
}

void dump_fill_ids(struct pstree_item *it, TaskKobjIdsEntry *ids)
{
	u32 id[SH_NR];

	if (!dump_ids(it, id))
		return;
	ids->vm_id = id[SH_VM];
	ids->files_id = id[SH_FILES];
	ids->fs_id = id[SH_FS];
	ids->sighand_id = id[SH_SIGHAND];
}

bool dump_files_first(struct pstree_item *it)
{
	struct dump_ids *d = dump_ids_of(it), *e;

	for (e = dids; d && e < d; e++)
		if (e->id[SH_FILES] == d->id[SH_FILES])
			return false;
	return true;
}

pid_t vfork_child(pid_t pid, pid_t tid)
{
	pid_t *kids, found = 0;
	int nr, i;

	if (read_children(pid, &tid, 1, &kids, &nr))
		return 0;
	for (i = 0; i < nr && !found; i++)
		if (syscall(SYS_kcmp, tid, kids[i], KCMP_VM, 0, 0) == 0)
			found = kids[i];
	free(kids);
	return found;
}

void dump_shared_fini(void)
{
	free(dids);
	dids = NULL;
	nr_dids = 0;
}

/* ---- restore ---- */

static bool rst_ids(struct pstree_item *it, u32 id[SH_NR])
{
	struct task_restore *tr = rst_of(it);

	if (!alive(it) || !tr || !tr->ids)
		return false;
	id[SH_VM] = tr->ids->vm_id;
	id[SH_FILES] = tr->ids->files_id;
	id[SH_FS] = tr->ids->fs_id;
	id[SH_SIGHAND] = tr->ids->sighand_id;
	return true;
}

int check_shared_restore(void)
{
	return check_topology(rst_ids, false);
}

unsigned long share_clone_flags(struct pstree_item *it)
{
	unsigned long fl = 0;

	if (shares_with_parent(it, SH_FILES, rst_ids))
		fl |= CLONE_FILES;
	if (shares_with_parent(it, SH_FS, rst_ids))
		fl |= CLONE_FS;
	return fl;
}

bool files_shared(struct pstree_item *it)
{
	return other_sharer(it, SH_FILES, rst_ids) != NULL;
}

bool files_table_owner(struct pstree_item *it)
{
	return !shares_with_parent(it, SH_FILES, rst_ids);
}
