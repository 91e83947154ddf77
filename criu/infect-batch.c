// SPDX-License-Identifier: GPL-2.0
/*
 * Batches of remote syscalls: many calls in one stop of the thread, from
 * the area of a session (infect.c), so that a criu killed meanwhile still
 * leaves the thread as it was.  Two syscall stops per call (about 10 us
 * each) were most of the cost of dumping a small process.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "cr_options.h"
#include "dump-intr.h"
#include "fault.h"
#include "infect-internal.h"
#include "proc_parse.h"
#include "seize.h"
#include "util.h"

#define BATCH_SIGINFO	REMOTE_BATCH_AREA	/* in the batch part of the area */

/*
 * A batch, at BATCH_CODE: rbx the table, r12 the number of calls, each
 * call's result stored in its entry; then the thread sends itself r15, a
 * signal it ignores, with the siginfo at rbp (rt_tgsigqueueinfo to
 * getpid(), gettid()), which ptrace reports as a signal-delivery stop at
 * BATCH_STOP.  Untraced (criu died), the signal is dropped and the thread
 * goes on into the rt_sigreturn stub.
 *
 *  0: test %r12,%r12; je 2f; mov (%rbx),%rax; mov 8(%rbx),%rdi; mov 16(%rbx),%rsi;
 *     mov 24(%rbx),%rdx; mov 32(%rbx),%r10; mov 40(%rbx),%r8; mov 48(%rbx),%r9;
 *     syscall; mov %rax,56(%rbx); add $64,%rbx; dec %r12; jmp 0b
 *  2: mov $39,%eax; syscall; mov %rax,%rdi; mov $186,%eax; syscall; mov %rax,%rsi;
 *     mov %r15,%rdx; mov %rbp,%r10; mov $297,%eax; syscall; jmp STUB_SIGRETURN
 */
#define BATCH_CODE	16
#define BATCH_STOP	(BATCH_CODE + 0x50)
static const u8 batch_code[] = {
	0x4d, 0x85, 0xe4, 0x74, 0x2a, 0x48, 0x8b, 0x03, 0x48, 0x8b, 0x7b, 0x08, 0x48, 0x8b,
	0x73, 0x10, 0x48, 0x8b, 0x53, 0x18, 0x4c, 0x8b, 0x53, 0x20, 0x4c, 0x8b, 0x43, 0x28,
	0x4c, 0x8b, 0x4b, 0x30, 0x0f, 0x05, 0x48, 0x89, 0x43, 0x38, 0x48, 0x83, 0xc3, 0x40,
	0x49, 0xff, 0xcc, 0xeb, 0xd1, 0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89,
	0xc7, 0xb8, 0xba, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x48, 0x89, 0xc6, 0x4c, 0x89, 0xfa,
	0x49, 0x89, 0xea, 0xb8, 0x29, 0x01, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xa0,
};

int write_batch_code(struct remote_ctl *ctl)
{
	return remote_write(ctl, ctl->area + BATCH_CODE, batch_code, sizeof(batch_code));
}

_Static_assert(sizeof(struct remote_call) == 64, "the batch loop's entry layout");

/* Signals ignored by default, in the order we prefer them for ending batches. */
static const int batch_sigs[] = { SIGURG, SIGWINCH, SIGCHLD };

/*
 * The signal that ends the thread's batches: one it ignores (by default
 * or SIG_IGN; not SIGCONT, which acts when sent), not real-time (always
 * queued), and not pending, so that nothing of the thread's is taken by
 * our stop.  None under seccomp: after criu's death the rest of a batch
 * would meet the filter.
 */
static void pick_batch_sig(struct remote_thread *rt, const struct proc_status *st)
{
	u64 busy = st->sigpnd | st->shdpnd | st->sigcgt;
	int i, sig;

	rt->batch_sig = -1;
	for (i = 0; !st->seccomp && i < (int)ARRAY_SIZE(batch_sigs); i++)
		if (!(busy & (1ULL << (batch_sigs[i] - 1)))) {
			rt->batch_sig = batch_sigs[i];
			return;
		}
	for (sig = 1; !st->seccomp && sig < SIGRTMIN; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCONT &&
		    (st->sigign & ~busy & (1ULL << (sig - 1)))) {
			rt->batch_sig = sig;
			return;
		}
	pr_debug("tid %d: remote calls one by one (%s)\n", rt->tid,
		 st->seccomp ? "under seccomp" : "no ignored signal free to end batches with");
}

void remote_thread_status(struct remote_ctl *ctl, pid_t tid, const struct proc_status *st)
{
	struct remote_thread *rt = ctl->th ? infect_find_thread(ctl, tid) : NULL;

	if (rt && !rt->batch_sig)
		pick_batch_sig(rt, st);
}

static int choose_batch_sig(struct remote_ctl *ctl, struct remote_thread *rt)
{
	struct proc_status st;

	if (parse_pid_status(ctl->pid, rt->tid, &st)) {
		pr_perror("cannot read the status of tid %d", rt->tid);
		return -1;
	}
	pick_batch_sig(rt, &st);
	return 0;
}

static int calls_one_by_one(struct remote_ctl *ctl, pid_t tid, struct remote_call *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (remote_syscall(ctl, tid, &c[i].ret, c[i].nr, c[i].a[0], c[i].a[1], c[i].a[2],
				   c[i].a[3], c[i].a[4], c[i].a[5]))
			return -1;
	return 0;
}

/* Our signal at the end of the loop, or another one to deliver (it is ignored). */
static int batch_stopped(struct remote_ctl *ctl, struct remote_thread *rt, int status, int cookie)
{
	struct user_regs_struct r;
	siginfo_t si;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		pr_err("tid %d died during a batch of remote calls (status 0x%x)\n", rt->tid,
		       status);
		errno = ESRCH;
		return -1;
	}
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != rt->batch_sig || (status >> 16)) {
		report_stop(rt->tid, WIFSTOPPED(status) ? WSTOPSIG(status) : 0,
			    "in a batch of remote calls");
		return -1;
	}
	if (ptrace(PTRACE_GETSIGINFO, rt->tid, NULL, &si) ||
	    ptrace(PTRACE_GETREGS, rt->tid, NULL, &r)) {
		pr_perror("cannot read the stop of tid %d", rt->tid);
		return -1;
	}
	if (si.si_code == SI_QUEUE && si.si_value.sival_int == cookie &&
	    r.rip == ctl->area + BATCH_STOP)
		return 0;
	pr_debug("tid %d: signal %d (code %d) from elsewhere during a batch, delivered\n",
		 rt->tid, si.si_signo, si.si_code);
	return 1;
}

/* A thread stopped by force: is it still on the area's code (0), or running its own (1)? */
static int left_area(struct remote_ctl *ctl, struct remote_thread *rt)
{
	struct user_regs_struct r;
	int status;

	if (ptrace(PTRACE_INTERRUPT, rt->tid, NULL, NULL) || wait_stop(rt->tid, &status) ||
	    ptrace(PTRACE_GETREGS, rt->tid, NULL, &r))
		return 0;
	return r.rip < ctl->area || r.rip >= ctl->area + ctl->exec_len;
}

/*
 * PTRACE_CONT until our signal stops the thread; a deadline catches a
 * loop gone astray.  -2: the thread left the area and runs its own code.
 */
static int wait_batch(struct remote_ctl *ctl, struct remote_thread *rt, int cookie)
{
	u64 deadline = now_us() + (u64)(opts.timeout ? opts.timeout : 10) * 1000000;
	int status, sig = 0, ret;
	bool intr = false;

	for (;;) {
		if (ptrace(PTRACE_CONT, rt->tid, NULL, (void *)(long)sig)) {
			pr_perror("cannot run a batch of remote calls in tid %d", rt->tid);
			return -1;
		}
		/* criu may be killed or interrupted here, the loop running */
		if (!sig && dump_step("remote batch running"))
			intr = true;
		for (;;) {
			pid_t w = waitpid_tick(rt->tid, &status, __WALL);

			if (w == rt->tid)
				break;
			if (w < 0 && errno != EINTR) {
				pr_perror("cannot wait for tid %d", rt->tid);
				return -1;
			}
			if (now_us() > deadline) {
				pr_err("tid %d did not end its batch of remote calls in time\n",
				       rt->tid);
				return left_area(ctl, rt) ? -2 : -1;
			}
		}
		ret = batch_stopped(ctl, rt, status, cookie);
		if (ret <= 0)
			return ret ? ret : (intr ? -1 : 0);
		sig = rt->batch_sig;
	}
}

/*
 * The mask first (all blocked but our signal), then the registers; back
 * at the stub, all blocked again.  Should criu die at any point, the loop
 * only reads, the signal is dropped and the stub's frame puts the thread
 * back as it was.
 */
static int run_batch(struct remote_ctl *ctl, struct remote_thread *rt, struct remote_call *c,
		     int n)
{
	int cookie = (int)(ctl->area >> PAGE_SHIFT) ^ rt->tid;
	struct user_regs_struct r;
	siginfo_t si;
	int err;

	memset(&si, 0, sizeof(si));
	si.si_signo = rt->batch_sig;
	si.si_code = SI_QUEUE;
	si.si_value.sival_int = cookie;
	if (remote_write(ctl, ctl->batch, c, n * sizeof(*c)) ||
	    remote_write(ctl, ctl->batch + BATCH_SIGINFO, &si, sizeof(si)))
		return -1;
	infect_stub_regs(ctl, rt, &r);
	r.rip = ctl->area + BATCH_CODE;
	r.rbx = ctl->batch;
	r.r12 = n;
	r.r15 = rt->batch_sig;
	r.rbp = ctl->batch + BATCH_SIGINFO;
	if (infect_set_mask(rt->tid, ~0ULL & ~(1ULL << (rt->batch_sig - 1))) || infect_set_regs(rt->tid, &r))
		return -1;
	err = wait_batch(ctl, rt, cookie);
	if (err == -2) {
		rt->parked = false;	/* its frame is behind it: leave it be */
		return -1;
	}
	/* stopped at the end or on the way: parked again either way */
	if (infect_park(ctl, rt))
		err = -1;
	if (!err && remote_read(ctl, ctl->batch, c, n * sizeof(*c)))
		err = -1;
	if (!err)
		pr_debug("tid %d: %d remote calls in one stop (signal %d)\n", rt->tid, n,
			 rt->batch_sig);
	return err;
}

int remote_syscalls(struct remote_ctl *ctl, pid_t tid, struct remote_call *calls, int n)
{
	struct remote_thread *rt;

	if (!ctl->th || n > REMOTE_BATCH_MAX)
		return calls_one_by_one(ctl, tid, calls, n);
	rt = infect_find_thread(ctl, tid);
	if (!rt || !rt->parked) {
		pr_err("tid %d of pid %d is not ready for remote calls\n", tid, ctl->pid);
		return -1;
	}
	if (!rt->batch_sig && choose_batch_sig(ctl, rt))
		return -1;
	if (rt->batch_sig < 0)
		return calls_one_by_one(ctl, tid, calls, n);
	if (fault_hit(FI_REMOTE)) {
		pr_perror("a batch of %d remote system calls in tid %d failed", n, tid);
		return -1;
	}
	if (dump_step("remote batch"))
		return -1;
	return run_batch(ctl, rt, calls, n);
}

