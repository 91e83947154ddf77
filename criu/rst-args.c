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

#define MAX_AUXV_BYTES 448	/* sizeof(mm->saved_auxv) on x86_64 */

static size_t args_size(struct pstree_item *it)
{
	struct task_restore *tr = rst_of(it);
	TaskCoreEntry *tc = tr->cores[0]->tc;
	size_t sz = sizeof(struct rst_args) + 4096;
	struct pstree_item *c;
	int i;

	list_for_each_entry(c, &it->children, sibling)
		if (is_vm_child(c))
			sz += args_size(c) + (rst_of(c)->nr_fds + 1) * sizeof(struct rst_fd) + 64;

	sz += (tr->mm->n_vmas + 1) * sizeof(struct rst_vma) + 64;
	sz += vma_names_size(tr->mm);
	sz += (tr->nr_guards + 1) * sizeof(struct rst_range);
	sz += posix_timers_size(tc) + siginfo_size(tc->signals_s) + MAX_AUXV_BYTES + 64;
	sz += posix_locks_size(it) + 8 + seccomp_args_size(it);
	for (i = 0; i < it->nr_threads; i++) {
		sz += sizeof(struct rst_thread) + sigframe_size() + 128;
		sz += siginfo_size(tr->cores[i]->thread_core->signals_p);
	}
	return sz;
}

static int prepare_mm_map(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	MmEntry *mm = rst_of(it)->mm;
	struct rst_mm_map *p = &a->mm;
	unsigned int size = 0;
	u64 *auxv;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0) ||
	    size != sizeof(struct rst_mm_map)) {
		pr_perror("PR_SET_MM_MAP_SIZE says %u, we know %zu", size,
			  sizeof(struct rst_mm_map));
		return -1;
	}
	a->mm_map_size = size;
	auxv = bump_alloc(&m->args, MAX_AUXV_BYTES, 16);
	if (!auxv)
		return -1;
	memcpy(auxv, mm->mm_saved_auxv, mm->n_mm_saved_auxv * 8);
	p->start_code = mm->mm_start_code;
	p->end_code = mm->mm_end_code;
	p->start_data = mm->mm_start_data;
	p->end_data = mm->mm_end_data;
	p->start_brk = mm->mm_start_brk;
	p->brk = mm->mm_brk;
	p->start_stack = mm->mm_start_stack;
	p->arg_start = mm->mm_arg_start;
	p->arg_end = mm->mm_arg_end;
	p->env_start = mm->mm_env_start;
	p->env_end = mm->mm_env_end;
	p->auxv = (u64)(unsigned long)auxv;
	p->auxv_size = mm->n_mm_saved_auxv * 8;
	p->exe_fd = anchor_fd(mm->exe_file_id);
	if ((int)p->exe_fd < 0) {
		pr_err("pid %d: its executable was not opened\n", it->vpid);
		return -1;
	}
	a->dumpable = mm->has_dumpable ? mm->dumpable : -1;
	a->thp_disabled = mm->has_thp_disabled && mm->thp_disabled;
	a->mlockall = mm->has_mlockall ? mm->mlockall : 0;
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

static int prepare_guards(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
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

/* What the restorer of any process needs besides the mm; threads from stack slot slot0. */
static int prepare_proc_args(struct pstree_item *it, struct rst_mem *m, struct rst_args *a,
			     int slot0)
{
	TaskCoreEntry *tc = rst_of(it)->cores[0]->tc;
	struct rst_thread *threads;
	void *room;
	int i;

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
	if (prepare_sigactions(a, tc) || prepare_itimers(a, tc) || prepare_rlimits(a, tc))
		return -1;
	room = bump_alloc(&m->args, posix_timers_size(tc) + 8, 8);
	if (!room || prepare_posix_timers(a, tc, room))
		return -1;
	room = bump_alloc(&m->args, siginfo_size(tc->signals_s) + 8, 8);
	if (!room || prepare_siginfo(tc->signals_s, room, &a->nr_shared_siginfo))
		return -1;
	a->shared_siginfo = (u64)(unsigned long)room;
	room = bump_alloc(&m->args, posix_locks_size(it), 8);
	if (!room || prepare_posix_locks(it, a, room))
		return -1;
	if (a->nr_posix_locks && a->keep_svc_fds) {
		/* criu's late close of the anchors would drop them */
		pr_err("unsupported: pid %d holds POSIX locks and shares its fd table\n", it->vpid);
		return -1;
	}

	threads = bump_alloc(&m->args, sizeof(*threads) * it->nr_threads, 64);
	if (!threads)
		return -1;
	for (i = 0; i < it->nr_threads; i++)
		if (prepare_thread(it, m, a, i, slot0 + i, &threads[i]))
			return -1;
	if (seccomp_prepare_args(it, &m->args, a, threads))
		return -1;
	a->threads = (u64)(unsigned long)threads;
	a->nr_threads = it->nr_threads;
	return 0;
}

/* The args of the children that share the mm of it, after its own threads' stacks. */
static int prepare_vm_children(struct pstree_item *it, struct rst_mem *m, struct rst_args *a)
{
	int n = nr_vm_children(it), slot = it->nr_threads, i = 0;
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
		if (!ca || prepare_proc_args(c, m, ca, slot) || prepare_vm_child(c, m, ca))
			return -1;
		ca->dumpable = a->dumpable;
		slot += c->nr_threads;
		rst_of(c)->vm_args = ca;
		kids[i++] = (u64)(unsigned long)ca;
	}
	a->vm_children = (u64)(unsigned long)kids;
	a->nr_vm_children = n;
	return 0;
}

int prepare_args(struct pstree_item *it, struct rst_mem *m, struct rst_args **out)
{
	struct rst_args *a;

	if (map_bootstrap(it, args_size(it), m))
		return -1;
	a = bump_alloc(&m->args, sizeof(*a), 64);
	if (!a)
		return -1;
	if (prepare_proc_args(it, m, a, 0) || prepare_vmas(it, m, a) ||
	    prepare_mm_map(it, m, a) || prepare_guards(it, m, a) ||
	    prepare_vm_children(it, m, a))
		return -1;
	*out = a;
	return 0;
}
