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

#include "fault.h"
#include "infect.h"
#include "seize.h"
#include "util.h"

#define SCRATCH_SIZE (64UL << 10)

/* x86_64: syscall (0f 05); we stop at its entry and exit, never after */
static const u8 syscall_code[] = { 0x0f, 0x05 };

#define ERESTARTSYS		512
#define ERESTARTNOINTR		513
#define ERESTARTNOHAND		514
#define ERESTART_RESTARTBLOCK	516

static int poke_code(struct remote_ctl *ctl, pid_t tid, bool install)
{
	u64 word = ctl->saved_code;

	if (install)
		memcpy(&word, syscall_code, sizeof(syscall_code));
	if (ptrace(PTRACE_POKEDATA, tid, (void *)ctl->code_addr, (void *)word)) {
		pr_perror("cannot write code at 0x%llx in pid %d",
			  (unsigned long long)ctl->code_addr, ctl->pid);
		return -1;
	}
	return 0;
}

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

int remote_syscall(struct remote_ctl *ctl, pid_t tid, long *ret, long nr, u64 a1, u64 a2,
		   u64 a3, u64 a4, u64 a5, u64 a6)
{
	struct user_regs_struct saved, regs;
	int err = -1;

	if (fault_hit(FI_REMOTE)) {
		pr_perror("remote system call %ld in tid %d failed", nr, tid);
		return -1;
	}
	if (ptrace(PTRACE_GETREGS, tid, NULL, &saved)) {
		pr_perror("cannot read registers of tid %d", tid);
		return -1;
	}
	regs = saved;
	regs.rip = ctl->code_addr;
	regs.rax = nr;
	regs.rdi = a1;
	regs.rsi = a2;
	regs.rdx = a3;
	regs.r10 = a4;
	regs.r8 = a5;
	regs.r9 = a6;
	/* not in a syscall: no restart logic may touch these registers */
	regs.orig_rax = -1;
	if (ptrace(PTRACE_SETREGS, tid, NULL, &regs)) {
		pr_perror("cannot set registers of tid %d", tid);
		return -1;
	}
	if (remote_syscall_stop(tid) || remote_syscall_stop(tid))
		goto restore;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs)) {
		pr_perror("cannot read registers of tid %d", tid);
		goto restore;
	}
	*ret = regs.rax;
	err = 0;
restore:
	fixup_syscall_restart(&saved);
	if (ptrace(PTRACE_SETREGS, tid, NULL, &saved) && errno != ESRCH) {
		pr_perror("cannot restore registers of tid %d", tid);
		err = -1;
	}
	return err;
}

int remote_write(struct remote_ctl *ctl, u64 addr, const void *buf, size_t len)
{
	if (pwrite(ctl->mem_fd, buf, len, addr) != (ssize_t)len) {
		pr_perror("cannot write %zu bytes at 0x%llx in pid %d", len,
			  (unsigned long long)addr, ctl->pid);
		return -1;
	}
	return 0;
}

int remote_read(struct remote_ctl *ctl, u64 addr, void *buf, size_t len)
{
	if (pread(ctl->mem_fd, buf, len, addr) != (ssize_t)len) {
		pr_perror("cannot read %zu bytes at 0x%llx in pid %d", len,
			  (unsigned long long)addr, ctl->pid);
		return -1;
	}
	return 0;
}

int remote_start(struct remote_ctl *ctl, pid_t pid, u64 exec_addr)
{
	char path[64];
	long ret;

	memset(ctl, 0, sizeof(*ctl));
	ctl->pid = pid;
	ctl->code_addr = exec_addr;
	ctl->mem_fd = -1;

	errno = 0;
	ctl->saved_code = ptrace(PTRACE_PEEKDATA, pid, (void *)exec_addr, NULL);
	if (errno) {
		pr_perror("cannot read code at 0x%llx in pid %d", (unsigned long long)exec_addr,
			  pid);
		return -1;
	}
	if (poke_code(ctl, pid, true))
		return -1;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	ctl->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (ctl->mem_fd < 0) {
		pr_perror("cannot open %s", path);
		goto err;
	}
	if (remote_syscall(ctl, pid, &ret, __NR_mmap, 0, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
		goto err;
	if (ret < 0 && ret > -4096) {
		errno = -ret;
		pr_perror("cannot map a scratch area in pid %d", pid);
		goto err;
	}
	ctl->scratch = ret;
	ctl->scratch_len = SCRATCH_SIZE;
	pr_debug("pid %d: remote calls at 0x%llx, scratch at 0x%llx\n", pid,
		 (unsigned long long)exec_addr, (unsigned long long)ctl->scratch);
	return 0;
err:
	remote_stop(ctl);
	return -1;
}

int remote_stop(struct remote_ctl *ctl)
{
	int ret = 0;
	long r;

	if (!ctl->code_addr)
		return 0;
	if (ctl->scratch) {
		if (remote_syscall(ctl, ctl->pid, &r, __NR_munmap, ctl->scratch,
				   ctl->scratch_len, 0, 0, 0, 0) || r) {
			pr_err("cannot unmap the scratch area of pid %d\n", ctl->pid);
			ret = -1;
		}
		ctl->scratch = 0;
	}
	if (poke_code(ctl, ctl->pid, false))
		ret = -1;
	close_safe(&ctl->mem_fd);
	ctl->code_addr = 0;
	return ret;
}
