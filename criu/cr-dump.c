// SPDX-License-Identifier: GPL-2.0
/*
 * criu dump: freeze the tree, collect every task's state from /proc,
 * ptrace and remote syscalls, write the images, then kill the tree (or
 * let it run on with --leave-running).  On any failure every task is
 * put back exactly as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "action-scripts.h"
#include "core.pb-c.h"
#include "cpuinfo.h"
#include "cr_options.h"
#include "dedup.h"
#include "dump-intr.h"
#include "file-lock.h"
#include "files.h"
#include "image.h"
#include "infect.h"
#include "inventory.pb-c.h"
#include "cgroup.h"
#include "net-lock.h"
#include "magic.h"
#include "mem.h"
#include "mem-track.h"
#include "mm.h"
#include "pre-dump.h"
#include "page-xfer.h"
#include "mm.pb-c.h"
#include "namespaces.h"
#include "proc_parse.h"
#include "pstree.h"
#include "regs.h"
#include "seize.h"
#include "shared.h"
#include "sockets.h"
#include "stats.pb-c.h"
#include "task_state.h"
#include "tty.h"
#include "util.h"
#include "vma.h"

/* the auxv words CRIU reads and accepts on x86_64 (its AT_VECTOR_SIZE) */

/* PTRACE_GET_RSEQ_CONFIGURATION (0x420f) fills this (linux/ptrace.h) */
#define CR_PTRACE_GET_RSEQ_CONFIGURATION 0x420f
struct cr_rseq_configuration {
	u64 rseq_abi_pointer;
	u32 rseq_abi_size;
	u32 signature;
	u32 flags;
	u32 pad;
};

#ifndef PR_GET_TID_ADDRESS
#define PR_GET_TID_ADDRESS 40
#endif

struct task_dump {
	struct pstree_item *it;
	struct arena a;
	struct proc_pid_stat stat;
	struct proc_status status;
	struct vm_area_list vmas;
	struct remote_ctl rc;
	TaskKobjIdsEntry ids;
	CoreEntry **cores;	/* one per thread, leader first */
	CoreEntry *lcore;	/* an exited leader's: process state, no registers */
	struct proc_pid_stat lstat;	/* the exited leader's */
	u64 brk;
	long dumpable;
	long subreaper;
	u32 mlockall;		/* MCL_FUTURE, MCL_ONFAULT */
};

static TaskKobjIdsEntry root_ids, criu_ids;
static u32 tree_ns_flags, tree_proc_mount;

TaskKobjIdsEntry *dump_root_ids(void)
{
	return &root_ids;
}
static u64 freeze_start_us, frozen_us, freezing_us;

/* ---- tree-wide checks ---- */

int fill_item_ids(struct pstree_item *it)
{
	struct proc_status st;
	int i, last;

	if (parse_pid_status(it->pid, 0, &st)) {
		pr_perror("cannot read /proc/%d/status", it->pid);
		return -1;
	}
	/* the innermost pid namespace is the tree's own view */
	last = st.ns_levels ? st.ns_levels - 1 : 0;
	/* the tgid: pid may be a thread's when the leader has exited */
	it->vpid = st.ns_levels ? st.nstgid[last] : it->pid;
	it->pgid = st.nspgid[last];
	it->sid = st.nssid[last];
	it->ppid = it->parent ? it->parent->vpid : 0;
	for (i = 0; i < it->nr_threads; i++) {
		struct proc_status ts;

		if (parse_pid_status(it->pid, it->threads[i].tid, &ts)) {
			pr_perror("cannot read the status of tid %d", it->threads[i].tid);
			return -1;
		}
		it->threads[i].vtid = ts.ns_levels ? ts.nspid[ts.ns_levels - 1] : ts.nspid[0];
	}
	return 0;
}

/*
 * A session or group id is one of the tree, the root's, or one whose
 * leader is gone (restore makes it again with a helper of that pid).  A
 * pid that is some task's session or group id cannot be handed out again,
 * so if a task with that pid exists outside the tree, it is the leader.
 * In a pid namespace of the tree's own, every id is the tree's.
 */
static bool id_restorable(pid_t id, pid_t roots)
{
	char path[32];

	if (id == 0 || id == roots || pstree_find_vpid(id))
		return true;
	if (root_item->vpid != (root_item->leader_exited ? root_item->leader_pid : root_item->pid))
		return true;
	snprintf(path, sizeof(path), "/proc/%d", id);
	if (access(path, F_OK) == 0)
		return false;
	pr_info("the leader of session or group %d is gone\n", id);
	return true;
}

/* Sessions and groups must come from inside the tree, or be the shell's. */
static int check_sessions(void)
{
	struct pstree_item *it;

	for_each_item(it)
		if (fill_item_ids(it))
			return -1;

	/* a session led from outside the tree's pid namespace shows as 0 */
	if (root_item->sid == 0 && root_item->vpid == 1)
		pr_info("pid %d: its session leader is outside its pid namespace; it will lead "
			"its own session after restore\n", root_item->pid);
	else if (root_item->sid != root_item->vpid && !opts.shell_job) {
		pr_err("pid %d is not a session leader (its session is %d); use --shell-job "
		       "to dump a job of a shell\n", root_item->pid, root_item->sid);
		return -1;
	}
	for_each_item(it) {
		if (it == root_item)
			continue;
		if (id_restorable(it->sid, root_item->sid) &&
		    id_restorable(it->pgid, root_item->pgid))
			continue;
		pr_err("unsupported: pid %d is in session %d, group %d led from outside the tree\n",
		       it->pid, it->sid, it->pgid);
		return -1;
	}
	return check_cttys();
}

/* ---- one task ---- */

u64 exec_addr(struct vm_area_list *vl)
{
	struct vma_area *v;

	list_for_each_entry(v, &vl->h, list)
		if ((v->e.prot & PROT_EXEC) && (v->e.status & VMA_AREA_REGULAR) &&
		    !(v->e.status & (VMA_AREA_VDSO | VMA_AREA_VVAR)) && vma_len(v) >= 8)
			return v->e.start;
	return 0;
}

static int dump_task_prctls(struct task_dump *td)
{
	struct remote_ctl *rc = &td->rc;
	struct remote_call c[3] = {
		{ .nr = __NR_brk },
		{ .nr = __NR_prctl, .a = { PR_GET_DUMPABLE } },
		{ .nr = __NR_prctl, .a = { PR_GET_CHILD_SUBREAPER, rc->scratch } },
	};

	td->subreaper = 0;
	if (remote_syscalls(rc, rc->pid, c, 3) ||
	    remote_read(rc, rc->scratch, &td->subreaper, sizeof(int)))
		return -1;
	td->brk = c[0].ret;
	td->dumpable = c[1].ret;
	td->subreaper = (int)td->subreaper;
	/* the scratch area is mapped after any mlockall() the task did */
	return read_mlockall(rc->pid, rc->scratch, &td->mlockall);
}

static int dump_thread_misc(struct task_dump *td, struct thread *t, CoreEntry *core,
			    long *secbits)
{
	ThreadCoreEntry *tce = core->thread_core;
	struct remote_ctl *rc = &td->rc;
	struct cr_rseq_configuration rseq;
	struct proc_pid_stat st;
	ThreadSasEntry *sas;
	stack_t ss;
	long head_len;
	u64 tid_addr = 0, head = 0;
	int pdeath = 0;
	/* sigaltstack, clear_child_tid, pdeath signal, securebits: only the thread knows */
	const u64 at_tid = rc->scratch + sizeof(ss), at_pdeath = at_tid + sizeof(tid_addr);
	struct remote_call c[4] = {
		{ .nr = __NR_sigaltstack, .a = { 0, rc->scratch } },
		{ .nr = __NR_prctl, .a = { PR_GET_TID_ADDRESS, at_tid } },
		{ .nr = __NR_prctl, .a = { PR_GET_PDEATHSIG, at_pdeath } },
		{ .nr = __NR_prctl, .a = { PR_GET_SECUREBITS } },
	};

	if (remote_syscalls(rc, t->tid, c, 4) ||
	    remote_read(rc, rc->scratch, &ss, sizeof(ss)) ||
	    remote_read(rc, at_tid, &tid_addr, sizeof(tid_addr)) ||
	    remote_read(rc, at_pdeath, &pdeath, sizeof(pdeath)))
		return -1;
	*secbits = c[3].ret;

	sas = arena_new(&td->a, ThreadSasEntry);
	if (!sas)
		return -1;
	thread_sas_entry__init(sas);
	sas->ss_sp = (u64)(unsigned long)ss.ss_sp;
	sas->ss_size = ss.ss_size;
	sas->ss_flags = ss.ss_flags;
	tce->sas = sas;
	core->thread_info->clear_tid_addr = tid_addr;
	tce->has_pdeath_sig = true;
	tce->pdeath_sig = pdeath;

	if (syscall(SYS_get_robust_list, t->tid, &head, &head_len)) {
		pr_perror("cannot read the robust list of tid %d", t->tid);
		return -1;
	}
	tce->futex_rla = head;
	tce->futex_rla_len = head_len;

	memset(&rseq, 0, sizeof(rseq));
	if (ptrace(CR_PTRACE_GET_RSEQ_CONFIGURATION, t->tid, sizeof(rseq), &rseq) < 0) {
		pr_perror("cannot read the rseq registration of tid %d", t->tid);
		return -1;
	}
	if (rseq.rseq_abi_pointer) {
		RseqEntry *re = arena_new(&td->a, RseqEntry);

		if (!re)
			return -1;
		rseq_entry__init(re);
		re->rseq_abi_pointer = rseq.rseq_abi_pointer;
		re->rseq_abi_size = rseq.rseq_abi_size;
		re->signature = rseq.signature;
		tce->rseq_entry = re;
	}

	if (parse_pid_stat(td->it->pid, t->tid, &st)) {
		pr_perror("cannot read the stat of tid %d", t->tid);
		return -1;
	}
	tce->has_sched_nice = tce->has_sched_policy = tce->has_sched_prio = true;
	tce->sched_nice = st.nice;
	tce->sched_policy = st.policy;
	tce->sched_prio = st.rt_priority;
	if (dump_thread_sched(t->tid, &td->a, tce))
		return -1;
	tce->comm = arena_alloc(&td->a, sizeof(st.comm));
	if (!tce->comm)
		return -1;
	strcpy(tce->comm, st.comm);
	return 0;
}

/* Registers are read before remote calls park the thread elsewhere. */
static int dump_thread_regs(struct task_dump *td, int idx)
{
	struct thread *t = &td->it->threads[idx];
	CoreEntry *core;
	ThreadCoreEntry *tce;

	core = arena_new(&td->a, CoreEntry);
	tce = arena_new(&td->a, ThreadCoreEntry);
	if (!core || !tce)
		return -1;
	core_entry__init(core);
	thread_core_entry__init(tce);
	core->mtype = CORE_ENTRY__MARCH__X86_64;
	core->thread_core = tce;
	td->cores[idx] = core;
	return dump_thread_cpu(t->tid, &td->a, &core->thread_info);
}

static int dump_thread(struct task_dump *td, int idx)
{
	struct thread *t = &td->it->threads[idx];
	CoreEntry *core = td->cores[idx];
	ThreadCoreEntry *tce = core->thread_core;
	struct proc_status st;
	long secbits;

	if (parse_pid_status(td->it->pid, t->tid, &st)) {
		pr_perror("cannot read the status of tid %d", t->tid);
		return -1;
	}
	remote_thread_status(&td->rc, t->tid, &st);
	if (dump_seccomp_thread(td->it->pid, t->tid, &st, tce))
		return -1;
	tce->has_blk_sigset = true;
	tce->blk_sigset = t->orig_sigmask;
	if (dump_thread_misc(td, t, core, &secbits) ||
	    dump_creds(&st, t->tid, secbits, &td->a, &tce->creds))
		return -1;
	return dump_pending_signals(t, false, &td->a, &tce->signals_p);
}

static int read_personality(pid_t pid, u32 *pers)
{
	char path[64];
	long long v;

	snprintf(path, sizeof(path), "/proc/%d/personality", pid);
	if (read_file_hex(path, &v)) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	*pers = v;
	return 0;
}

static int dump_task_core(struct task_dump *td)
{
	struct remote_call c[SIGACTION_CALLS + ITIMER_CALLS + 1];
	u64 sa_area = td->rc.scratch, it_area = sa_area + SIGACTION_CALLS * 32;
	struct pstree_item *it = td->it;
	TaskCoreEntry *tc;
	char path[64];
	long long v;

	tc = arena_new(&td->a, TaskCoreEntry);
	if (!tc)
		return -1;
	task_core_entry__init(tc);
	tc->task_state = it->state;
	if (it->state == TASK_STOPPED) {
		tc->has_stop_signo = true;
		tc->stop_signo = it->stop_signo;
	}
	tc->exit_code = 0;
	if (it->leader_exited) {
		tc->has_leader_exited = tc->leader_exited = true;
		tc->exit_code = it->leader_exit_code;
	}
	if (read_personality(it->pid, &tc->personality))
		return -1;
	tc->flags = td->stat.flags;
	tc->blk_sigset = it->threads[0].orig_sigmask;
	/* the process's name is its leader's */
	tc->comm = it->leader_exited ? td->lstat.comm : td->stat.comm;
	/* the process-wide calls in one stop */
	sigaction_calls(c, sa_area);
	itimer_calls(c + SIGACTION_CALLS, it_area);
	membarrier_call(c + SIGACTION_CALLS + ITIMER_CALLS);
	if (remote_syscalls(&td->rc, it->pid, c, ARRAY_SIZE(c)))
		return -1;
	if (dump_sigactions(&td->rc, &td->a, tc, c, sa_area) ||
	    dump_timers(&td->rc, &td->a, tc, c + SIGACTION_CALLS, it_area) ||
	    dump_rlimits(it->pid, &td->a, &tc->rlimits) ||
	    dump_pending_signals(&it->threads[0], true, &td->a, &tc->signals_s))
		return -1;

	snprintf(path, sizeof(path), "/proc/%d/loginuid", it->pid);
	if (!read_int_file(path, &v)) {
		tc->has_loginuid = true;
		tc->loginuid = v;
	}
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", it->pid);
	if (read_int_file(path, &v)) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	tc->has_oom_score_adj = true;
	tc->oom_score_adj = v;
	tc->has_child_subreaper = true;
	tc->child_subreaper = td->subreaper;
	if (dump_task_cgroup(it->pid, &tc->cg_set))
		return -1;
	tc->has_cg_set = true;
	if (dump_membarrier(it->pid, tc, c + SIGACTION_CALLS + ITIMER_CALLS))
		return -1;
	(td->lcore ? td->lcore : td->cores[0])->tc = tc;
	return 0;
}

/*
 * An exited leader has no registers to dump: its core holds the process
 * state, and of its own its name, signal mask and creds (as /proc shows
 * them; securebits from the first live thread).
 */
static int dump_exited_leader(struct task_dump *td)
{
	/* of its own, securebits are not shown: those of the first live thread */
	struct remote_call call = { .nr = __NR_prctl, .a = { PR_GET_SECUREBITS } };
	struct pstree_item *it = td->it;
	struct proc_status st;
	ThreadCoreEntry *tce;
	CoreEntry *core;

	if (parse_pid_stat(it->leader_pid, 0, &td->lstat) ||
	    parse_pid_status(it->leader_pid, 0, &st)) {
		pr_perror("cannot read /proc/%d", it->leader_pid);
		return -1;
	}
	core = arena_new(&td->a, CoreEntry);
	tce = arena_new(&td->a, ThreadCoreEntry);
	if (!core || !tce)
		return -1;
	core_entry__init(core);
	thread_core_entry__init(tce);
	core->mtype = CORE_ENTRY__MARCH__X86_64;
	core->thread_core = tce;
	tce->has_blk_sigset = true;
	tce->blk_sigset = st.sigblk;
	tce->comm = td->lstat.comm;
	if (remote_syscalls(&td->rc, it->threads[0].tid, &call, 1) ||
	    dump_creds(&st, it->threads[0].tid, call.ret, &td->a, &tce->creds))
		return -1;
	td->lcore = core;
	return 0;
}

static int dump_vma_files(struct task_dump *td)
{
	struct vma_area *v;

	list_for_each_entry(v, &td->vmas.h, list) {
		VmaEntry *e = &v->e;

		if (e->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
			/*
			 * A shared mapping that is or may become writable (VM_MAYWRITE:
			 * its file was opened for writing) needs the file writable.
			 */
			unsigned int fl = (e->status & VMA_FILE_SHARED) &&
						  ((e->prot & PROT_WRITE) || v->maywrite) ?
						  O_RDWR : O_RDONLY;
			u32 id;

			if (dump_vma_file(td->it->pid, &td->vmas, v, fl, &id) ||
			    note_mapped_file(td->it, v, id))
				return -1;
			e->shmid = id;
			e->has_fdflags = true;
			e->fdflags = fl;
		} else if ((e->status & VMA_ANON_SHARED) && !(e->status & VMA_AREA_SYSVIPC)) {
			if (dump_shared_anon(td->it->pid, e->start, e->end, e->pgoff, e->shmid))
				return -1;
		}
	}
	return 0;
}

static int dump_task_mm(struct task_dump *td)
{
	struct mm_dump d = {
		.stat = &td->stat,
		.brk = td->brk,
		.dumpable = td->dumpable,
		.thp_disabled = td->status.thp_enabled == 0,
		.vmas = &td->vmas,
		.mlockall = td->mlockall,
	};

	return dump_mm(td->it, &d);
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return (x > y) - (x < y);
}

/* The pages, with the threads' stack pointers (sorted): their pages are never lazy. */
static int dump_task_pages(struct task_dump *td)
{
	u64 *sps = arena_array(&td->a, u64, td->it->nr_threads);
	int i;

	if (!sps)
		return -1;
	for (i = 0; i < td->it->nr_threads; i++)
		sps[i] = td->cores[i]->thread_info->gpregs->sp;
	qsort(sps, td->it->nr_threads, sizeof(*sps), cmp_u64);
	return dump_private_pages(td->it, &td->vmas, sps, td->it->nr_threads);
}

static int write_cores(struct task_dump *td)
{
	int i;

	if (td->lcore && pb_write_image(CR_FD_CORE, &td->lcore->base, td->it->vpid))
		return -1;
	for (i = 0; i < td->it->nr_threads; i++)
		if (pb_write_image(CR_FD_CORE, &td->cores[i]->base, td->it->threads[i].vtid))
			return -1;
	return 0;
}

static int dump_task_remote(struct task_dump *td)
{
	struct pstree_item *it = td->it;
	u64 addr = exec_addr(&td->vmas);
	int i, ret = -1;

	if (!addr) {
		pr_err("pid %d has no executable mapping to run syscalls from\n", it->pid);
		return -1;
	}
	for (i = 0; i < it->nr_threads; i++)
		if (dump_thread_regs(td, i))
			return -1;
	if (remote_start(&td->rc, it, addr))
		return -1;
	if (dump_task_prctls(td) || mem_track_task(&td->rc, it))
		goto out;
	for (i = 0; i < it->nr_threads; i++)
		if (dump_thread(td, i))
			goto out;
	if (it->leader_exited && dump_exited_leader(td))
		goto out;
	if (dump_task_core(td))
		goto out;
	ret = 0;
out:
	if (remote_stop(&td->rc))
		ret = -1;
	return ret;
}

/* A zombie: a core with its state, exit status and name, nothing else. */
static int dump_zombie(struct pstree_item *it)
{
	CoreEntry core = CORE_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	struct proc_pid_stat st;

	if (parse_pid_stat(it->pid, 0, &st)) {
		pr_perror("cannot read the stat of zombie %d", it->pid);
		return -1;
	}
	core.mtype = CORE_ENTRY__MARCH__X86_64;
	core.tc = &tc;
	tc.task_state = TASK_DEAD;
	tc.exit_code = st.exit_code;
	tc.comm = st.comm;
	pr_info("zombie %d: exit status %#x\n", it->pid, st.exit_code);
	return pb_write_image(CR_FD_CORE, &core.base, it->vpid);
}

static int dump_one_task(struct pstree_item *it)
{
	struct task_dump td;
	int ret = -1;

	if (it->state == TASK_DEAD)
		return dump_zombie(it);

	memset(&td, 0, sizeof(td));
	td.it = it;
	INIT_LIST_HEAD(&td.vmas.h);
	pr_info("dumping pid %d (%d threads)\n", it->pid, it->nr_threads);

	if (parse_pid_stat(it->pid, 0, &td.stat) || parse_pid_status(it->pid, 0, &td.status)) {
		pr_perror("cannot read /proc/%d", it->pid);
		goto out;
	}
	td.cores = arena_array(&td.a, CoreEntry *, it->nr_threads);
	if (!td.cores)
		goto out;
	/* the VMAs are read before the scratch area of remote calls exists */
	if (collect_vmas(it->pid, &td.vmas))
		goto out;
	if (dump_task_remote(&td))
		goto out;

	task_kobj_ids_entry__init(&td.ids);
	dump_fill_ids(it, &td.ids);
	if (dump_task_ns_ids(it->pid, &td.ids))
		goto out;
	if (it == root_item)
		root_ids = td.ids;

	/* a shared fd table is written once, by its first process */
	if ((dump_files_first(it) && dump_task_files(it, td.ids.files_id)) ||
	    dump_fs(it, td.status.umask) ||
	    dump_vma_files(&td) || dump_task_pages(&td) || dump_task_mm(&td) ||
	    write_cores(&td) || pb_write_image(CR_FD_IDS, &td.ids.base, it->vpid))
		goto out;
	ret = 0;
out:
	free_vmas(&td.vmas);
	arena_free(&td.a);
	return ret;
}

/* ---- the images of the whole dump ---- */

/* criu's own ids: objects no task of the tree has, namespaces as numbered for the tree */
static int fill_criu_ids(void)
{
	task_kobj_ids_entry__init(&criu_ids);
	criu_ids.vm_id = new_kobj_id();
	criu_ids.files_id = new_kobj_id();
	criu_ids.fs_id = new_kobj_id();
	criu_ids.sighand_id = new_kobj_id();
	return dump_task_ns_ids(0, &criu_ids);
}

static int write_inventory(void)
{
	InventoryEntry ie = INVENTORY_ENTRY__INIT;

	if (fill_criu_ids())
		return -1;

	ie.img_version = CRTOOLS_IMAGES_V1_1;
	ie.has_fdinfo_per_id = true;
	ie.fdinfo_per_id = true;
	ie.has_ns_per_id = true;
	ie.ns_per_id = true;
	/* CRIU's root_ids are criu's own: where the root's differ, restore makes new ones */
	ie.root_ids = &criu_ids;
	ie.has_lsmtype = true;
	ie.lsmtype = LSMTYPE__NO_LSM;
	ie.has_ns_flags = true;
	ie.ns_flags = tree_ns_flags;
	ie.has_proc_mount_flags = tree_proc_mount != 0;
	ie.proc_mount_flags = tree_proc_mount;
	ie.has_network_lock_method = true;
	ie.network_lock_method = network_lock_method();
	ie.dump_criu_run_id = (char *)network_lock_run_id();
	ie.has_tcp_close = opts.tcp_close;
	ie.tcp_close = opts.tcp_close;
	ie.root_cg_set = dump_criu_cgroup_set();
	ie.has_root_cg_set = ie.root_cg_set != 0;
	return images_commit_inventory(&ie.base);
}

/* stats-dump: the times and page counts of a dump or pre-dump (no shmem there) */
int write_dump_stats(u64 freezing, u64 frozen, bool shmem)
{
	StatsEntry se = STATS_ENTRY__INIT;
	DumpStatsEntry ds = DUMP_STATS_ENTRY__INIT;
	struct cr_img *img;
	int ret;

	ds.freezing_time = freezing;
	ds.frozen_time = frozen;
	ds.memdump_time = dstats.memdump_us;
	ds.memwrite_time = dstats.memwrite_us;
	ds.pages_scanned = dstats.pages_scanned;
	ds.pages_written = dstats.pages_written;
	ds.pages_skipped_parent = dstats.pages_parent;
	ds.has_shpages_scanned = ds.has_shpages_written = shmem;
	ds.shpages_scanned = dstats.shpages_scanned;
	ds.shpages_written = dstats.shpages_written;
	se.dump = &ds;
	img = open_image(CR_FD_STATS, O_DUMP, "dump");
	if (!img)
		return -1;
	ret = pb_write(img, &se);
	if (close_image(img))
		ret = -1;
	return ret;
}

static int dump_all_tasks(void)
{
	struct pstree_item *it;

	if (check_sessions() || dump_shared_ids())
		return -1;
	if (files_dump_init() || prepare_id_translation(root_item->pid))
		return -1;
	for_each_item(it)
		if (dump_step("dumping a task") || dump_one_task(it))
			return -1;
	if (dump_mapped_locks())
		return -1;
	if (dump_namespaces(root_item, &tree_ns_flags, &tree_proc_mount))
		return -1;
	if (files_dump_fini() || dump_pstree() || seccomp_dump_fini() ||
	    dump_timens(root_item->pid) || cpuinfo_dump() || dump_cgroups() ||
	    page_xfer_finish())
		return -1;
	return 0;
}

int cr_dump_tasks(pid_t pid)
{
	bool committed = false;
	int ret = -1, seized;

	dump_intr_begin();
	if (open_image_dir(opts.imgs_dir, true) || images_dump_start()) {
		dump_intr_end();
		return -1;
	}
	/* the big copy buffer is faulted in before the tree stops */
	if (mem_dump_init(!opts.leave_running, task_rss_bytes(pid)) || mem_track_prepare())
		goto out;
	if (run_action(ACT_PRE_DUMP, 0))
		goto out;
	/* smaps walks the page tables: read it now, only checked while frozen */
	vmas_read_early(pid);
	freeze_start_us = now_us();
	/* --freeze-cgroup: the threads of the cgroup seized in one pass */
	if (freezer_freeze())
		goto out;
	seized = seize_tree(pid);
	freezer_forget_outsiders();
	if (seized || seccomp_suspend_tree())
		goto unseize;
	freezing_us = now_us() - freeze_start_us;
	network_lock_set_root(root_item->pid);
	if (run_action(ACT_NET_LOCK, 0))
		goto unseize;
	pr_info("froze %d processes in %llu us\n", pstree_count(), (unsigned long long)freezing_us);

	ret = dump_all_tasks();
	/* a post-dump script that fails makes the dump fail: the tree resumes */
	if (!ret && run_action(ACT_POST_DUMP, 0))
		ret = -1;
	/*
	 * The tree is killed only once the dump is complete on disk, so there
	 * is never a moment without either the tree or a dump.  A tree that
	 * runs on needs no such wait: -R commits after it is let go.
	 */
	if (!ret && !opts.leave_running) {
		ret = write_inventory();
		committed = !ret;
	}
	/* the last moment to give up: after this the tree is killed or let go */
	if (!ret && dump_step("images written"))
		ret = -1;
unseize:
	if (ret || opts.leave_running) {
		tcp_dump_finish(true);
		unseize_tree(UNSEIZE_RESUME);
	} else {
		unseize_tree(UNSEIZE_KILL);
		tcp_dump_finish(false);
	}
	if ((ret || opts.leave_running) && freezer_restore_state())
		ret = -1;
	frozen_us = now_us() - freeze_start_us;
	if (ret && committed)
		images_uncommit_inventory();
	if (!ret) {
		pr_info("frozen for %llu us\n", (unsigned long long)frozen_us);
		ret = write_dump_stats(freezing_us, frozen_us, true);
	}
	if (!ret && opts.auto_dedup && dedup_parent_pages())
		ret = -1;	/* the tree is gone or runs on: only the parent is spoilt */
	if (!ret && opts.leave_running)
		ret = write_inventory();
	if (!ret)
		ret = images_commit_durable();
out:
	files_dump_failed = ret != 0;
	files_dump_fini();
	/* the connections are out of repair: a tree that runs on talks again */
	if ((ret || opts.leave_running) && (network_unlock() || run_action(ACT_NET_UNLOCK, 0)))
		ret = -1;
	dump_shared_fini();
	vmas_early_fini();
	/* after the tree runs again: a pre-dump's keeper takes the uffds */
	if (mem_track_finish(ret == 0))
		ret = -1;
	mem_dump_fini();
	cgroup_dump_fini();
	free_pstree();
	close_image_dir();
	if (ret)
		pr_info("dump failed\n");
	else
		pr_info("dump finished successfully\n");
	dump_intr_end();
	return ret;
}
