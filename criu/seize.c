// SPDX-License-Identifier: GPL-2.0
/*
 * Freezing and thawing the tree with ptrace.  Every thread is seized
 * and interrupted; children are found through /proc/PID/task/TID/children
 * once their parent can no longer fork.  Signal masks are left alone:
 * a stopped thread takes no signal, and the remote calls of infect.c
 * block them only while they run.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "fault.h"
#include "cr_options.h"
#include "dump-intr.h"
#include "proc_parse.h"
#include "pstree.h"
#include "seize.h"
#include "shared.h"
#include "util.h"

#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif

static u64 freeze_deadline;

int wait_stop(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);

		if (r == tid)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return -1;
	}
}

/*
 * A blocking waitpid that still comes back every few ms to look at the
 * clock: a timer aimed at this thread sends SIGALRM, whose handler does
 * nothing and is installed without SA_RESTART, so waitpid fails with
 * EINTR.  Polling with WNOHANG instead takes the CPU from the very
 * threads we wait for.  Without the timer (or with SIGALRM blocked) we
 * poll as before.
 */
#define WAIT_TICK_NS	(5 * 1000 * 1000)

static timer_t wait_timer;
static int wait_timer_state;	/* 0: not set up, 1: usable, -1: poll */

static void wait_tick(int sig)
{
	(void)sig;
}

static bool wait_timer_usable(void)
{
	struct sigaction sa;
	struct sigevent sev;
	sigset_t cur;

	if (wait_timer_state)
		return wait_timer_state > 0;
	wait_timer_state = -1;
	if (pthread_sigmask(SIG_BLOCK, NULL, &cur) || sigismember(&cur, SIGALRM))
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wait_tick;
	if (sigaction(SIGALRM, &sa, NULL))
		return false;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &wait_timer)) {
		signal(SIGALRM, SIG_DFL);
		return false;
	}
	wait_timer_state = 1;
	return true;
}

static void wait_timer_set(bool on)
{
	struct itimerspec its;
	int e = errno;

	memset(&its, 0, sizeof(its));
	if (on)
		its.it_value.tv_nsec = its.it_interval.tv_nsec = WAIT_TICK_NS;
	timer_settime(wait_timer, 0, &its, NULL);
	errno = e;
}

pid_t waitpid_tick(pid_t pid, int *status, int flags)
{
	pid_t r = waitpid(pid, status, flags | WNOHANG);

	if (r)
		return r;
	if (!wait_timer_usable()) {
		usleep(200);
		errno = EINTR;
		return -1;
	}
	wait_timer_set(true);
	r = waitpid(pid, status, flags);
	wait_timer_set(false);
	return r;
}

/*
 * waitpid that gives up at the freeze deadline: a thread may never stop.
 * One that waits in vfork() for its child does not stop until the child
 * execs or exits; after a while, look for that and say so.  Returns 0,
 * -1 with errno, or -2 when the failure was reported.
 */
static int wait_stop_loop(struct pstree_item *it, pid_t tid, int *status, bool blocking)
{
	u64 start = now_us();
	pid_t child;
	int spins = 0;
	bool looked = false;

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | (blocking ? 0 : WNOHANG));

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (!looked && now_us() - start > 50000) {
			looked = true;
			child = vfork_child(it->pid, tid);
			if (child > 0) {
				pr_err("unsupported: pid %d waits in vfork() for its child %d, which "
				       "runs on its memory\n", it->pid, child);
				return -2;
			}
		}
		if (now_us() > freeze_deadline) {
			pr_err("timed out freezing tid %d of pid %d (--timeout %u)\n", tid, it->pid,
			       opts.timeout);
			return -2;
		}
		if (blocking)
			continue;
		if (spins++ < 1000)
			sched_yield();
		else
			usleep(200);
	}
}

static int wait_stop_until(struct pstree_item *it, pid_t tid, int *status)
{
	pid_t r = waitpid(tid, status, __WALL | WNOHANG);
	int ret;

	if (r == tid)
		return 0;
	if (r < 0 && errno != EINTR)
		return -1;
	if (!wait_timer_usable())
		return wait_stop_loop(it, tid, status, false);
	wait_timer_set(true);
	ret = wait_stop_loop(it, tid, status, true);
	wait_timer_set(false);
	return ret;
}

/*
 * Seizing a task in group stop traps it at once, so our PTRACE_INTERRUPT
 * is left pending and would trap the first remote syscall.  Interrupt
 * again (a pending trap is one bit) and resume: it traps before running
 * any user code and nothing is pending any more.
 */
static int drain_stop_trap(struct pstree_item *it, struct thread *t)
{
	int status;

	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) ||
	    ptrace(PTRACE_CONT, t->tid, NULL, NULL)) {
		if (errno == ESRCH)
			return 1;
		pr_perror("cannot re-trap stopped tid %d", t->tid);
		return -1;
	}
	for (;;) {
		int r = wait_stop_until(it, t->tid, &status);

		if (r == -2)
			return -1;
		if (r) {
			if (errno == ECHILD)
				return 1;
			pr_perror("cannot wait for tid %d", t->tid);
			return -1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 1;
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		pr_err("tid %d of stopped pid %d: unexpected stop %#x\n", t->tid, it->pid,
		       status);
		return -1;
	}
}

/*
 * Wait until the thread reports the PTRACE_INTERRUPT (or group) stop.
 * Returns 0 when stopped, 1 when the thread is gone, -1 on error.
 */
static int wait_frozen(struct pstree_item *it, struct thread *t)
{
	int status;

	for (;;) {
		int r = wait_stop_until(it, t->tid, &status);

		if (r == -2)
			return -1;	/* reported */
		if (r) {
			if (errno == ECHILD)
				return 1;
			pr_perror("cannot wait for tid %d", t->tid);
			return -1;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return 1;
		if (!WIFSTOPPED(status))
			continue;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			int sig = WSTOPSIG(status);

			/*
			 * In group stop the trap reports the stop signal.  Detach
			 * puts the task back into that stop, without telling the
			 * parent again; restore stops it with the same signal.
			 */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
				pr_info("tid %d of pid %d is stopped (signal %d)\n", t->tid,
					it->pid, sig);
				it->state = TASK_STOPPED;
				it->stop_signo = sig;
				return drain_stop_trap(it, t);
			}
			return 0;
		}
		/*
		 * A signal-delivery-stop: the signal was taken before our stop.
		 * Let it be delivered (a handler's frame is set up, no user code
		 * runs), then the stop comes: nothing is held only by criu.
		 */
		pr_debug("tid %d: signal %d arrived while freezing; delivered\n", t->tid,
			 WSTOPSIG(status));
		if (ptrace(PTRACE_CONT, t->tid, NULL, (void *)(long)WSTOPSIG(status))) {
			if (errno == ESRCH)
				return 1;
			pr_perror("cannot resume tid %d", t->tid);
			return -1;
		}
		if (now_us() > freeze_deadline) {
			pr_err("timed out freezing tid %d (--timeout %u)\n", t->tid, opts.timeout);
			return -1;
		}
	}
}

static int seize_thread(struct pstree_item *it, struct thread *t)
{
	/* --freeze-cgroup seized and interrupted it already: only the wait is left */
	bool pre = freezer_preseized(t->tid);
	int ret;

	if (!pre && (fault_hit(FI_SEIZE) ||
		     ptrace(PTRACE_SEIZE, t->tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD))) {
		if (errno == ESRCH)
			return 1;
		pr_perror("cannot seize tid %d of pid %d", t->tid, it->pid);
		return -1;
	}
	t->seized = true;
	if (!pre && ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL)) {
		if (errno == ESRCH)
			return 1;
		pr_perror("cannot interrupt tid %d", t->tid);
		return -1;
	}
	ret = wait_frozen(it, t);
	if (ret)
		return ret;
	if (ptrace(PTRACE_GETSIGMASK, t->tid, sizeof(u64), &t->orig_sigmask)) {
		pr_perror("cannot read the signal mask of tid %d", t->tid);
		return -1;
	}
	return dump_step("froze a thread");
}

static struct thread *find_thread(struct pstree_item *it, pid_t tid)
{
	int i;

	for (i = 0; i < it->nr_threads; i++)
		if (it->threads[i].tid == tid)
			return &it->threads[i];
	return NULL;
}

/* More threads than the leader in /proc/PID/task */
static bool has_other_threads(pid_t pid)
{
	pid_t *tids;
	int nr;

	if (read_tids(pid, &tids, &nr))
		return false;
	free(tids);
	return nr > 1;
}

/* The leader thread has exited (the others may still run). */
static bool leader_is_dead(pid_t pid)
{
	struct proc_pid_stat st;

	return !parse_pid_stat(pid, pid, &st) && (st.state == 'Z' || st.state == 'X');
}

#define TASK_IS_GONE	1
#define TASK_IS_ZOMBIE	2

static int check_task_state(pid_t pid)
{
	struct proc_pid_stat st;

	if (parse_pid_stat(pid, 0, &st)) {
		if (errno == ENOENT)
			return TASK_IS_GONE;
		pr_perror("cannot read /proc/%d/stat", pid);
		return -1;
	}
	/* a leader that exited while its other threads run on: the process lives */
	if (st.state == 'Z')
		return has_other_threads(pid) ? 0 : TASK_IS_ZOMBIE;
	if (st.state == 'X')
		return TASK_IS_GONE;
	return 0;
}

/* A zombie is not seized: its pid, ids and exit status are all it has. */
static int add_zombie(pid_t pid, struct pstree_item *parent)
{
	struct pstree_item *z = alloc_pstree_item(pid, parent);

	if (!z)
		return -1;
	z->threads = xzalloc(sizeof(*z->threads));
	if (!z->threads)
		return -1;
	z->state = TASK_DEAD;
	z->nr_threads = 1;
	z->threads[0].tid = z->threads[0].vtid = pid;
	pr_info("pid %d, child of %d, is a zombie\n", pid, parent->pid);
	return 0;
}

/* Drop the entries of threads that exited while we were seizing. */
static void forget_dead_threads(struct pstree_item *it)
{
	int i, j = 0;

	for (i = 0; i < it->nr_threads; i++) {
		if (it->threads[i].seized)
			it->threads[j++] = it->threads[i];
	}
	it->nr_threads = j;
}

/*
 * From now on /proc and syscalls reach the process through its first live
 * thread; the leader's exit status is what its parent will reap, unless
 * the whole group ends with exit_group or a signal.
 */
static int note_exited_leader(struct pstree_item *it)
{
	struct proc_pid_stat st;

	if (parse_pid_stat(it->leader_pid, 0, &st)) {
		pr_perror("cannot read the stat of pid %d", it->leader_pid);
		return -1;
	}
	it->leader_exit_code = st.exit_code;
	it->pid = it->threads[0].tid;
	pr_info("pid %d: the leader thread has exited (status %#x); %d threads run on, "
		"reached through tid %d\n", it->leader_pid, st.exit_code, it->nr_threads, it->pid);
	return 0;
}

/*
 * Seize all threads of a task; repeat until /proc/PID/task shows no
 * thread we have not frozen, since running threads may clone more.
 */
static int seize_task(struct pstree_item *it)
{
	bool again = true;

	while (again) {
		pid_t *tids;
		int nr, i;

		again = false;
		if (read_tids(it->pid, &tids, &nr)) {
			if (errno == ENOENT)
				return 1;
			pr_perror("cannot list threads of pid %d", it->pid);
			return -1;
		}
		for (i = 0; i < nr; i++) {
			struct thread *t;
			int ret;

			if (find_thread(it, tids[i]))
				continue;
			/* an exited leader cannot be seized: the live threads stand for it */
			if (tids[i] == it->pid && !it->leader_exited && leader_is_dead(it->pid)) {
				it->leader_exited = true;
				it->leader_pid = it->pid;
				continue;
			}
			if (tids[i] == it->pid && it->leader_exited)
				continue;
			t = xrealloc(it->threads, (it->nr_threads + 1) * sizeof(*t));
			if (!t) {
				free(tids);
				return -1;
			}
			it->threads = t;
			t = &it->threads[it->nr_threads++];
			memset(t, 0, sizeof(*t));
			t->tid = t->vtid = tids[i];
			ret = seize_thread(it, t);
			if (ret < 0) {
				free(tids);
				return -1;
			}
			if (ret == 0)
				again = true;
		}
		free(tids);
	}
	forget_dead_threads(it);
	if (it->leader_exited && it->nr_threads)
		return note_exited_leader(it);
	if (!it->nr_threads || it->threads[0].tid != it->pid)
		return 1;	/* the leader is gone: the process is exiting */
	return 0;
}

static int seize_children(struct pstree_item *it)
{
	pid_t *kids, *tids;
	int nr, i;

	tids = xmalloc(sizeof(*tids) * it->nr_threads);
	if (!tids)
		return -1;
	for (i = 0; i < it->nr_threads; i++)
		tids[i] = it->threads[i].tid;
	if (read_children(it->pid, tids, it->nr_threads, &kids, &nr)) {
		pr_perror("cannot list children of pid %d", it->pid);
		free(tids);
		return -1;
	}
	free(tids);

	for (i = 0; i < nr; i++) {
		struct pstree_item *c;
		int ret;

		if (pstree_find(kids[i]))
			continue;
		if (kids[i] == getpid()) {
			pr_err("criu (pid %d) is inside the tree of pid %d it was asked to dump\n",
			       kids[i], root_item->pid);
			goto err;
		}
		ret = check_task_state(kids[i]);
		if (ret < 0)
			goto err;
		if (ret == TASK_IS_ZOMBIE) {
			if (add_zombie(kids[i], it))
				goto err;
			continue;
		}
		if (ret)
			continue;
		c = alloc_pstree_item(kids[i], it);
		if (!c)
			goto err;
		ret = seize_task(c);
		if (ret < 0)
			goto err;
		if (ret) {
			pr_debug("child %d of %d exited while freezing\n", kids[i], it->pid);
			continue;	/* stays in the list with no threads; pruned later */
		}
		pr_info("seized pid %d (%d threads), child of %d\n", c->pid, c->nr_threads,
			it->pid);
	}
	free(kids);
	return 0;
err:
	free(kids);
	return -1;
}

static void prune_dead_items(void)
{
	struct pstree_item *it, *n;

	list_for_each_entry_safe(it, n, &all_items, all) {
		if (it->nr_threads)
			continue;
		list_del(&it->all);
		list_del(&it->sibling);
		free(it->threads);
		free(it);
	}
}

int seize_tree(pid_t pid)
{
	struct pstree_item *it;
	int ret;

	freeze_deadline = now_us() + (u64)opts.timeout * 1000000;
	if (pid == getpid()) {
		pr_err("cannot dump pid %d: that is criu itself\n", pid);
		return -1;
	}
	ret = check_task_state(pid);
	if (ret) {
		if (ret == TASK_IS_ZOMBIE)
			pr_err("unsupported: pid %d, the root of the tree, is a zombie\n", pid);
		else if (ret > 0)
			pr_err("no process with pid %d\n", pid);
		return -1;
	}
	root_item = alloc_pstree_item(pid, NULL);
	if (!root_item)
		return -1;
	ret = seize_task(root_item);
	if (ret) {
		if (ret > 0)
			pr_err("pid %d exited while being frozen\n", pid);
		else if (errno == ESRCH)
			pr_err("no process with pid %d\n", pid);
		return -1;
	}
	pr_info("seized pid %d (%d threads)\n", pid, root_item->nr_threads);

	/* items are appended while we walk: children come after parents */
	for_each_item(it) {
		if (!it->nr_threads || it->state == TASK_DEAD)
			continue;
		if (seize_children(it))
			return -1;
		if (now_us() > freeze_deadline) {
			pr_err("timed out freezing the tree of pid %d (--timeout %u)\n", pid,
			       opts.timeout);
			return -1;
		}
	}
	prune_dead_items();
	return 0;
}

static void thaw_thread(struct thread *t, bool kill_it)
{
	if (!t->seized)
		return;
	t->seized = false;
	if (kill_it) {
		/*
		 * A killed tracee stays ours until we collect its exit or exit
		 * ourselves; only then may its real parent reap it.  Freeing a
		 * big address space takes a while: leave that to criu's exit.
		 */
		return;
	}
	/* masks are only changed inside remote-call sessions, which put them back */
	if (ptrace(PTRACE_DETACH, t->tid, NULL, NULL) && errno != ESRCH)
		pr_perror("cannot detach from tid %d", t->tid);
}

void unseize_tree(enum unseize_mode mode)
{
	struct pstree_item *it;
	int i;

	if (mode == UNSEIZE_KILL) {
		/* while still stopped: nothing can run between kill and detach */
		for_each_item(it)
			if (kill(it->pid, SIGKILL) && errno != ESRCH)
				pr_perror("cannot kill pid %d", it->pid);
	}
	/*
	 * Children before parents and threads before their leader: a killed
	 * leader's exit is reported only once every other thread of its group
	 * is collected, and the init of a pid namespace only once every other
	 * task in it is gone.
	 */
	for (it = list_last_entry(&all_items, struct pstree_item, all); &it->all != &all_items;
	     it = list_entry(it->all.prev, struct pstree_item, all)) {
		for (i = it->nr_threads - 1; i >= 0; i--)
			thaw_thread(&it->threads[i], mode == UNSEIZE_KILL);
	}
}

