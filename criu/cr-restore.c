// SPDX-License-Identifier: GPL-2.0
/*
 * criu restore.  criu reads every image first, opens every file and
 * creates the shared memory of the tree, then forks the root task with
 * its old pid (clone3 set_tid); each task forks its children the same
 * way, installs its descriptors, prepares its memory and the restorer's
 * arguments, and waits.  criu seizes all tasks and lets them into the
 * restorer, tracing them syscall by syscall; each thread is held at the
 * entry of its final rt_sigreturn.  When all are there, criu steps them
 * through rt_sigreturn, unmaps the restorer from outside, sets the
 * signal masks and detaches.
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

#include "cpuinfo.h"
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

#define MAX_AUXV_BYTES 448	/* sizeof(mm->saved_auxv) on x86_64 */

struct restore_sync *rsync;
static size_t rsync_len;
static pid_t root_pid;		/* as criu sees it */

/* ---- reading the images ---- */

static u32 inv_ns_flags, inv_proc_mount;

static int read_inventory(void)
{
	InventoryEntry *ie;
	int ret;

	if (pb_read_image(CR_FD_INVENTORY, O_RSTR, (void **)&ie, &inventory_entry__descriptor, 0) < 0)
		return -1;
	ret = 0;
	if (ie->img_version != CRTOOLS_IMAGES_V1_1) {
		pr_err("inventory.img: image version %u, only %u is supported\n", ie->img_version,
		       CRTOOLS_IMAGES_V1_1);
		ret = -1;
	} else if (ie->has_fdinfo_per_id && !ie->fdinfo_per_id) {
		pr_err("unsupported: images without per-id fdinfo files\n");
		ret = -1;
	}
	inv_ns_flags = ie->has_ns_flags ? ie->ns_flags : 0;
	inv_proc_mount = ie->has_proc_mount_flags ? ie->proc_mount_flags : 0;
	if (!ret && network_lock_restore_start(ie->has_network_lock_method, ie->network_lock_method,
					       ie->dump_criu_run_id))
		ret = -1;
	pb_free(ie);
	return ret;
}

/* A task dumped in group stop; an image without the signal says SIGSTOP. */
static int check_stopped(struct pstree_item *it, TaskCoreEntry *tc)
{
	int sig = tc->has_stop_signo ? (int)tc->stop_signo : SIGSTOP;

	if (sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) {
		pr_err("core-%d.img: stop signal %d is not a stop signal\n", it->vpid, sig);
		return -1;
	}
	it->state = TASK_STOPPED;
	it->stop_signo = sig;
	return 0;
}

static int check_core(struct pstree_item *it, int i, CoreEntry *c)
{
	if (c->mtype != CORE_ENTRY__MARCH__X86_64) {
		pr_err("core-%d.img: architecture %d, only x86_64 is supported\n",
		       it->threads[i].vtid, c->mtype);
		return -1;
	}
	if (c->tc && c->tc->task_state == TASK_DEAD) {
		it->state = TASK_DEAD;
		return 0;
	}
	if (!c->thread_info || !c->thread_info->gpregs || !c->thread_info->fpregs ||
	    !c->thread_core) {
		pr_err("core-%d.img: registers or thread state missing\n", it->threads[i].vtid);
		return -1;
	}
	if (cpu_check_thread(c, it->threads[i].vtid))
		return -1;
	if (i == 0 && !c->tc) {
		pr_err("core-%d.img: the leader has no task state\n", it->vpid);
		return -1;
	}
	if (i == 0 && c->tc->task_state == TASK_STOPPED)
		return check_stopped(it, c->tc);
	if (i == 0 && c->tc->task_state != TASK_ALIVE) {
		pr_err("unsupported: pid %d was dumped in state %u\n", it->vpid, c->tc->task_state);
		return -1;
	}
	return 0;
}

static int take_fdinfo(void *msg, void *arg)
{
	struct task_restore *tr = arg;
	FdinfoEntry *e = msg, **n;

	if (e->fd > INT_MAX / 2) {
		pr_err("fdinfo-%u.img: fd %u is out of range\n", tr->ids->files_id, e->fd);
		pb_free(e);
		return -1;
	}
	n = xrealloc(tr->fds, (tr->nr_fds + 1) * sizeof(*n));
	if (!n) {
		pb_free(e);
		return -1;
	}
	tr->fds = n;
	tr->fds[tr->nr_fds++] = e;
	return 0;
}

static int read_fdinfo(struct task_restore *tr)
{
	return pb_read_all(CR_FD_FDINFO, O_RSTR, &fdinfo_entry__descriptor, take_fdinfo, tr,
			   (unsigned long)tr->ids->files_id);
}

static int read_pagemap(struct pstree_item *it, struct task_restore *tr)
{
	struct cr_img *img = open_image(CR_FD_PAGEMAP, O_RSTR, (unsigned long)it->vpid);
	PagemapHead *ph;
	u64 last_end = 0;
	int ret = -1;

	if (!img)
		return -1;
	if (pb_read_one(img, (void **)&ph, &pagemap_head__descriptor) < 0)
		goto out;
	tr->pages_id = ph->pages_id;
	pb_free(ph);
	for (;;) {
		PagemapEntry *pe, **n;
		int r = pb_read_one_eof(img, (void **)&pe, &pagemap_entry__descriptor);

		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (pagemap_entry_count(pe, img->name)) {
			pb_free(pe);
			goto out;
		}
		if (pe->vaddr & ~PAGE_MASK || pe->vaddr < last_end || !pe->nr_pages ||
		    (pe->has_flags && (pe->flags & (PE_PARENT | PE_LAZY)))) {
			report_bad_run(img->name, pe, last_end);
			pb_free(pe);
			goto out;
		}
		last_end = pe->vaddr + (u64)pe->nr_pages * PAGE_SIZE;
		if (pe->has_flags && (pe->flags & PE_GUARD)) {
			n = xrealloc(tr->guards, (tr->nr_guards + 1) * sizeof(*n));
			if (!n) {
				pb_free(pe);
				goto out;
			}
			tr->guards = n;
			tr->guards[tr->nr_guards++] = pe;
			continue;
		}
		n = xrealloc(tr->pmes, (tr->nr_pmes + 1) * sizeof(*n));
		if (!n) {
			pb_free(pe);
			goto out;
		}
		tr->pmes = n;
		tr->pmes[tr->nr_pmes++] = pe;
	}
	ret = 0;
out:
	close_image(img);
	return ret;
}

static int read_task_images(struct pstree_item *it)
{
	struct task_restore *tr = xzalloc(sizeof(*tr));
	int i;

	if (!tr)
		return -1;
	it->rst = tr;
	tr->cores = xzalloc(sizeof(*tr->cores) * it->nr_threads);
	if (!tr->cores)
		return -1;
	for (i = 0; i < it->nr_threads; i++) {
		if (pb_read_image(CR_FD_CORE, O_RSTR, (void **)&tr->cores[i], &core_entry__descriptor,
				  it->threads[i].vtid) < 0 ||
		    check_core(it, i, tr->cores[i]))
			return -1;
	}
	if (it->state == TASK_DEAD)
		return 0;	/* a zombie has nothing more */
	if (check_restore_sched(it))
		return -1;
	if (pb_read_image(CR_FD_MM, O_RSTR, (void **)&tr->mm, &mm_entry__descriptor, it->vpid) < 0 ||
	    pb_read_image(CR_FD_IDS, O_RSTR, (void **)&tr->ids, &task_kobj_ids_entry__descriptor,
			  it->vpid) < 0 ||
	    pb_read_image(CR_FD_FS, O_RSTR, (void **)&tr->fs, &fs_entry__descriptor, it->vpid) < 0)
		return -1;
	if (tr->mm->n_mm_saved_auxv * 8 > MAX_AUXV_BYTES) {
		pr_err("mm-%d.img: auxv of %zu words is larger than the kernel keeps\n", it->vpid,
		       tr->mm->n_mm_saved_auxv);
		return -1;
	}
	return read_fdinfo(tr) || read_pagemap(it, tr) ? -1 : 0;
}

static int check_sessions(void)
{
	struct pstree_item *it;

	if (root_item->sid == 0 && (inv_ns_flags & CLONE_NEWPID))
		pr_info("pid 1 had its session leader outside its pid namespace: it leads its "
			"own session now\n");
	else if (root_item->sid != root_item->vpid && !opts.shell_job) {
		pr_err("pid %d was dumped as a job of a shell session; restore it with --shell-job\n",
		       root_item->vpid);
		return -1;
	}
	for_each_item(it) {
		if (it == root_item)
			continue;
		if (it->sid != it->vpid && it->sid != it->parent->sid &&
		    !(it->sid == 0 && root_item->sid == 0)) {
			pr_err("unsupported: pid %d is in session %d, its parent in %d\n", it->vpid,
			       it->sid, it->parent->sid);
			return -1;
		}
	}
	return 0;
}

#define PF_EXITING 0x4	/* task flag: the task is exiting */

/*
 * A dumped and killed task may still be exiting (a big process takes a
 * while to free its memory) or wait to be reaped: give it 2 s.
 */
static bool pid_in_use(pid_t pid)
{
	u64 deadline = now_us() + 2000000;
	struct proc_pid_stat st;

	while (!parse_pid_stat(pid, 0, &st) &&
	       (st.state == 'Z' || st.state == 'X' || (st.flags & PF_EXITING)) &&
	       now_us() < deadline)
		usleep(5000);
	return kill(pid, 0) == 0 || errno != ESRCH;
}

static int check_pids_free(void)
{
	struct pstree_item *it;
	int i;

	for_each_item(it)
		for (i = 0; i < it->nr_threads; i++)
			if (pid_in_use(it->threads[i].vtid)) {
				pr_err("pid %d is already in use\n", it->threads[i].vtid);
				return -1;
			}
	return 0;
}

/* ---- inside a new task ---- */

static long futex(int *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void task_failed(void)
{
	__atomic_store_n(&rsync->error, 1, __ATOMIC_SEQ_CST);
	futex(&rsync->nr_ready, FUTEX_WAKE, INT_MAX, NULL);
	_exit(1);
}

static int restore_task_body(struct pstree_item *it);

static pid_t item_index(struct pstree_item *it)
{
	struct pstree_item *p;
	int i = 0;

	for_each_item(p) {
		if (p == it)
			return i;
		i++;
	}
	return -1;
}

struct task_sync *task_sync_of(struct pstree_item *it)
{
	return &rsync->tasks[item_index(it)];
}

/*
 * clone3 with set_tid.  A pid of the dumped tree may still be held for a
 * moment after its task is gone (as the group or session id of threads
 * still being released): EEXIST is tried again for up to 2 s, as
 * pid_in_use() waits for a zombie.
 */
static long clone3_soon_free(struct clone_args *ca)
{
	u64 deadline = now_us() + 2000000;
	long pid;

	while ((pid = syscall(SYS_clone3, ca, sizeof(*ca))) < 0 && errno == EEXIST &&
	       now_us() < deadline)
		usleep(5000);
	return pid;
}

static int fork_task(struct pstree_item *it)
{
	struct clone_args ca;
	pid_t tid = it->vpid;
	long pid;

	memset(&ca, 0, sizeof(ca));
	if (it == root_item)
		ca.flags = restore_ns_flags();
	else
		ca.flags = share_clone_flags(it);
	ca.exit_signal = SIGCHLD;
	if (ca.flags & CLONE_NEWPID)
		tid = 1;
	ca.set_tid = (u64)(unsigned long)&tid;
	ca.set_tid_size = 1;
	pid = clone3_soon_free(&ca);
	if (pid < 0) {
		if (errno == EEXIST)
			pr_err("pid %d is already in use\n", it->vpid);
		else
			pr_perror("cannot create pid %d (clone3 with set_tid)", it->vpid);
		return -1;
	}
	if (pid == 0) {
		if (restore_task_body(it))
			task_failed();
		_exit(1);	/* not reached: the body jumps into the restorer */
	}
	if (it == root_item && (ca.flags & CLONE_NEWPID)) {
		/* pid 1 of a new namespace; on the host it gets what is free */
		root_pid = pid;
		it->pid = pid;
		pr_info("created pid %d in new namespaces %#llx, host pid %ld\n", it->vpid,
			(unsigned long long)ca.flags, pid);
		if ((ca.flags & CLONE_NEWUSER) && write_userns_maps(pid))
			return -1;
		__atomic_store_n(&rsync->maps_ready, 1, __ATOMIC_SEQ_CST);
		futex(&rsync->maps_ready, FUTEX_WAKE, INT_MAX, NULL);
		return 0;
	}
	if (pid != it->vpid) {
		pr_err("clone3 gave pid %ld instead of %d\n", pid, it->vpid);
		kill(pid, SIGKILL);
		return -1;
	}
	if (it == root_item) {
		root_pid = pid;
		if ((ca.flags & CLONE_NEWUSER) && write_userns_maps(pid))
			return -1;
		__atomic_store_n(&rsync->maps_ready, 1, __ATOMIC_SEQ_CST);
		futex(&rsync->maps_ready, FUTEX_WAKE, INT_MAX, NULL);
	}
	it->pid = pid;
	rsync->tasks[item_index(it)].pid = pid;
	pr_info("created pid %d\n", it->vpid);
	return 0;
}

static int restore_session(struct pstree_item *it)
{
	if (it == root_item && it->sid == 0) {
		if (setsid() < 0) {
			pr_perror("cannot start a session for pid %d", it->vpid);
			return -1;
		}
		return 0;
	}
	if (it->sid == 0 || it->pgid == 0)
		return 0;	/* the session of the root, inherited */
	if (it->sid == it->vpid) {
		if (setsid() < 0) {
			pr_perror("cannot make pid %d a session leader", it->vpid);
			return -1;
		}
	}
	if (it == root_item && it->sid != it->vpid)
		return 0;	/* a shell job: criu's session and group */
	if (it->pgid == it->vpid) {
		if (getpgid(0) != it->vpid && setpgid(0, 0)) {
			pr_perror("cannot make pid %d a group leader", it->vpid);
			return -1;
		}
	} else if (getpgid(0) != it->pgid && setpgid(0, it->pgid)) {
		pr_perror("cannot move pid %d into group %d", it->vpid, it->pgid);
		return -1;
	}
	return 0;
}

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
	sz += (tr->nr_guards + 1) * sizeof(struct rst_range);
	sz += posix_timers_size(tc) + siginfo_size(tc->signals_s) + MAX_AUXV_BYTES + 64;
	sz += posix_locks_size(it) + 8;
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
	t->stack_top = m->stacks + (u64)(slot + 1) * RST_THREAD_STACK;
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

static int prepare_args(struct pstree_item *it, struct rst_mem *m, struct rst_args **out)
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

static void __attribute__((noreturn)) jump_to_restorer(struct rst_mem *m, struct rst_args *a)
{
	struct rst_thread *leader = (struct rst_thread *)(unsigned long)a->threads;
	u64 entry = m->blob + RESTORER_MAIN_OFF;

	asm volatile("movq %0, %%rsp\n\t"
		     "movq %1, %%rdi\n\t"
		     "xorl %%ebp, %%ebp\n\t"
		     "callq *%2\n\t"
		     "hlt\n\t"
		     :
		     : "r"(leader->stack_top), "r"(a), "r"(entry)
		     : "memory");
	__builtin_unreachable();
}

/*
 * fork() kept glibc's rseq registration of criu's thread; the kernel
 * refuses a second one, so drop it before the restorer registers the
 * dumped one.  The length glibc used is __rseq_size or the full area.
 */
static int drop_rseq(void)
{
	void *area;

	if (!__rseq_size)
		return 0;
	area = (char *)__builtin_thread_pointer() + __rseq_offset;
	if (syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) &&
	    syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG)) {
		pr_perror("cannot unregister criu's rseq area");
		return -1;
	}
	return 0;
}

static int wait_for_go(void)
{
	int go;

	__atomic_add_fetch(&rsync->nr_ready, 1, __ATOMIC_SEQ_CST);
	futex(&rsync->nr_ready, FUTEX_WAKE, INT_MAX, NULL);
	while ((go = __atomic_load_n(&rsync->go, __ATOMIC_SEQ_CST)) == 0)
		futex(&rsync->go, FUTEX_WAIT, 0, NULL);
	return go > 0 ? 0 : -1;
}

/* Become the zombie we were: end the way the dumped task ended. */
static void become_zombie(struct pstree_item *it)
{
	u32 status = rst_of(it)->cores[0]->tc->exit_code;
	struct rlimit no_core = { 0, 0 };

	if (restore_session(it))
		task_failed();
	prctl(PR_SET_NAME, rst_of(it)->cores[0]->tc->comm);
	pr_info("pid %d ends as a zombie with status %#x\n", it->vpid, status);
	if (WIFSIGNALED(status)) {
		sigset_t none;

		setrlimit(RLIMIT_CORE, &no_core);
		signal(WTERMSIG(status), SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		kill(getpid(), WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/* Put back a per-process /proc setting; only what differs is written. */
static int restore_proc_value(const char *file, long long want, const char *needs)
{
	char path[64], buf[32];
	long long cur;
	int len;

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	if (!read_int_file(path, &cur) && cur == want)
		return 0;
	len = snprintf(buf, sizeof(buf), "%lld", want);
	if (write_file(path, buf, len)) {
		pr_perror("cannot set %s to %lld (it needs %s)", file, want, needs);
		return -1;
	}
	return 0;
}

static int restore_proc_values(TaskCoreEntry *tc)
{
	if (tc->has_oom_score_adj &&
	    restore_proc_value("oom_score_adj", tc->oom_score_adj,
			       "CAP_SYS_RESOURCE to lower it"))
		return -1;
	if (tc->has_loginuid &&
	    restore_proc_value("loginuid", tc->loginuid, "CAP_AUDIT_CONTROL"))
		return -1;
	return 0;
}

static int restore_task_body(struct pstree_item *it)
{
	struct task_restore *tr = rst_of(it);
	struct pstree_item *c;
	struct rst_args *a;
	unsigned long share = it == root_item ? 0 : share_clone_flags(it);
	struct rst_mem m;
	sigset_t all;

	log_set_pid();
	if (it->state == TASK_DEAD)
		become_zombie(it);
	memset(&m, 0, sizeof(m));
	/* until the restorer sets the real one: die with criu */
	if (it == root_item && prctl(PR_SET_PDEATHSIG, SIGKILL))
		return -1;
	if (it == root_item) {
		while (!__atomic_load_n(&rsync->maps_ready, __ATOMIC_SEQ_CST))
			futex(&rsync->maps_ready, FUTEX_WAIT, 0, NULL);
		if (restore_root_namespaces())
			return -1;
	}
	/* a table shared with the parent was installed by the parent */
	if (restore_session(it) || (!(share & CLONE_FILES) && restore_task_fds(it)))
		return -1;
	/* children on our mm come later, from the blob */
	list_for_each_entry(c, &it->children, sibling)
		if (!is_vm_child(c) && fork_task(c))
			return -1;
	if (!(share & CLONE_FS) && restore_fs(it))
		return -1;
	if (personality(tr->cores[0]->tc->personality) < 0) {
		pr_perror("cannot set personality %#x", tr->cores[0]->tc->personality);
		return -1;
	}
	if (restore_proc_values(tr->cores[0]->tc))
		return -1;
	if (prepare_args(it, &m, &a))
		return -1;
	rsync->tasks[item_index(it)].bootstrap = m.bootstrap;
	rsync->tasks[item_index(it)].bootstrap_len = m.bootstrap_len;
	rsync->tasks[item_index(it)].premap = m.premap;
	rsync->tasks[item_index(it)].premap_len = m.premap_len;
	pr_info("pid %d ready: %u VMAs, %d threads\n", it->vpid, a->nr_vmas, it->nr_threads);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	if (create_vm_children(it, m.blob + RESTORER_VM_CHILD_OFF))
		return -1;
	if (wait_for_go() || restore_task_fds_late(it) || drop_rseq())
		return -1;
	jump_to_restorer(&m, a);
}

/* ---- criu's side ---- */

/* Kill only what this restore created: a pid may belong to someone else. */
static void kill_created(void)
{
	int i, n = pstree_count();

	if (restore_ns_flags() & CLONE_NEWPID) {
		if (root_pid > 0)
			kill(root_pid, SIGKILL);
		return;
	}
	for (i = 0; i < n; i++)
		if (rsync->tasks[i].pid > 0)
			kill(rsync->tasks[i].pid, SIGKILL);
	if (root_pid > 0)
		kill(root_pid, SIGKILL);
}

static int wait_ready(int nr_tasks, u64 deadline)
{
	for (;;) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		int ready = __atomic_load_n(&rsync->nr_ready, __ATOMIC_SEQ_CST), status;

		if (__atomic_load_n(&rsync->error, __ATOMIC_SEQ_CST))
			return -1;
		if (ready == nr_tasks)
			return 0;
		if (waitpid(root_pid, &status, WNOHANG) == root_pid) {
			pr_err("pid %d exited while being prepared (status 0x%x)\n", root_pid,
			       status);
			root_pid = 0;
			return -1;
		}
		if (now_us() > deadline) {
			pr_err("timed out waiting for %d of %d tasks to get ready\n",
			       nr_tasks - ready, nr_tasks);
			return -1;
		}
		futex(&rsync->nr_ready, FUTEX_WAIT, ready, &ts);
	}
}

static int seize_tasks(void)
{
	struct pstree_item *it;
	long o = PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;

	for_each_item(it)
		if (it->state != TASK_DEAD && ptrace(PTRACE_SEIZE, it->pid, NULL, (void *)o)) {
			pr_perror("cannot seize restored pid %d", it->pid);
			return -1;
		}
	return 0;
}

/*
 * The thread of the tree that criu sees as host tid, or NULL: its process
 * is found by Tgid, the thread by its id in the tree's pid namespace.
 */
static struct thread *host_thread(pid_t tid)
{
	struct pstree_item *it;
	struct proc_status st;
	pid_t vtid;
	int i;

	if (parse_pid_status(tid, 0, &st))
		return NULL;
	vtid = st.ns_levels ? st.nspid[st.ns_levels - 1] : tid;
	for_each_item(it) {
		if (it->pid != st.tgid)
			continue;
		for (i = 0; i < it->nr_threads; i++)
			if (it->threads[i].vtid == vtid) {
				it->threads[i].tid = tid;
				return &it->threads[i];
			}
	}
	return NULL;
}

/* The pids criu sees of the tasks that the root created in its pid namespace. */
static int resolve_host_pids(void)
{
	struct pstree_item *it, *c;
	int i;

	root_item->pid = root_pid;
	for_each_item(it) {
		pid_t *kids, self = it->pid;
		int nr;

		it->threads[0].tid = it->pid;
		if (list_empty(&it->children))
			continue;
		if (!(restore_ns_flags() & CLONE_NEWPID)) {
			list_for_each_entry(c, &it->children, sibling)
				c->pid = c->vpid;
			continue;
		}
		if (read_children(it->pid, &self, 1, &kids, &nr)) {
			pr_perror("cannot list the children of pid %d", it->pid);
			return -1;
		}
		list_for_each_entry(c, &it->children, sibling) {
			c->pid = 0;
			for (i = 0; i < nr && !c->pid; i++) {
				struct proc_status st;

				if (!parse_pid_status(kids[i], 0, &st) && st.ns_levels &&
				    st.nspid[st.ns_levels - 1] == c->vpid)
					c->pid = kids[i];
			}
			if (!c->pid) {
				pr_err("cannot find restored pid %d among the children of %d\n",
				       c->vpid, it->pid);
				free(kids);
				return -1;
			}
			pr_debug("pid %d is host pid %d\n", c->vpid, c->pid);
		}
		free(kids);
	}
	return 0;
}

/* A stop we did not expect: a fault inside the restorer. */
#ifndef PTRACE_GET_SYSCALL_INFO
#define PTRACE_GET_SYSCALL_INFO 0x420e
#endif
#define SYSCALL_INFO_ENTRY 1

/* the start of struct ptrace_syscall_info, enough for an entry stop */
struct syscall_info_entry {
	u8 op;
	u8 pad[3];
	u32 arch;
	u64 ip, sp;
	u64 nr;
};

static bool at_sigreturn(pid_t tid)
{
	struct syscall_info_entry si;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(si), &si) < 0)
		return false;
	return si.op == SYSCALL_INFO_ENTRY && si.nr == __NR_rt_sigreturn;
}

/* Stop every task where it waits for the go; from there we trace it. */
static int interrupt_tasks(void)
{
	struct pstree_item *it;
	int status;

	for_each_item(it) {
		if (it->state == TASK_DEAD)
			continue;
		if (ptrace(PTRACE_INTERRUPT, it->pid, NULL, NULL) || wait_stop(it->pid, &status)) {
			pr_perror("cannot stop restored pid %d", it->pid);
			return -1;
		}
		if (!WIFSTOPPED(status)) {
			pr_err("pid %d ended before the restorer (status 0x%x)\n", it->pid, status);
			return -1;
		}
	}
	return 0;
}

static int cont_all(void)
{
	struct pstree_item *it;

	for_each_item(it)
		if (it->state != TASK_DEAD && ptrace(PTRACE_CONT, it->pid, NULL, NULL)) {
			pr_perror("cannot resume restored pid %d", it->pid);
			return -1;
		}
	return 0;
}

/* The int3 at the start of rst_sigreturn (and not some other SIGTRAP). */
static bool at_final_trap(pid_t tid, int sig)
{
	siginfo_t si;

	return sig == SIGTRAP && !ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) &&
	       si.si_code == SI_KERNEL;
}

/*
 * Let every thread run freely through the restorer up to the trap before
 * its final rt_sigreturn, then syscall by syscall until it enters that
 * syscall: there it waits for all the others.
 */
static int run_to_sigreturn(int nr_threads, u64 deadline)
{
	int held = 0;

	while (held < nr_threads) {
		int status, sig, event, req;
		bool ev;
		pid_t pid = waitpid(-1, &status, __WALL | WNOHANG);

		if (pid < 0) {
			pr_perror("cannot wait for the restored tasks");
			return -1;
		}
		if (pid == 0) {
			if (now_us() > deadline) {
				pr_err("timed out: %d of %d threads reached the end of the restorer\n",
				       held, nr_threads);
				return -1;
			}
			usleep(200);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (WIFSIGNALED(status))
				pr_err("pid %d was killed by signal %d during restore\n", pid,
				       WTERMSIG(status));
			else
				pr_err_logged("pid %d exited with %d during restore\n", pid,
					      WEXITSTATUS(status));
			if (pid == root_pid)
				root_pid = 0;
			return -1;
		}
		sig = WSTOPSIG(status);
		event = status >> 16;
		if (sig == (SIGTRAP | 0x80) && at_sigreturn(pid) && host_thread(pid)) {
			held++;
			continue;
		}
		ev = event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_STOP;
		if (!ev && sig != (SIGTRAP | 0x80) && !at_final_trap(pid, sig)) {
			report_stop(pid, sig, "during restore");
			return -1;
		}
		/* events come before the trap: those threads keep running freely */
		req = ev ? PTRACE_CONT : PTRACE_SYSCALL;	/* the trap's SIGTRAP is dropped */
		if (ptrace(req, pid, NULL, NULL)) {
			pr_perror("cannot resume restored tid %d", pid);
			return -1;
		}
	}
	return 0;
}

/*
 * munmap in the restored task, run from outside like any remote syscall,
 * through the syscall instruction of the blob: nothing needs poking.
 */
static int remote_munmap(pid_t tid, u64 blob, u64 addr, u64 len)
{
	struct remote_ctl rc = { .pid = tid, .code_addr = blob + RESTORER_SYSCALL_OFF };
	long ret;

	if (!len)
		return 0;
	if (remote_syscall(&rc, tid, &ret, __NR_munmap, addr, len, 0, 0, 0, 0))
		return -1;
	if (ret) {
		pr_err("munmap of the restorer in pid %d failed: %ld\n", tid, ret);
		return -1;
	}
	return 0;
}

/* close_range(svc_fd_base, ~0) in a process whose fd table others share */
static int remote_close_svc(pid_t tid, u64 blob)
{
	struct remote_ctl rc = { .pid = tid, .code_addr = blob + RESTORER_SYSCALL_OFF };
	long ret;

	if (remote_syscall(&rc, tid, &ret, __NR_close_range, svc_fd_base, ~0U, 0, 0, 0, 0))
		return -1;
	if (ret) {
		pr_err("closing criu's descriptors in pid %d failed: %ld\n", tid, ret);
		return -1;
	}
	pr_debug("pid %d: closed criu's descriptors of its shared fd table\n", tid);
	return 0;
}

static int finish_task(struct pstree_item *it)
{
	struct task_restore *tr = rst_of(it);
	struct task_sync *ts = &rsync->tasks[item_index(it)];
	int i;

	if (it->state == TASK_DEAD)
		return 0;
	/* every sharer is past its restorer: the anchors can go now */
	if (files_shared(it) && files_table_owner(it) && remote_close_svc(it->pid, ts->bootstrap))
		return -1;
	/* the restorer cannot unmap itself: do it from here (a vm child has none) */
	if (remote_munmap(it->pid, ts->bootstrap, ts->premap, ts->premap_len) ||
	    remote_munmap(it->pid, ts->bootstrap, ts->bootstrap, ts->bootstrap_len))
		return -1;
	for (i = 0; i < it->nr_threads; i++) {
		ThreadCoreEntry *tce = tr->cores[i]->thread_core;
		u64 mask = tce->has_blk_sigset ? tce->blk_sigset : tr->cores[0]->tc->blk_sigset;

		if (ptrace(PTRACE_SETSIGMASK, it->threads[i].tid, sizeof(mask), &mask)) {
			pr_perror("cannot set the signal mask of tid %d", it->threads[i].tid);
			return -1;
		}
	}
	return 0;
}

/*
 * A task dumped in group stop gets its stop signal while still traced:
 * it stays pending until detach, then the kernel stops the whole group
 * and tells the parent, as the first stop did.
 */
static void detach_all(void)
{
	struct pstree_item *it;
	int i;

	for_each_item(it)
		if (it->state == TASK_STOPPED && kill(it->pid, it->stop_signo))
			pr_perror("cannot stop restored pid %d with signal %d", it->pid,
				  it->stop_signo);
	for_each_item(it)
		for (i = 0; it->state != TASK_DEAD && i < it->nr_threads; i++)
			if (ptrace(PTRACE_DETACH, it->threads[i].tid, NULL, NULL) && errno != ESRCH)
				pr_perror("cannot detach from tid %d", it->threads[i].tid);
}

static int write_pidfile(pid_t pid)
{
	char buf[32], path[PATH_MAX];
	int fd, len;

	if (!opts.pidfile)
		return 0;
	/* like the log, a relative pidfile lives in the work directory */
	if (opts.pidfile[0] != '/' && opts.work_dir)
		snprintf(path, sizeof(path), "%s/%s", opts.work_dir, opts.pidfile);
	else
		snprintf(path, sizeof(path), "%s", opts.pidfile);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_perror("cannot create pidfile %s", opts.pidfile);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%d", pid);
	if (write_all(fd, buf, len) != len) {
		pr_perror("cannot write pidfile %s", opts.pidfile);
		close(fd);
		return -1;
	}
	return close(fd);
}

static int prepare_restore(void)
{
	struct pstree_item *it;
	int n;

	if (read_inventory() || cpuinfo_check(opts.cpu_cap, opts.cpu_cap_set) ||
	    read_pstree_image() || check_sessions())
		return -1;
	for_each_item(it)
		if (read_task_images(it))
			return -1;
	if (check_page_images())
		return -1;
	if (root_item->state == TASK_DEAD) {
		pr_err("unsupported: the root of the tree, pid %d, is a zombie\n", root_item->vpid);
		return -1;
	}
	if (check_shared_restore())
		return -1;
	if (prepare_namespaces(inv_ns_flags, inv_proc_mount, rst_of(root_item)->ids))
		return -1;
	if ((inv_ns_flags & CLONE_NEWPID) && root_item->vpid != 1) {
		pr_err("pstree.img: the root of a new pid namespace must be pid 1, not %d\n",
		       root_item->vpid);
		return -1;
	}
	if (!(inv_ns_flags & CLONE_NEWPID) && check_pids_free())
		return -1;
	if (prepare_files())
		return -1;
	if (log_move_fds(svc_fd_base)) {
		pr_perror("cannot move the log above fd %d", svc_fd_base);
		return -1;
	}
	if (move_image_dir_fd(svc_fd_base))
		return -1;
	if (open_all_anchors() || prepare_shared_memory())
		return -1;
	close_pipe_holders();

	n = pstree_count();
	rsync_len = PAGE_ALIGN(sizeof(*rsync) + n * sizeof(struct task_sync));
	rsync = mmap(NULL, rsync_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rsync == MAP_FAILED) {
		rsync = NULL;
		pr_perror("cannot map the restore sync area");
		return -1;
	}
	return 0;
}

static int total_threads(void)
{
	struct pstree_item *it;
	int n = 0;

	for_each_item(it)
		if (it->state != TASK_DEAD)
			n += it->nr_threads;
	return n;
}

static int alive_tasks(void)
{
	struct pstree_item *it;
	int n = 0;

	for_each_item(it)
		n += it->state != TASK_DEAD;
	return n;
}

static int run_restore(void)
{
	u64 deadline = now_us() + (u64)opts.timeout * 1000000;
	struct pstree_item *it;
	int i;

	if (fork_task(root_item))
		return -1;
	if (wait_ready(alive_tasks(), deadline) || resolve_host_pids() || restore_fowns() ||
	    seize_tasks() ||
	    interrupt_tasks())
		return -1;
	/* everything the tasks needed from criu is in their hands now */
	close_anchors();
	__atomic_store_n(&rsync->go, 1, __ATOMIC_SEQ_CST);
	futex(&rsync->go, FUTEX_WAKE, INT_MAX, NULL);
	if (cont_all() || run_to_sigreturn(total_threads(), deadline))
		return -1;
	/*
	 * From the entry of rt_sigreturn to its exit: the dumped registers.
	 * All first: a process on the mm of another returns through a frame
	 * in the other's bootstrap area, which finish_task() unmaps.
	 */
	for_each_item(it)
		for (i = 0; it->state != TASK_DEAD && i < it->nr_threads; i++)
			if (remote_syscall_stop(it->threads[i].tid))
				return -1;
	for_each_item(it)
		if (finish_task(it))
			return -1;
	/* the last thing that can fail, while failing still undoes it all */
	if (write_pidfile(root_pid))
		return -1;
	detach_all();
	if (root_pid != root_item->vpid)
		printf("restored pid %d of a new pid namespace as host pid %d\n", root_item->vpid,
		       root_pid);
	pr_info("restored %d processes, root pid %d\n", pstree_count(), root_pid);
	return 0;
}

static int wait_root(void)
{
	int status;

	while (waitpid(root_pid, &status, 0) < 0) {
		if (errno != EINTR) {
			pr_perror("cannot wait for pid %d", root_pid);
			return 1;
		}
	}
	if (WIFSIGNALED(status)) {
		pr_info("pid %d was killed by signal %d\n", root_pid, WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

int cr_restore_tasks(void)
{
	int ret = -1;

	if (open_image_dir(opts.imgs_dir, false) || images_check_complete(opts.imgs_dir))
		return -1;
	if (prepare_restore() || run_restore()) {
		if (rsync) {
			__atomic_store_n(&rsync->go, -1, __ATOMIC_SEQ_CST);
			futex(&rsync->go, FUTEX_WAKE, INT_MAX, NULL);
			kill_created();
		}
		if (root_pid > 0)
			waitpid(root_pid, NULL, 0);
		files_restore_failed();
		ipc_restore_failed();
		pr_err_logged("restore failed\n");
		goto out;
	}
	/* every connection is repaired: the dump's lock can go (a failure keeps it for a retry) */
	network_unlock();
	ipc_restore_done();
	ret = opts.restore_detached ? 0 : wait_root();
out:
	close_image_dir();
	return ret;
}
