// SPDX-License-Identifier: GPL-2.0
/*
 * Processes that share kernel tables without being threads of one
 * another: clone() with CLONE_FILES, CLONE_FS, CLONE_VM or CLONE_SIGHAND
 * but without CLONE_THREAD.
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
 *
 * A process on the mm of its parent (clone(CLONE_VM) without
 * CLONE_THREAD) is created by the parent just before the restorer runs,
 * into the blob's vm_child_main() on a stack in the parent's bootstrap
 * area; it waits until the parent's restorer has rebuilt the mm, then sets
 * up its own session, fds, cwd and root and restores itself like any
 * process.  It must have no children.  A parent waiting in vfork() cannot
 * be stopped at all: that is refused while freezing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files.h"
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
 * A process on the mm of its parent is created from the parent's restorer
 * code, where it cannot fork children of its own in C: it must have none.
 * Signal handlers can only be shared along with the mm.
 */
static int check_vm_child(struct pstree_item *it, ids_fn ids, bool dump)
{
	if (!shares_with_parent(it, SH_VM, ids)) {
		pr_err("unsupported: pid %d shares its signal handlers with its parent %d but "
		       "not its memory\n", shown_pid(it, dump), shown_pid(it->parent, dump));
		return -1;
	}
	if (!list_empty(&it->children)) {
		pr_err("unsupported: pid %d shares the memory of its parent %d (clone(CLONE_VM)) "
		       "and has children of its own\n", shown_pid(it, dump),
		       shown_pid(it->parent, dump));
		return -1;
	}
	return 0;
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
			if (shares_with_parent(it, t, ids)) {
				if ((t == SH_VM || t == SH_SIGHAND) && check_vm_child(it, ids, dump))
					return -1;
				continue;
			}
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
	bool files_first;	/* no process before it has its fd table */
};

/* sorted by item address once the ids are given, for bsearch */
static struct dump_ids *dids;
static int nr_dids;

static int cmp_item(const void *a, const void *b)
{
	const struct dump_ids *x = a, *y = b;

	return x->it < y->it ? -1 : x->it > y->it;
}

static struct dump_ids *dump_ids_of(struct pstree_item *it)
{
	struct dump_ids key = { .it = it };

	return bsearch(&key, dids, nr_dids, sizeof(*dids), cmp_item);
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

/*
 * The first process seen with each distinct table of each type, sorted
 * by kcmp's order of the kernel objects (a total order): a new process
 * finds the one it shares with in log(n) kcmp calls, not n.
 */
struct table_holder {
	pid_t pid;
	u32 id;
};

static struct table_holder *holders[SH_NR];
static int nr_holders[SH_NR];

/* Where pid's table t is (*found) or would go among the holders; -1 on error */
static int find_holder(int t, pid_t pid, bool *found)
{
	int lo = 0, hi = nr_holders[t];

	*found = false;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		long r = syscall(SYS_kcmp, holders[t][mid].pid, pid, objs[t].kcmp, 0, 0);

		if (r < 0 || r > 2) {
			pr_perror("kcmp of the %s of pids %d and %d", objs[t].what,
				  holders[t][mid].pid, pid);
			return -1;
		}
		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r == 1)	/* the holder's object is below ours */
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Table t of d: the id of an earlier process with the same table, or a new one. */
static int assign_id(struct dump_ids *d, int t)
{
	struct table_holder *h = holders[t];
	bool found;
	int pos = find_holder(t, d->it->pid, &found);

	if (pos < 0)
		return -1;
	if (found) {
		d->id[t] = h[pos].id;
		d->files_first = d->files_first && t != SH_FILES;
		pr_info("pid %d shares its %s with pid %d\n", d->it->pid, objs[t].what,
			h[pos].pid);
		return 0;
	}
	d->id[t] = new_kobj_id();
	/* room for one per process was made in dump_shared_ids() */
	memmove(h + pos + 1, h + pos, (nr_holders[t] - pos) * sizeof(*h));
	h[pos].pid = d->it->pid;
	h[pos].id = d->id[t];
	nr_holders[t]++;
	return 0;
}

static void free_holders(void)
{
	int t;

	for (t = 0; t < SH_NR; t++) {
		free(holders[t]);
		holders[t] = NULL;
		nr_holders[t] = 0;
	}
}

int dump_shared_ids(void)
{
	struct pstree_item *it;
	int t, ret = -1;

	dids = xzalloc(sizeof(*dids) * pstree_count());
	if (!dids)
		return -1;
	for (t = 0; t < SH_NR; t++) {
		holders[t] = xmalloc(sizeof(*holders[t]) * pstree_count());
		if (!holders[t])
			goto out;
	}
	for_each_item(it) {
		struct dump_ids *d = &dids[nr_dids];

		if (!alive(it))
			continue;
		d->it = it;
		d->files_first = true;
		for (t = 0; t < SH_NR; t++)
			if (assign_id(d, t))
				goto out;
		nr_dids++;
	}
	ret = 0;
out:
	free_holders();
	if (ret)
		return -1;
	qsort(dids, nr_dids, sizeof(*dids), cmp_item);
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
	struct dump_ids *d = dump_ids_of(it);

	return !d || d->files_first;
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

bool is_vm_child(struct pstree_item *it)
{
	return shares_with_parent(it, SH_VM, rst_ids);
}

unsigned long vm_clone_flags(struct pstree_item *it)
{
	return shares_with_parent(it, SH_SIGHAND, rst_ids) ? CLONE_SIGHAND : 0;
}

int nr_vm_children(struct pstree_item *it)
{
	struct pstree_item *c;
	int n = 0;

	list_for_each_entry(c, &it->children, sibling)
		n += is_vm_child(c);
	return n;
}

int vm_threads(struct pstree_item *it)
{
	struct pstree_item *c;
	int n = it->nr_threads;

	list_for_each_entry(c, &it->children, sibling)
		if (is_vm_child(c))
			n += c->nr_threads;
	return n;
}

/* Its own fds, when it does not share the table of its parent. */
static int prepare_vm_child_fds(struct pstree_item *c, struct rst_mem *m, struct rst_args *a)
{
	struct task_restore *tr = rst_of(c);
	struct rst_fd *fds;
	size_t i;

	a->own_fds = 1;
	fds = bump_alloc(&m->args, (tr->nr_fds + 1) * sizeof(*fds), 8);
	if (!fds)
		return -1;
	for (i = 0; i < tr->nr_fds; i++) {
		FdinfoEntry *e = tr->fds[i];

		fds[i].fd = e->fd;
		fds[i].anchor = anchor_fd(e->id);
		fds[i].flags = (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0;
		if (fds[i].anchor < 0 || e->fd >= (u32)svc_fd_base) {
			pr_err("pid %d fd %u: file id %u was not opened\n", c->vpid, e->fd, e->id);
			return -1;
		}
	}
	a->fds = (u64)(unsigned long)fds;
	a->nr_fds = tr->nr_fds;
	return 0;
}

/* Its own cwd, root and umask; a copy of ours (the parent's, restored) until then. */
static int prepare_vm_child_fs(struct pstree_item *c, struct rst_args *a)
{
	FsEntry *fe = rst_of(c)->fs;
	struct stat r, cur;

	a->cwd_fd = anchor_fd(fe->cwd_id);
	a->root_fd = anchor_fd(fe->root_id);
	if (a->cwd_fd < 0 || a->root_fd < 0) {
		pr_err("pid %d: its cwd or root was not opened\n", c->vpid);
		return -1;
	}
	if (fstat(a->root_fd, &r) || stat("/", &cur)) {
		pr_perror("cannot stat the root of pid %d", c->vpid);
		return -1;
	}
	if (r.st_dev == cur.st_dev && r.st_ino == cur.st_ino)
		a->root_fd = -1;
	a->umask = fe->has_umask ? (int)fe->umask : -1;
	return 0;
}

/*
 * oom_score_adj is the mm's: the kernel writes it into every process on
 * the mm, so the parent's restore gave it.  loginuid comes from the
 * parent too, and only a task may set its own: not possible in the blob.
 */
static void check_vm_child_proc(struct pstree_item *c)
{
	TaskCoreEntry *tc = rst_of(c)->cores[0]->tc, *pc = rst_of(c->parent)->cores[0]->tc;

	if (tc->has_loginuid && (!pc->has_loginuid || pc->loginuid != tc->loginuid))
		pr_warn("pid %d keeps the loginuid of its parent, not %u\n", c->vpid,
			tc->loginuid);
}

/* The restorer's argument area that prepare_vm_child() takes: its own fd list. */
size_t vm_child_args_size(struct pstree_item *c)
{
	if (share_clone_flags(c) & CLONE_FILES)
		return 0;
	return (rst_of(c)->nr_fds + 1) * sizeof(struct rst_fd) + 7;
}

int prepare_vm_child(struct pstree_item *c, struct rst_mem *m, struct rst_args *a)
{
	unsigned long share = share_clone_flags(c);

	a->vm_ready = 0;
	a->share_sighand = vm_clone_flags(c) != 0;
	a->personality = rst_of(c)->cores[0]->tc->personality;
	a->do_setsid = c->sid && c->sid == c->vpid;
	a->set_pgid = -1;
	if (c->pgid && !a->do_setsid && c->pgid != c->parent->pgid)
		a->set_pgid = c->pgid == c->vpid ? 0 : c->pgid;
	a->cwd_fd = a->root_fd = a->umask = -1;
	check_vm_child_proc(c);
	if (!(share & CLONE_FILES) && prepare_vm_child_fds(c, m, a))
		return -1;
	if (!(share & CLONE_FS) && prepare_vm_child_fs(c, a))
		return -1;
	pr_info("pid %d shares the mm of pid %d (files %s, fs %s, sighand %s)\n", c->vpid,
		c->parent->vpid, share & CLONE_FILES ? "shared" : "own",
		share & CLONE_FS ? "shared" : "own", a->share_sighand ? "shared" : "own");
	return 0;
}

/*
 * clone3 whose child calls entry(arg) on the new stack: a child on our
 * mm must not return into C code that the parent goes on running.
 */
static long clone3_into(struct clone_args *ca, u64 entry, u64 arg)
{
	register u64 r12 asm("r12") = entry;
	register u64 r13 asm("r13") = arg;
	long ret;

	asm volatile("syscall\n\t"
		     "testq %%rax, %%rax\n\t"
		     "jnz 1f\n\t"
		     "xorl %%ebp, %%ebp\n\t"
		     "movq %%r13, %%rdi\n\t"
		     "callq *%%r12\n\t"
		     "hlt\n\t"
		     "1:\n\t"
		     : "=a"(ret)
		     : "0"((long)SYS_clone3), "D"(ca), "S"(sizeof(*ca)), "r"(r12), "r"(r13)
		     : "rcx", "r11", "memory");
	return ret;
}

/*
 * The children that share our mm (clone(CLONE_VM)): created now, with
 * every signal blocked, into the blob's vm_child_main(), which waits
 * until our restorer has rebuilt the mm.  They count as ready.
 */
int create_vm_children(struct pstree_item *it, u64 entry)
{
	struct pstree_item *c;

	list_for_each_entry(c, &it->children, sibling) {
		struct rst_args *ca = rst_of(c)->vm_args;
		struct rst_thread *leader;
		struct clone_args cl;
		pid_t tid = c->vpid;
		long pid;

		if (!is_vm_child(c))
			continue;
		leader = (struct rst_thread *)(unsigned long)ca->threads;
		memset(&cl, 0, sizeof(cl));
		cl.flags = CLONE_VM | share_clone_flags(c) | vm_clone_flags(c);
		cl.exit_signal = SIGCHLD;
		cl.stack = leader->stack_top - RST_THREAD_STACK;
		cl.stack_size = RST_THREAD_STACK;
		cl.set_tid = (u64)(unsigned long)&tid;
		cl.set_tid_size = 1;
		pid = clone3_into(&cl, entry, (u64)(unsigned long)ca);
		if (pid != c->vpid) {
			errno = pid < 0 ? -pid : EEXIST;
			pr_perror("cannot create pid %d on the mm of pid %d (clone3 CLONE_VM)",
				  c->vpid, it->vpid);
			return -1;
		}
		task_sync_of(c)->pid = pid;
		/* it must be in the blob before our restorer unmaps this code */
		while (!__atomic_load_n(&ca->vm_started, __ATOMIC_SEQ_CST))
			syscall(SYS_futex, &ca->vm_started, FUTEX_WAIT, 0, NULL, NULL, 0);
		pr_info("created pid %d on the mm of pid %d (flags %#llx)\n", c->vpid, it->vpid,
			(unsigned long long)cl.flags);
		__atomic_add_fetch(&rsync->nr_ready, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &rsync->nr_ready, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
	return 0;
}
