// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer's arguments: everything the freestanding restorer needs,
 * laid out in the bootstrap area by a bump allocator before the jump.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr_options.h"
#include "file-lock.h"
#include "files.h"
#include "image.h"
#include "infect.h"
#include "ipc_ns.h"
#include "inventory.pb-c.h"
#include "net-lock.h"
#include "magic.h"
#include "mm.h"
#include "namespaces.h"
#include "proc_parse.h"
#include "pstree.h"
#include "restore.h"
#include "restorer-blob.h"
#include "seize.h"
#include "shared.h"
#include "util.h"
#include "vma.h"

#ifndef PTRACE_SETSIGMASK
#define PTRACE_SETSIGMASK 0x420b
#endif

#include "rst-internal.h"

/*
 * The arguments are laid out by one table per kind of owner: each part
 * says how many bytes it may take (alignment padding included) and fills
 * them.  args_size() is the sum of the sizes, and after each fill the
 * bytes it took are compared with its size, so the two cannot drift
 * apart unnoticed.  A new kind of state is one line in a table.
 */
struct args_part {
	const char *name;
	size_t (*size)(struct pstree_item *it);
	int (*fill)(struct pstree_item *it, struct rst_mem *m, struct rst_args *a);
};

/* what bump_alloc(size, align) may take */
static size_t room(size_t size, size_t align)
{
	return size + align - 1;
}

static size_t no_room(struct pstree_item *it __attribute__((unused)))
{
	return 0;
}

static TaskCoreEntry *tc_of(struct pstree_item *it)
{
	return rst_of(it)->cores[0]->tc;
}

/* Everything kept in struct rst_args itself: sigactions, itimers, rlimits, ... */
static int fill_proc_state(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	TaskCoreEntry *tc = tc_of(it);

	a->bootstrap_start = m->bootstrap;
	a->bootstrap_end = m->bootstrap + m->bootstrap_len;
	a->pid = it->vpid;
	a->svc_fd_base = svc_fd_base;
	a->log_fd = log_get_fd();
	a->err_fd = log_get_err_fd();
	a->log_level = log_level();
	a->child_subreaper = tc->has_child_subreaper && tc->child_subreaper;
	a->membarrier_regs = tc->has_membarrier_regs ? tc->membarrier_regs : 0;
	/* another process still needs the anchors of a shared table: criu closes them */
	a->keep_svc_fds = files_shared(it);
	return prepare_sigactions(a, tc) || prepare_itimers(a, tc) || prepare_rlimits(a, tc) ?
		       -1 : 0;
}

static size_t timers_size(struct pstree_item *it)
{
	return room(posix_timers_size(tc_of(it)) + 8, 8);
}

static int fill_timers(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	void *p = bump_alloc(&m->args, posix_timers_size(tc_of(it)) + 8, 8);

	return !p || prepare_posix_timers(a, tc_of(it), p) ? -1 : 0;
}

static size_t shared_siginfo_size(struct pstree_item *it)
{
	return room(siginfo_size(tc_of(it)->signals_s) + 8, 8);
}

static int fill_shared_siginfo(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	SignalQueueEntry *q = tc_of(it)->signals_s;
	void *p = bump_alloc(&m->args, siginfo_size(q) + 8, 8);

	if (!p || prepare_siginfo(q, p, &a->nr_shared_siginfo))
		return -1;
	a->shared_siginfo = (u64)(unsigned long)p;
	return 0;
}

static size_t locks_size(struct pstree_item *it)
{
	return room(posix_locks_size(it), 8);
}

static int fill_locks(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	void *p = bump_alloc(&m->args, posix_locks_size(it), 8);

	if (!p || prepare_posix_locks(it, a, p))
		return -1;
	if (a->nr_posix_locks && a->keep_svc_fds) {
		/* criu's late close of the anchors would drop them */
		pr_err("unsupported: pid %d holds POSIX locks and shares its fd table\n", it->vpid);
		return -1;
	}
	return 0;
}

static int prepare_thread(struct pstree_item *it, struct rst_mem *m, struct rst_args *a, int i,
			  int slot, struct rst_thread *t)
{
	CoreEntry *core = rst_of(it)->cores[i];
	ThreadCoreEntry *tce = core->thread_core;
	ThreadInfoX86 *ti = core->thread_info;
	void *frame, *si;
	size_t k;

	t->args = (u64)(unsigned long)a;
	t->tid = it->threads[i].vtid;
	t->stack_top = m->stacks + (u64)(slot + 1) * RST_THREAD_STACK;
	if (i == 0 && it->leader_exited) {
		/* it exits at the end: its name and creds, nothing to return to */
		snprintf(t->comm, sizeof(t->comm), "%s", core->tc->comm);
		a->leader_exits = 1;
		/* a group stop shows its signal there instead: then 0 */
		a->leader_exit_code = WIFEXITED(core->tc->exit_code) ?
					      WEXITSTATUS(core->tc->exit_code) : 0;
		return prepare_creds(&t->creds, tce->creds, t->tid);
	}
	t->fs_base = ti->gpregs->fs_base;
	t->gs_base = ti->gpregs->gs_base;
	t->clear_tid = ti->clear_tid_addr;
	t->robust_head = tce->futex_rla;
	t->robust_len = tce->futex_rla_len;
	if (tce->rseq_entry) {
		t->rseq_ptr = tce->rseq_entry->rseq_abi_pointer;
		t->rseq_len = tce->rseq_entry->rseq_abi_size;
		t->rseq_sig = tce->rseq_entry->signature;
	}
	t->pdeath_sig = tce->has_pdeath_sig ? tce->pdeath_sig : 0;
	t->nice = tce->has_sched_nice ? tce->sched_nice : 0;
	t->sched_policy = tce->has_sched_policy ? tce->sched_policy : 0;
	t->sched_prio = tce->has_sched_prio ? tce->sched_prio : 0;
	prepare_thread_sched(tce, t);
	snprintf(t->comm, sizeof(t->comm), "%s",
		 tce->comm ? tce->comm : (i == 0 ? core->tc->comm : ""));
	/* only TLS descriptors that are in use: 64-bit tasks rarely have any */
	for (k = 0; k < ti->n_tls && t->nr_tls < 3; k++) {
		UserDescT *u = ti->tls[k];
		struct rst_tls *d = &t->tls[t->nr_tls];

		if (u->seg_not_present && u->read_exec_only && !u->base_addr && !u->limit)
			continue;
		d->entry_number = u->entry_number;
		d->base_addr = u->base_addr;
		d->limit = u->limit;
		d->flags = u->seg_32bit | (u->contents_l << 1) | (u->contents_h << 2) |
			   (u->read_exec_only << 3) | (u->limit_in_pages << 4) |
			   (u->seg_not_present << 5) | (u->usable << 6);
		t->nr_tls++;
	}
	if (prepare_creds(&t->creds, tce->creds, t->tid))
		return -1;
	si = bump_alloc(&m->args, siginfo_size(tce->signals_p) + 8, 8);
	if (!si || prepare_siginfo(tce->signals_p, si, &t->nr_siginfo))
		return -1;
	t->siginfo = (u64)(unsigned long)si;
	frame = bump_alloc(&m->args, sigframe_size(), 64);
	if (!frame || build_sigframe(frame, core, &t->frame))
		return -1;
	return 0;
}

static size_t threads_size(struct pstree_item *it)
{
	size_t sz = room(sizeof(struct rst_thread) * it->nr_threads, 64);
	int i;

	for (i = 0; i < it->nr_threads; i++) {
		sz += room(siginfo_size(rst_of(it)->cores[i]->thread_core->signals_p) + 8, 8);
		sz += room(sigframe_size(), 64);
	}
	return sz;
}

/* The first stack slot of its threads: a vm child's come after its parent's and elder's. */
static int stack_slot0(struct pstree_item *it)
{
	struct pstree_item *c;
	int slot;

	if (!it->parent || !is_vm_child(it))
		return 0;
	slot = it->parent->nr_threads;
	list_for_each_entry(c, &it->parent->children, sibling) {
		if (c == it)
			break;
		if (is_vm_child(c))
			slot += c->nr_threads;
	}
	return slot;
}

static int fill_threads(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	struct rst_thread *threads;
	int i, slot0 = stack_slot0(it);

	threads = bump_alloc(&m->args, sizeof(*threads) * it->nr_threads, 64);
	if (!threads)
		return -1;
	for (i = 0; i < it->nr_threads; i++)
		if (prepare_thread(it, m, a, i, slot0 + i, &threads[i]))
			return -1;
	a->threads = (u64)(unsigned long)threads;
	a->nr_threads = it->nr_threads;
	return 0;
}

/* After the threads part: it fills in each thread's filters. */
static int fill_seccomp(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	return seccomp_prepare_args(it, &m->args, a, (struct rst_thread *)(unsigned long)a->threads);
}

static size_t guards_size(struct pstree_item *it)
{
	return room((rst_of(it)->nr_guards + 1) * sizeof(struct rst_range), 8);
}

static int fill_guards(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	struct task_restore *tr = rst_of(it);
	struct rst_range *g = bump_alloc(&m->args, (tr->nr_guards + 1) * sizeof(*g), 8);
	size_t i;

	if (!g)
		return -1;
	for (i = 0; i < tr->nr_guards; i++) {
		g[i].start = tr->guards[i]->vaddr;
		g[i].len = (u64)tr->guards[i]->nr_pages * PAGE_SIZE;
	}
	a->guards = (u64)(unsigned long)g;
	a->nr_guards = tr->nr_guards;
	return 0;
}

static size_t vm_children_size(struct pstree_item *it);
static int fill_vm_children(struct pstree_item *it, struct rst_mem *m, struct rst_args *a);

/* What the restorer of any process needs: an mm's owner and its vm children. */
static const struct args_part proc_parts[] = {
	{ "process state", no_room, fill_proc_state },
	{ "POSIX timers", timers_size, fill_timers },
	{ "shared siginfo", shared_siginfo_size, fill_shared_siginfo },
	{ "POSIX locks", locks_size, fill_locks },
	{ "threads", threads_size, fill_threads },
	{ "seccomp filters", seccomp_args_size, fill_seccomp },
};

/* What only the owner of an mm needs, after proc_parts. */
static const struct args_part mm_parts[] = {
	{ "VMAs", vmas_args_size, prepare_vmas },
	{ "mm map", mm_map_args_size, prepare_mm_map },
	{ "guards", guards_size, fill_guards },
	/* after the mm map: a vm child takes its dumpable */
	{ "vm children", vm_children_size, fill_vm_children },
};

/* What a vm child sets up itself, after proc_parts. */
static const struct args_part vm_child_parts[] = {
	{ "vm child setup", vm_child_args_size, prepare_vm_child },
};

static size_t parts_size(const struct args_part *p, size_t n, struct pstree_item *it)
{
	size_t sz = 0, i;

	for (i = 0; i < n; i++)
		sz += p[i].size(it);
	return sz;
}

static int fill_parts(const struct args_part *p, size_t n, struct pstree_item *it,
		      struct rst_mem *m, struct rst_args *a)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t before = m->args.off, want = p[i].size(it);

		if (p[i].fill(it, m, a))
			return -1;
		if (m->args.off - before > want) {
			/* a bug: the part's size function does not match its fill */
			pr_err("pid %d: the restorer's %s took %zu bytes, more than the %zu "
			       "counted\n", it->vpid, p[i].name, m->args.off - before, want);
			return -1;
		}
		pr_debug("pid %d: restorer args: %s, %zu of %zu bytes\n", it->vpid, p[i].name,
			 m->args.off - before, want);
	}
	return 0;
}

#define PARTS_SIZE(t, it) parts_size(t, ARRAY_SIZE(t), it)
#define FILL_PARTS(t, it, m, a) fill_parts(t, ARRAY_SIZE(t), it, m, a)

static size_t vm_child_size(struct pstree_item *c)
{
	return room(sizeof(struct rst_args), 64) + PARTS_SIZE(proc_parts, c) +
	       PARTS_SIZE(vm_child_parts, c);
}

static size_t vm_children_size(struct pstree_item *it)
{
	struct pstree_item *c;
	size_t sz = room(nr_vm_children(it) * sizeof(u64), 8);

	list_for_each_entry(c, &it->children, sibling)
		if (is_vm_child(c))
			sz += vm_child_size(c);
	return sz;
}

/* The args of the children that share the mm of it, after its own threads' stacks. */
static int fill_vm_children(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	int n = nr_vm_children(it), i = 0;
	struct pstree_item *c;
	u64 *kids;

	if (!n)
		return 0;
	kids = bump_alloc(&m->args, n * sizeof(*kids), 8);
	if (!kids)
		return -1;
	list_for_each_entry(c, &it->children, sibling) {
		struct rst_args *ca;

		if (!is_vm_child(c))
			continue;
		ca = bump_alloc(&m->args, sizeof(*ca), 64);
		if (!ca || FILL_PARTS(proc_parts, c, m, ca) || FILL_PARTS(vm_child_parts, c, m, ca))
			return -1;
		ca->dumpable = a->dumpable;
		rst_of(c)->vm_args = ca;
		kids[i++] = (u64)(unsigned long)ca;
	}
	a->vm_children = (u64)(unsigned long)kids;
	a->nr_vm_children = n;
	return 0;
}

static size_t args_size(struct pstree_item *it)
{
	return room(sizeof(struct rst_args), 64) + PARTS_SIZE(proc_parts, it) +
	       PARTS_SIZE(mm_parts, it);
}

int prepare_args(struct pstree_item *it, struct rst_mem *m, struct rst_args **out)
{
	struct rst_args *a;

	if (map_bootstrap(it, args_size(it), m))
		return -1;
	a = bump_alloc(&m->args, sizeof(*a), 64);
	if (!a)
		return -1;
	if (FILL_PARTS(proc_parts, it, m, a) || FILL_PARTS(mm_parts, it, m, a))
		return -1;
	*out = a;
	return 0;
}
