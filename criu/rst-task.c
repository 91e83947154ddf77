// SPDX-License-Identifier: GPL-2.0
/*
 * Restore, inside each new task: forked with its old pid, it joins its
 * session and group, installs its descriptors, builds the restorer's
 * arguments, waits for criu's go and jumps into the restorer.
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

#include "fault.h"
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
#include "lazy.h"
#include "restore.h"
#include "cgroup.h"
#include "restorer-blob.h"
#include "seize.h"
#include "shared.h"
#include "util.h"
#include "vma.h"

#ifndef PTRACE_SETSIGMASK
#define PTRACE_SETSIGMASK 0x420b
#endif

#include "rst-internal.h"

void task_failed(void)
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
long clone3_soon_free(struct clone_args *ca)
{
	u64 deadline = now_us() + 2000000;
	long pid;

	if (fault_hit(FI_FORK))
		return -1;
	while ((pid = syscall(SYS_clone3, ca, sizeof(*ca))) < 0 && errno == EEXIST &&
	       now_us() < deadline)
		usleep(5000);
	return pid;
}

int fork_task(struct pstree_item *it)
{
	return fork_task_flags(it, 0);
}

/* extra: CLONE_PARENT from the helper of a gone session or group */
int fork_task_flags(struct pstree_item *it, unsigned long extra)
{
	struct clone_args ca;
	pid_t tid = it->vpid;
	long pid;

	memset(&ca, 0, sizeof(ca));
	if (it == root_item)
		ca.flags = restore_ns_flags() | (opts.restore_sibling ? CLONE_PARENT : 0);
	else
		ca.flags = share_clone_flags(it) | extra;
	/* a CLONE_PARENT child takes its creator's exit signal: clone3 wants 0 */
	ca.exit_signal = ca.flags & CLONE_PARENT ? 0 : SIGCHLD;
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
		if (restore_netns_from_criu(pid))
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
		if (restore_netns_from_criu(pid))
			return -1;
		__atomic_store_n(&rsync->maps_ready, 1, __ATOMIC_SEQ_CST);
		futex(&rsync->maps_ready, FUTEX_WAKE, INT_MAX, NULL);
	}
	it->pid = pid;
	rsync->tasks[item_index(it)].pid = pid;
	pr_info("created pid %d\n", it->vpid);
	return 0;
}

/*
 * The group may not exist yet: its leader, or the first member of a gone
 * group, is created in another branch of the tree at the same time.
 * setpgid() says EPERM until it is there in our session.
 */
static int join_group(struct pstree_item *it)
{
	u64 deadline = now_us() + 5000000;

	while (setpgid(0, it->pgid)) {
		if (errno != EPERM || now_us() > deadline) {
			pr_perror("cannot move pid %d (session %d) into group %d", it->vpid,
				  it->sid, it->pgid);
			return -1;
		}
		usleep(1000);
	}
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
	} else if (getpgid(0) != it->pgid) {
		return join_group(it);
	}
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
	/* before anything runs, and before the children inherit where it is */
	if (restore_task_cgroup(it))
		return -1;
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
	/* before the fork: children share what is the same copy-on-write */
	if (premap_private(it, &m))
		return -1;
	/* children on our mm come later, from the blob */
	list_for_each_entry(c, &it->children, sibling) {
		int by_helper;

		if (is_vm_child(c))
			continue;
		/* a child in a session or group whose leader is gone comes from a helper */
		by_helper = fork_by_helper(c);
		if (by_helper < 0 || (!by_helper && fork_task(c)))
			return -1;
	}
	/* after the fork: children make their own */
	if (lazy_task_uffd(it))
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
	if (!(share & CLONE_FS) && restore_fs_root(it))
		return -1;
	jump_to_restorer(&m, a);
}
