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

#include "action-scripts.h"
#include "cpuinfo.h"
#include "cr_options.h"
#include "file-lock.h"
#include "files.h"
#include "image.h"
#include "infect.h"
#include "ipc_ns.h"
#include "lazy.h"
#include "inventory.pb-c.h"
#include "cgroup.h"
#include "net-lock.h"
#include "page-chain.h"
#include "magic.h"
#include "mm.h"
#include "mount.h"
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

struct restore_sync *rsync;
static size_t rsync_len;
pid_t root_pid;		/* as criu sees it */

/* ---- reading the images ---- */

static u32 inv_ns_flags, inv_proc_mount;
static bool inv_has_ns_flags, inv_has_root_ids;
static TaskKobjIdsEntry inv_root_ids;	/* criu's own at the dump (CRIU's meaning) */

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
	inv_has_ns_flags = ie->has_ns_flags;
	if (ie->root_ids) {
		inv_root_ids = *ie->root_ids;
		inv_has_root_ids = true;
	}
	if (ie->has_tcp_close && ie->tcp_close && !opts.tcp_close) {
		pr_info("inventory.img: dumped with --tcp-close: restoring with it\n");
		opts.tcp_close = true;
	}
	inv_proc_mount = ie->has_proc_mount_flags ? ie->proc_mount_flags : 0;
	cgroup_note_inventory(ie->has_root_cg_set, ie->root_cg_set);
	if (!ret && network_lock_restore_start(ie->has_network_lock_method, ie->network_lock_method,
					       ie->dump_criu_run_id))
		ret = -1;
	pb_free(ie);
	return ret;
}

/*
 * Images of CRIU have no ns_flags: the tree's own namespaces are those
 * where the root's ids differ from root_ids, criu's at the dump.
 */
static void ns_flags_from_root_ids(TaskKobjIdsEntry *ids)
{
	const TaskKobjIdsEntry *c = &inv_root_ids;

	if (inv_has_ns_flags || !inv_has_root_ids)
		return;
#define NS_DIFF(f, flag)                                                   \
	do {                                                               \
		if (ids->has_##f && c->has_##f && ids->f != c->f)          \
			inv_ns_flags |= flag;                              \
	} while (0)
	NS_DIFF(pid_ns_id, CLONE_NEWPID);
	NS_DIFF(net_ns_id, CLONE_NEWNET);
	NS_DIFF(ipc_ns_id, CLONE_NEWIPC);
	NS_DIFF(uts_ns_id, CLONE_NEWUTS);
	NS_DIFF(mnt_ns_id, CLONE_NEWNS);
	NS_DIFF(user_ns_id, CLONE_NEWUSER);
	NS_DIFF(time_ns_id, CLONE_NEWTIME);
#undef NS_DIFF
	pr_info("inventory.img has no ns_flags: the root's own namespaces are %#x\n",
		inv_ns_flags);
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

/* A leader that had exited: no registers, it exits again after the restorer. */
static int check_exited_leader(struct pstree_item *it, CoreEntry *c)
{
	if (it->nr_threads < 2 || !c->thread_core) {
		pr_err("core-%d.img: an exited leader needs another thread and its thread state\n",
		       it->vpid);
		return -1;
	}
	if (c->tc->task_state == TASK_STOPPED && check_stopped(it, c->tc))
		return -1;
	if (c->tc->task_state != TASK_ALIVE && c->tc->task_state != TASK_STOPPED) {
		pr_err("core-%d.img: exited leader in state %u\n", it->vpid, c->tc->task_state);
		return -1;
	}
	it->leader_exited = true;
	it->leader_exit_code = c->tc->exit_code;
	pr_info("pid %d: its leader thread had exited with status %#x\n", it->vpid,
		c->tc->exit_code);
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
	if (i == 0 && c->tc && c->tc->has_leader_exited && c->tc->leader_exited)
		return check_exited_leader(it, c);
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

/*
 * CRIU marks pages of private anonymous memory PE_LAZY, and PE_PRESENT too
 * when their data is in the pages image (any dump without a page server):
 * those restore as usual.  Pages in a parent image (PE_PARENT, lazy or not)
 * are read through the chain of parent dumps (page-chain.c).  Pages only on
 * a page server are refused.
 */
static int check_pagemap_flags(const char *img, PagemapEntry *pe)
{
	u32 fl = pe->has_flags ? pe->flags : (pe->in_parent ? PE_PARENT : PE_PRESENT);

	if (fl & PE_GUARD)
		return fl == PE_GUARD ? 0 : -1;
	if (fl & PE_PARENT) {
		if (!(fl & ~(PE_PARENT | PE_LAZY)))
			return 0;
		pr_err("%s: pagemap entry at %llx has unknown flags %#x\n", img,
		       (unsigned long long)pe->vaddr, fl);
		return -1;
	}
	if (!(fl & PE_PRESENT)) {
		pr_err("%s: the pages at %llx are not in the image (a lazy dump's, for a page "
		       "server): not supported\n", img, (unsigned long long)pe->vaddr);
		return -1;
	}
	if (fl & ~(PE_PRESENT | PE_LAZY)) {
		pr_err("%s: pagemap entry at %llx has unknown flags %#x\n", img,
		       (unsigned long long)pe->vaddr, fl);
		return -1;
	}
	return 0;
}

/* Before anything is made: the parent dumps hold what the entry leaves to them. */
static int check_in_parent(struct pstree_item *it, const char *img, PagemapEntry *pe)
{
	const char *why;

	if (!page_chain_check(it->vpid, pe->vaddr, (u64)pe->nr_pages * PAGE_SIZE, &why))
		return 0;
	pr_err("%s: pagemap entry at %llx is in the parent image, but %s\n", img,
	       (unsigned long long)pe->vaddr, why);
	return -1;
}

static int read_pagemap(struct pstree_item *it, struct task_restore *tr)
{
	struct cr_img *img = open_image(CR_FD_PAGEMAP, O_RSTR, (unsigned long)it->vpid);
	PagemapHead *ph;
	u64 last_end = 0;
	int ret = -1;
	bool bad;

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
		/* CRIU's old images say in_parent; the flag is what we read */
		if (pe->has_in_parent && pe->in_parent) {
			pe->has_flags = true;
			pe->flags |= PE_PARENT;
		}
		bad = pe->vaddr & ~PAGE_MASK || pe->vaddr < last_end || !pe->nr_pages;
		if (bad)
			report_bad_run(img->name, pe, last_end);
		if (bad || check_pagemap_flags(img->name, pe)) {
			pb_free(pe);
			goto out;
		}
		last_end = pe->vaddr + (u64)pe->nr_pages * PAGE_SIZE;
		if (pe->has_flags && (pe->flags & PE_PARENT) && check_in_parent(it, img->name, pe)) {
			pb_free(pe);
			goto out;
		}
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
	/* no parent image stays open in the tasks forked later */
	page_chain_fini();
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
	tr->nr_cores = it->nr_threads;
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
	/* what PR_SET_MM_MAP would refuse, refused while nothing is lost yet */
	if (validate_mm_map(it))
		return -1;
	return read_fdinfo(tr) || read_pagemap(it, tr) ? -1 : 0;
}

static int check_sessions(void)
{

	if (root_item->sid == 0 && (inv_ns_flags & CLONE_NEWPID))
		pr_info("pid 1 had its session leader outside its pid namespace: it leads its "
			"own session now\n");
	else if (root_item->sid != root_item->vpid && !opts.shell_job) {
		pr_err("pid %d was dumped as a job of a shell session; restore it with --shell-job\n",
		       root_item->vpid);
		return -1;
	}
	/* sessions and groups whose leader is gone come from helpers */
	return plan_sessions();
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
	for (i = 0; i < nr_session_helpers(); i++)
		if (pid_in_use(session_helper_pid(i))) {
			pr_err("pid %d, of a gone session or group leader, is already in use\n",
			       session_helper_pid(i));
			return -1;
		}
	return 0;
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
		if (xwaitpid(root_pid, &status, WNOHANG) == root_pid) {
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

/*
 * Everything read and checked before anything is created: no side effect
 * but memory, so the fuzzer (test/fuzz) runs it over and over.
 */
int restore_read_images(void)
{
	struct pstree_item *it;

	if (read_inventory() || cpuinfo_check(opts.cpu_cap, opts.cpu_cap_set) ||
	    read_pstree_image())
		return -1;
	for_each_item(it)
		if (read_task_images(it))
			return -1;
	if (check_page_images() || seccomp_prepare_restore() || check_sessions())
		return -1;
	if (root_item->state == TASK_DEAD) {
		pr_err("unsupported: the root of the tree, pid %d, is a zombie\n", root_item->vpid);
		return -1;
	}
	return check_shared_restore();
}

static void free_task_restore(struct task_restore *tr)
{
	size_t i;

	if (!tr)
		return;
	for (i = 0; tr->cores && i < tr->nr_cores; i++)
		pb_free(tr->cores[i]);
	for (i = 0; i < tr->nr_fds; i++)
		pb_free(tr->fds[i]);
	for (i = 0; i < tr->nr_pmes; i++)
		pb_free(tr->pmes[i]);
	for (i = 0; i < tr->nr_guards; i++)
		pb_free(tr->guards[i]);
	pb_free(tr->mm);
	pb_free(tr->ids);
	pb_free(tr->fs);
	free(tr->cores);
	free(tr->fds);
	free(tr->pmes);
	free(tr->guards);
	free(tr);
}

/* Undo restore_read_images(), for the fuzzer. */
void restore_free_images(void)
{
	struct pstree_item *it;

	for_each_item(it) {
		free_task_restore(it->rst);
		it->rst = NULL;
	}
	seccomp_restore_forget();
	forget_sessions();
	free_pstree();
}

static int open_anchors(void)
{
	struct pstree_item *it;

	if ((mounts_in_images() && reg_check_identities()) || open_all_anchors())
		return -1;
	/* an exe PR_SET_MM_MAP would refuse, refused while nothing is lost yet */
	for_each_item(it)
		if (it->state != TASK_DEAD && validate_mm_exe(it))
			return -1;
	return 0;
}

static int prepare_restore(void)
{
	int n;

	if (restore_read_images())
		return -1;
	ns_flags_from_root_ids(rst_of(root_item)->ids);
	if (prepare_namespaces(inv_ns_flags, inv_proc_mount, rst_of(root_item)->ids))
		return -1;
	if ((inv_ns_flags & CLONE_NEWPID) && root_item->vpid != 1) {
		pr_err("pstree.img: the root of a new pid namespace must be pid 1, not %d\n",
		       root_item->vpid);
		return -1;
	}
	if (!(inv_ns_flags & CLONE_NEWPID) && check_pids_free())
		return -1;
	/* after prepare_files(): the cgroup.procs fds go above the tree's */
	if (prepare_files() || prepare_cgroups())
		return -1;
	if (log_move_fds(svc_fd_base)) {
		pr_perror("cannot move the log above fd %d", svc_fd_base);
		return -1;
	}
	if (move_image_dir_fd(svc_fd_base))
		return -1;
	/* files on the tree's own mounts are opened once the root has built them */
	if ((mounts_in_images() ? mnt_anchor_channel() : open_anchors()) || lazy_rst_prepare())
		return -1;
	if (prepare_shared_memory())
		return -1;
	if (!mounts_in_images())
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

	if (run_action(ACT_PRE_RESTORE, 0) || fork_task(root_item))
		return -1;
	/* the namespaces exist: runtimes move network devices into them now */
	if (run_action(ACT_SETUP_NS, root_pid) || run_action(ACT_POST_SETUP_NS, root_pid))
		return -1;
	if (mounts_in_images()) {
		if (mnt_hand_anchors(root_pid, open_anchors))
			return -1;
		close_pipe_holders();
	}
	/* every task is made and in its cgroups: limits can no longer refuse a fork */
	if (wait_ready(alive_tasks(), deadline) || restore_cgroup_props() ||
	    resolve_host_pids() || restore_fowns() ||
	    seize_tasks() || lazy_rst_take() ||
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
		for (i = it->leader_exited; it->state != TASK_DEAD && i < it->nr_threads; i++)
			if (remote_syscall_stop(it->threads[i].tid))
				return -1;
	for_each_item(it)
		if (finish_task(it))
			return -1;
	if (lazy_rst_handover())
		return -1;
	/* the last things that can fail, while failing still undoes it all */
	if (write_pidfile(root_pid) || run_action(ACT_POST_RESTORE, root_pid) ||
	    run_action(ACT_PRE_RESUME, root_pid))
		return -1;
	detach_all();
	if (restore_cgroup_freezer())
		pr_warn("the tree runs on, not frozen as it was dumped\n");
	if (run_action(ACT_POST_RESUME, root_pid))
		pr_warn("post-resume action failed: the tree runs on\n");
	/* under swrk our stdout is the container's (runc hands it its stdio) */
	if (root_pid != root_item->vpid && !opts.rpc)
		printf("restored pid %d of a new pid namespace as host pid %d\n", root_item->vpid,
		       root_pid);
	pr_info("restored %d processes, root pid %d\n", pstree_count(), root_pid);
	return 0;
}

pid_t restored_root_pid(void)
{
	return root_pid;
}

static int wait_root(void)
{
	int status;

	while (xwaitpid(root_pid, &status, 0) < 0) {
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
			xwaitpid(root_pid, NULL, 0);
		files_restore_failed();
		ipc_restore_failed();
		cgroup_restore_failed();
		lazy_rst_fini();
		pr_err_logged("restore failed\n");
		goto out;
	}
	/* every connection is repaired: the dump's lock can go (a failure keeps it for a retry) */
	network_unlock();
	if (run_action(ACT_NET_UNLOCK, root_pid))
		pr_warn("network-unlock action failed after the restore\n");
	ipc_restore_done();
	ret = opts.restore_detached ? 0 : wait_root();
out:
	cgroup_restore_fini();
	close_image_dir();
	return ret;
}
