// SPDX-License-Identifier: GPL-2.0
/*
 * The last steps of a restore, done by criu through ptrace: seize every
 * restored thread, let them run to the restorer's final trap, step them
 * through rt_sigreturn, unmap the restorer from outside and detach.
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

int seize_tasks(void)
{
	struct pstree_item *it;
	long o = PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;

	/* criu's syscalls in the task after its filters are in: suspend them */
	if (seccomp_restore_needed())
		o |= PTRACE_O_SUSPEND_SECCOMP;

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
int resolve_host_pids(void)
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

/* A restored leader thread that exits again at the end (see rst_leader_exit). */
static bool exiting_leader(pid_t tid)
{
	struct pstree_item *it;

	for_each_item(it)
		if (it->leader_exited && it->state != TASK_DEAD && it->pid == tid)
			return true;
	return false;
}

/* At the entry of its last syscall: rt_sigreturn, or exit for such a leader. */
static bool at_sigreturn(pid_t tid)
{
	struct syscall_info_entry si;

	memset(&si, 0, sizeof(si));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(si), &si) < 0)
		return false;
	if (si.op != SYSCALL_INFO_ENTRY)
		return false;
	return si.nr == __NR_rt_sigreturn || (si.nr == __NR_exit && exiting_leader(tid));
}

/* Stop every task where it waits for the go; from there we trace it. */
int interrupt_tasks(void)
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

int cont_all(void)
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
int run_to_sigreturn(int nr_threads, u64 deadline)
{
	int held = 0;

	while (held < nr_threads) {
		int status, sig, event, req;
		bool ev;
		pid_t pid = waitpid_tick(-1, &status, __WALL);

		if (pid < 0 && errno != EINTR) {
			pr_perror("cannot wait for the restored tasks");
			return -1;
		}
		if (pid < 0) {
			if (now_us() > deadline) {
				pr_err("timed out: %d of %d threads reached the end of the restorer\n",
				       held, nr_threads);
				return -1;
			}
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

int finish_task(struct pstree_item *it)
{
	struct task_restore *tr = rst_of(it);
	struct task_sync *ts = task_sync_of(it);
	pid_t tid = it->pid;
	int i;

	if (it->state == TASK_DEAD)
		return 0;
	/* an exiting leader waits at the entry of exit: a thread runs the calls */
	if (it->leader_exited)
		tid = it->threads[1].tid;
	/* every sharer is past its restorer: the anchors can go now */
	if (files_shared(it) && files_table_owner(it) && remote_close_svc(tid, ts->bootstrap))
		return -1;
	/* the restorer cannot unmap itself: do it from here (a vm child has none) */
	if (remote_munmap(tid, ts->bootstrap, ts->premap, ts->premap_len) ||
	    remote_munmap(tid, ts->bootstrap, ts->bootstrap, ts->bootstrap_len))
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
void detach_all(void)
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
