// SPDX-License-Identifier: GPL-2.0
/* Remote syscalls through ptrace; see infect.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dump-intr.h"
#include "fault.h"
#include "infect.h"
#include "infect-internal.h"
#include "pstree.h"
#include "seize.h"
#include "util.h"

#ifndef PTRACE_SETSIGMASK
#define PTRACE_SETSIGMASK 0x420b
#endif

/* x86_64: syscall (0f 05); we stop at its entry and exit, never after */
static const u8 syscall_code[] = { 0x0f, 0x05 };

/*
 * The area: one page of code, then per thread a slot (room for a signal
 * handler, then its frame at the top), then the data part for callers.
 * The code: syscall; mov $15 (rt_sigreturn), %eax; syscall; ud2.
 */
static const u8 area_code[] = { 0x0f, 0x05, 0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x0f, 0x0b };
#define STUB_SYSCALL	0
#define SLOT_ROOM	(32UL << 10)
#define AREA_DATA_SIZE	(64UL << 10)
#define ERESTARTSYS		512
#define ERESTARTNOINTR		513
#define ERESTARTNOHAND		514
#define ERESTART_RESTARTBLOCK	516

/*
 * Continue tid to its next syscall stop (entry or exit).  No int3 here:
 * a trap signal forced on a thread whose signals are all blocked would
 * reset its SIGTRAP handler.
 */
void report_stop(pid_t tid, int sig, const char *during)
{
	struct user_regs_struct r;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	memset(&r, 0, sizeof(r));
	ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
	ptrace(PTRACE_GETREGS, tid, NULL, &r);
	pr_err("tid %d got signal %d (code %d, address %p) at ip %llx %s\n", tid, sig,
	       si.si_code, si.si_addr, (unsigned long long)r.rip, during);
}

int remote_syscall_stop(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, tid, NULL, NULL)) {
		pr_perror("cannot continue tid %d to a syscall", tid);
		return -1;
	}
	if (wait_stop(tid, &status)) {
		pr_perror("cannot wait for tid %d", tid);
		return -1;
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		pr_err("tid %d died during a remote syscall (status 0x%x)\n", tid, status);
		errno = ESRCH;
		return -1;
	}
	if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
		return 0;
	if (WIFSTOPPED(status))
		report_stop(tid, WSTOPSIG(status), "in a remote syscall");
	else
		pr_err("tid %d ended (status 0x%x) in a remote syscall\n", tid, status);
	return -1;
}

/*
 * We leave the thread at a syscall-exit stop, where the kernel no longer
 * restarts an interrupted syscall by itself: do what it would have done.
 */
void fixup_syscall_restart(struct user_regs_struct *r)
{
	if ((long)r->orig_rax < 0)
		return;
	switch ((long)r->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		r->rax = r->orig_rax;
		r->rip -= 2;
		break;
	case -ERESTART_RESTARTBLOCK:
		r->rax = __NR_restart_syscall;
		r->rip -= 2;
		break;
	}
}

/*
 * For the image: a restored task has no restart block, so restart_syscall
 * would return EINTR.  Calls whose restart is the same call again (poll,
 * an absolute clock_nanosleep) are redone from the start instead; poll
 * with a timeout then waits its whole timeout again, which callers
 * tolerate better than an EINTR (script(1) exits on it).
 */
void fixup_restart_for_image(struct user_regs_struct *r)
{
	long nr = (long)r->orig_rax;
	bool pending = (long)r->rax == -ERESTART_RESTARTBLOCK;
	/* remote_syscall() already turned it into a restart_syscall */
	bool converted = (long)r->rax == __NR_restart_syscall && nr != __NR_restart_syscall;

	if (nr < 0 || (!pending && !converted)) {
		fixup_syscall_restart(r);
		return;
	}
	if (pending) {
		r->rax = __NR_restart_syscall;
		r->rip -= 2;
	}
	if (nr == __NR_poll || (nr == __NR_clock_nanosleep && (r->rsi & TIMER_ABSTIME)))
		r->rax = nr;
}


int infect_set_regs(pid_t tid, struct user_regs_struct *r)
{
	if (ptrace(PTRACE_SETREGS, tid, NULL, r)) {
		pr_perror("cannot set registers of tid %d", tid);
		return -1;
	}
	return 0;
}

int infect_set_mask(pid_t tid, u64 mask)
{
	if (ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask)) {
		pr_perror("cannot set the signal mask of tid %d", tid);
		return -1;
	}
	return 0;
}

/* The thread's registers but for ip, number and arguments. */
static void call_regs(struct user_regs_struct *r, u64 ip, long nr, const u64 *a)
{
	r->rip = ip;
	r->rax = nr;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
	/* not in a syscall: no restart logic may touch these registers */
	r->orig_rax = -1;
}

/* Run the call r describes: to its entry stop, then its exit stop. */
static int run_call(pid_t tid, struct user_regs_struct *r, long *ret)
{
	if (infect_set_regs(tid, r) || remote_syscall_stop(tid) || remote_syscall_stop(tid))
		return -1;
	if (ptrace(PTRACE_GETREGS, tid, NULL, r)) {
		pr_perror("cannot read registers of tid %d", tid);
		return -1;
	}
	*ret = r->rax;
	return 0;
}

/* Outside a session (the restore's final calls): save and put back. */
static int plain_syscall(struct remote_ctl *ctl, pid_t tid, long *ret, long nr, const u64 *a)
{
	struct user_regs_struct saved, regs;
	int err;

	if (ptrace(PTRACE_GETREGS, tid, NULL, &saved)) {
		pr_perror("cannot read registers of tid %d", tid);
		return -1;
	}
	regs = saved;
	call_regs(&regs, ctl->code_addr, nr, a);
	err = run_call(tid, &regs, ret);
	fixup_syscall_restart(&saved);
	if (ptrace(PTRACE_SETREGS, tid, NULL, &saved) && errno != ESRCH) {
		pr_perror("cannot restore registers of tid %d", tid);
		err = -1;
	}
	return err;
}

static int poke(struct remote_ctl *ctl, pid_t tid, u64 word)
{
	if (ptrace(PTRACE_POKEDATA, tid, (void *)ctl->code_addr, (void *)word)) {
		pr_perror("cannot write code at 0x%llx in pid %d",
			  (unsigned long long)ctl->code_addr, ctl->pid);
		return -1;
	}
	return 0;
}

/*
 * Calls run from a `syscall` written over a word of the task's code: the
 * first two (map the area, make its data writable), the last one (unmap
 * it).  This is the one stretch a death of criu cannot undo: the thread
 * runs foreign registers with all signals blocked and the word is not the
 * task's.  It is kept to these few ptrace requests (poke_begin to
 * poke_end); the thread ends with its own registers and mask (rt->regs,
 * rt->mask), unparked.
 */
struct poke {
	u64 word;	/* the task's own */
	u64 t0;
	bool poked;
};

static int poke_begin(struct remote_ctl *ctl, struct remote_thread *rt, struct poke *pk)
{
	u64 code;

	pk->poked = false;
	errno = 0;
	pk->word = ptrace(PTRACE_PEEKDATA, rt->tid, (void *)ctl->code_addr, NULL);
	if (errno) {
		pr_perror("cannot read code at 0x%llx in pid %d",
			  (unsigned long long)ctl->code_addr, ctl->pid);
		return -1;
	}
	code = pk->word;
	memcpy(&code, syscall_code, sizeof(syscall_code));
	pk->t0 = now_us();
	if (infect_set_mask(rt->tid, ~0ULL) || poke(ctl, rt->tid, code))
		return -1;
	pk->poked = true;
	return 0;
}

static int poke_call(struct remote_ctl *ctl, struct remote_thread *rt, long *ret, long nr,
		     const u64 *a)
{
	struct user_regs_struct regs = rt->regs;

	call_regs(&regs, ctl->code_addr, nr, a);
	return run_call(rt->tid, &regs, ret);
}

static int poke_end(struct remote_ctl *ctl, struct remote_thread *rt, struct poke *pk)
{
	int err = 0;

	if (pk->poked && poke(ctl, rt->tid, pk->word))
		err = -1;
	if (infect_set_regs(rt->tid, &rt->regs) || infect_set_mask(rt->tid, rt->mask))
		err = -1;
	rt->parked = false;
	pr_debug("pid %d: code word poked for %llu us\n", ctl->pid,
		 (unsigned long long)(now_us() - pk->t0));
	return err;
}

struct remote_thread *infect_find_thread(struct remote_ctl *ctl, pid_t tid)
{
	int i;

	for (i = 0; i < ctl->nr_threads; i++)
		if (ctl->th[i].tid == tid)
			return &ctl->th[i];
	return NULL;
}

/* At the stub: the frame above it puts back everything the thread had. */
void infect_stub_regs(struct remote_ctl *ctl, struct remote_thread *rt,
		      struct user_regs_struct *r)
{
	*r = rt->regs;
	r->rip = ctl->area + STUB_SIGRETURN;
	r->rsp = rt->frame + 8;	/* rt_sigreturn reads the frame at rsp - 8 */
	r->orig_rax = -1;
}

/*
 * Registers first, then the mask: in between, a signal the thread takes
 * runs its handler on the room of its slot and returns to the stub.
 */
int infect_park(struct remote_ctl *ctl, struct remote_thread *rt)
{
	struct user_regs_struct r;

	infect_stub_regs(ctl, rt, &r);
	if (infect_set_regs(rt->tid, &r))
		return -1;
	rt->parked = true;
	return infect_set_mask(rt->tid, ~0ULL);
}

/* The thread runs the stub itself: rt_sigreturn puts back all at once. */
static int return_through_frame(struct remote_ctl *ctl, struct remote_thread *rt)
{
	struct user_regs_struct r;

	infect_stub_regs(ctl, rt, &r);
	if (infect_set_regs(rt->tid, &r) || remote_syscall_stop(rt->tid) ||
	    remote_syscall_stop(rt->tid))
		return -1;
	if (ptrace(PTRACE_GETREGS, rt->tid, NULL, &r)) {
		pr_perror("cannot read registers of tid %d", rt->tid);
		return -1;
	}
	if (r.rip != rt->regs.rip || r.rsp != rt->regs.rsp) {
		pr_err("tid %d came back from its frame at ip %llx, not %llx\n", rt->tid,
		       (unsigned long long)r.rip, (unsigned long long)rt->regs.rip);
		return -1;
	}
	return 0;
}

/*
 * rt_sigreturn also ends a pending restart_syscall (it would return
 * EINTR): such a thread gets its mask, then its registers, with ptrace;
 * in between it is at the stub with its own mask, which is safe too.
 */
static int unpark(struct remote_ctl *ctl, struct remote_thread *rt)
{
	int ret = 0;

	if (!rt->parked)
		return 0;
	if (rt->keep_restart || return_through_frame(ctl, rt)) {
		if (infect_set_mask(rt->tid, rt->mask) || infect_set_regs(rt->tid, &rt->regs))
			ret = -1;
	}
	rt->parked = false;
	if (dump_step("unparked a thread"))
		ret = -1;
	return ret;
}

int remote_syscall(struct remote_ctl *ctl, pid_t tid, long *ret, long nr, u64 a1, u64 a2,
		   u64 a3, u64 a4, u64 a5, u64 a6)
{
	const u64 a[6] = { a1, a2, a3, a4, a5, a6 };
	struct remote_thread *rt;
	struct user_regs_struct r;

	if (fault_hit(FI_REMOTE)) {
		pr_perror("remote system call %ld in tid %d failed", nr, tid);
		return -1;
	}
	if (!ctl->th)
		return plain_syscall(ctl, tid, ret, nr, a);
	rt = infect_find_thread(ctl, tid);
	if (!rt || !rt->parked) {
		pr_err("tid %d of pid %d is not ready for remote calls\n", tid, ctl->pid);
		return -1;
	}
	if (dump_step("remote syscall"))
		return -1;
	/* from the area's syscall; after it, the thread is at the stub again */
	infect_stub_regs(ctl, rt, &r);
	call_regs(&r, ctl->area + STUB_SYSCALL, nr, a);
	return run_call(tid, &r, ret);
}

int remote_write(struct remote_ctl *ctl, u64 addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(ctl->mem_fd, buf, len, addr);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		pr_err("cannot write %zu bytes at 0x%llx in pid %d: only %zd (did it exit?)\n",
		       len, (unsigned long long)addr, ctl->pid, n);
	else
		pr_perror("cannot write %zu bytes at 0x%llx in pid %d", len,
			  (unsigned long long)addr, ctl->pid);
	return -1;
}

int remote_read(struct remote_ctl *ctl, u64 addr, void *buf, size_t len)
{
	ssize_t n = pread(ctl->mem_fd, buf, len, addr);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		pr_err("cannot read %zu bytes at 0x%llx in pid %d: only %zd (did it exit?)\n",
		       len, (unsigned long long)addr, ctl->pid, n);
	else
		pr_perror("cannot read %zu bytes at 0x%llx in pid %d", len,
			  (unsigned long long)addr, ctl->pid);
	return -1;
}

/* A shadow stack would refuse our frames (there is no token for them). */
static int check_shadow_stack(pid_t pid, pid_t tid)
{
	char path[64], *buf, *p;
	bool on = false;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	p = strstr(buf, "\nx86_Thread_features:");
	if (p) {
		char *eol = strchr(p + 1, '\n');

		if (eol)
			*eol = '\0';
		on = strstr(p, "shstk") != NULL;
	}
	free(buf);
	if (on) {
		pr_err("unsupported: tid %d of pid %d runs with a shadow stack\n", tid, pid);
		return -1;
	}
	return 0;
}

static int collect_threads(struct remote_ctl *ctl, struct pstree_item *it)
{
	int i;

	ctl->th = xzalloc(sizeof(*ctl->th) * it->nr_threads);
	if (!ctl->th)
		return -1;
	for (i = 0; i < it->nr_threads; i++) {
		struct remote_thread *rt = &ctl->th[i];
		struct user_regs_struct *r = &rt->regs;

		rt->tid = it->threads[i].tid;
		rt->mask = it->threads[i].orig_sigmask;
		ctl->nr_threads++;
		if (check_shadow_stack(it->pid, rt->tid))
			return -1;
		if (ptrace(PTRACE_GETREGS, rt->tid, NULL, r)) {
			pr_perror("cannot read registers of tid %d", rt->tid);
			return -1;
		}
		rt->keep_restart = (long)r->orig_rax >= 0 &&
				   (long)r->rax == -ERESTART_RESTARTBLOCK;
		/* the frame is used only if criu dies: no restart block then */
		rt->frame_regs = *r;
		fixup_restart_for_image(&rt->frame_regs);
		/* ptrace resumes it from a syscall-exit stop: restart by hand */
		fixup_syscall_restart(r);
	}
	return 0;
}

/* Map the area with calls from a poked word, in the first thread. */
static int map_area(struct remote_ctl *ctl, size_t slot)
{
	struct remote_thread *rt = &ctl->th[0];
	u64 a[6] = { 0, 0, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
	struct poke pk;
	long ret = -1;
	int err = -1;

	ctl->exec_len = PAGE_SIZE;
	ctl->area_len = ctl->exec_len + ctl->nr_threads * slot + AREA_DATA_SIZE + AREA_BATCH_SIZE;
	a[1] = ctl->area_len;
	if (poke_begin(ctl, rt, &pk) || poke_call(ctl, rt, &ret, __NR_mmap, a))
		goto out;
	if (ret < 0 && ret > -4096) {
		errno = -ret;
		pr_perror("cannot map a scratch area in pid %d", ctl->pid);
		goto out;
	}
	ctl->area = ret;
	pr_debug("pid %d: remote area at %llx-%llx\n", ctl->pid, (unsigned long long)ctl->area,
		 (unsigned long long)(ctl->area + ctl->area_len));
	/* code stays read-only; frames, rooms and data become writable */
	a[0] = ctl->area + ctl->exec_len;
	a[1] = ctl->area_len - ctl->exec_len;
	a[2] = PROT_READ | PROT_WRITE;
	if (poke_call(ctl, rt, &ret, __NR_mprotect, a))
		goto out;
	if (ret) {
		errno = -ret;
		pr_perror("cannot make the scratch area of pid %d writable", ctl->pid);
		goto out;
	}
	err = 0;
out:
	if (poke_end(ctl, rt, &pk))
		err = -1;
	return err;
}

/* The code, then each thread's frame; then each thread goes to the stub. */
static int fill_and_park(struct remote_ctl *ctl, size_t slot)
{
	size_t fsz = park_frame_size();
	u8 *buf;
	int i, ret = -1;

	if (remote_write(ctl, ctl->area, area_code, sizeof(area_code)) ||
	    write_batch_code(ctl))
		return -1;
	buf = xmalloc(fsz);
	if (!buf)
		return -1;
	for (i = 0; i < ctl->nr_threads; i++) {
		struct remote_thread *rt = &ctl->th[i];

		rt->frame = ctl->area + ctl->exec_len + (i + 1) * slot - fsz;
		if (build_park_frame(rt->tid, &rt->frame_regs, rt->mask, rt->frame, buf) ||
		    remote_write(ctl, rt->frame, buf, fsz))
			goto out;
		if (infect_park(ctl, rt) || dump_step("parked a thread"))
			goto out;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

int remote_start(struct remote_ctl *ctl, struct pstree_item *it, u64 exec_addr)
{
	size_t slot = PAGE_ALIGN(SLOT_ROOM + park_frame_size());
	char path[64];

	memset(ctl, 0, sizeof(*ctl));
	ctl->pid = it->pid;
	ctl->code_addr = exec_addr;
	snprintf(path, sizeof(path), "/proc/%d/mem", it->pid);
	ctl->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (ctl->mem_fd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	if (collect_threads(ctl, it) || map_area(ctl, slot) || dump_step("mapped the area") ||
	    fill_and_park(ctl, slot))
		goto err;
	ctl->scratch = ctl->area + ctl->exec_len + ctl->nr_threads * slot;
	ctl->scratch_len = AREA_DATA_SIZE;
	ctl->batch = ctl->scratch + AREA_DATA_SIZE;
	return 0;
err:
	remote_stop(ctl);
	return -1;
}

int remote_stop(struct remote_ctl *ctl)
{
	struct remote_thread *leader = ctl->th;
	int i, ret = 0;

	for (i = ctl->nr_threads - 1; i > 0; i--)
		if (unpark(ctl, &ctl->th[i]))
			ret = -1;
	if (leader && ctl->area) {
		const u64 a[6] = { ctl->area, ctl->area_len };
		struct poke pk;
		long r = -1;
		int err;

		if (dump_step("unmapping the area"))
			ret = -1;
		err = poke_begin(ctl, leader, &pk) || poke_call(ctl, leader, &r, __NR_munmap, a);
		if (poke_end(ctl, leader, &pk) || err || r) {
			pr_err("cannot unmap the scratch area of pid %d\n", ctl->pid);
			ret = -1;
		}
	} else if (leader && unpark(ctl, leader)) {
		ret = -1;
	}
	ctl->area = ctl->scratch = 0;
	close_safe(&ctl->mem_fd);
	free(ctl->th);
	ctl->th = NULL;
	ctl->nr_threads = 0;
	return ret;
}
