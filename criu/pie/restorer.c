// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer: runs in the task being restored, from the bootstrap
 * area, after criu's C code has prepared everything it could while libc
 * still existed.  It removes the old address space, puts every VMA in
 * place, sets all mm fields with one PR_SET_MM_MAP call, restores the
 * per-process and per-thread kernel state, and returns into the dumped
 * registers with rt_sigreturn.  Freestanding: no libc, no relocations,
 * no global variables; everything it needs is in struct rst_args.
 */
#include <stdint.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <asm/prctl.h>

#include "restorer.h"
#include "syscalls.h"
#include "pie-util.h"
#include "rst-seccomp.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif
#ifndef MREMAP_FIXED
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#endif

#define SIGKILL 9
#define SIGSTOP 19
#define SIGTRAP 5

/*
 * The last steps: in assembly, since no stack may be used after them.
 * trap_act: the task's SIGTRAP action, which the int3 resets (a forced
 * signal that is blocked gets SIG_DFL).
 */
void rst_sigreturn(uint64_t frame_sp, const struct rst_sigaction *trap_act)
	__attribute__((noreturn));
long rst_clone3(struct clone_args *ca, size_t size, void (*fn)(void *), void *arg);
void rst_leader_exit(int32_t code, const struct rst_sigaction *trap_act)
	__attribute__((noreturn));

asm(".text\n"
    ".type rst_sigreturn, @function\n"
    "rst_sigreturn:\n"
    /*
     * criu lets the restorer run untraced (a ptrace stop per syscall costs
     * two context switches per VMA); this trap tells it to trace the rest.
     * Then SIGTRAP's action, which the trap reset, is set again.
     */
    "	int3\n"
    "	movq %rdi, %r12\n"
    "	movl $5, %edi\n"	/* SIGTRAP */
    "	xorl %edx, %edx\n"
    "	movl $8, %r10d\n"
    "	movl $13, %eax\n"	/* rt_sigaction */
    "	syscall\n"
    "	movq %r12, %rsp\n"
    /* criu holds every thread at the entry of this syscall, then lets it through */
    "	movl $15, %eax\n"	/* rt_sigreturn */
    /* criu also runs its remote munmap of this area through this insn */
    ".globl rst_syscall_insn\n"
    ".type rst_syscall_insn, @function\n"
    "rst_syscall_insn:\n"
    "	syscall\n"
    "	hlt\n"
    /*
     * A leader that had exited while its threads ran on ends the same way,
     * with exit instead of rt_sigreturn: criu holds it at that entry too.
     */
    ".type rst_leader_exit, @function\n"
    "rst_leader_exit:\n"
    "	int3\n"
    "	movl %edi, %r12d\n"
    "	movl $5, %edi\n"	/* SIGTRAP */
    "	xorl %edx, %edx\n"
    "	movl $8, %r10d\n"
    "	movl $13, %eax\n"	/* rt_sigaction */
    "	syscall\n"
    "	movl %r12d, %edi\n"
    "	movl $60, %eax\n"	/* exit: this thread only */
    "	syscall\n"
    "	hlt\n"
    ".type rst_clone3, @function\n"
    "rst_clone3:\n"
    "	movq %rdx, %r8\n"
    "	movq %rcx, %r9\n"
    "	movl $435, %eax\n"	/* clone3 */
    "	syscall\n"
    "	testq %rax, %rax\n"
    "	jnz 1f\n"
    /* the new thread, on its own stack */
    "	xorl %ebp, %ebp\n"
    "	andq $-16, %rsp\n"
    "	movq %r9, %rdi\n"
    "	call *%r8\n"
    "	movl $60, %eax\n"	/* exit */
    "	syscall\n"
    "1:	ret\n");

static void fail(struct rst_args *a, const char *what, long err)
{
	rst_log(a->log_fd, "Error: restorer of pid %d: %s failed: %s (%ld)\n", a->pid, what,
		rst_strerror(err), -err);
	if (a->err_fd != a->log_fd)
		rst_log(a->err_fd, "criu: restorer of pid %d: %s failed: %s (%ld)\n", a->pid,
			what, rst_strerror(err), -err);
	sys_exit_group(1);
}

#define CHECK(a, call, what)                 \
	do {                                  \
		long __r = (call);            \
		if (__r < 0 && __r > -4096)   \
			fail(a, what, __r);   \
	} while (0)

static void dbg(struct rst_args *a, const char *msg)
{
	if (a->log_level >= 4)
		rst_log(a->log_fd, "restorer of pid %d: %s\n", a->pid, msg);
}

/* ---- memory ---- */

static void unmap_range(struct rst_args *a, uint64_t from, uint64_t to)
{
	if (to > from)
		CHECK(a, sys_munmap(from, to - from), "munmap of the old address space");
}

/* Unmap all but the bootstrap and premap areas and the vDSO set. */
static void unmap_old(struct rst_args *a)
{
	uint64_t keep[3][2] = {
		{ a->bootstrap_start, a->bootstrap_end },
		{ a->premap_start, a->premap_end },
		{ a->cur_vdso_start, a->cur_vdso_end },
	};
	uint64_t pos = 0;
	int i, j;

	/* sort the three ranges by start */
	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (keep[j][0] < keep[i][0]) {
				uint64_t s = keep[i][0], e = keep[i][1];

				keep[i][0] = keep[j][0];
				keep[i][1] = keep[j][1];
				keep[j][0] = s;
				keep[j][1] = e;
			}
	for (i = 0; i < 3; i++) {
		if (keep[i][0] == keep[i][1])
			continue;
		unmap_range(a, pos, keep[i][0]);
		pos = keep[i][1];
	}
	unmap_range(a, pos, RST_TASK_SIZE);
}

static void move_vdso_set(struct rst_args *a, int64_t delta)
{
	uint32_t i;

	for (i = 0; i < a->nr_cur_vdso; i++) {
		uint64_t s = a->cur_vdso[i].start, len = a->cur_vdso[i].end - s;

		CHECK(a, sys_mremap(s, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, s + delta),
		      "mremap of the vDSO");
		a->cur_vdso[i].start += delta;
		a->cur_vdso[i].end += delta;
	}
	a->cur_vdso_start += delta;
	a->cur_vdso_end += delta;
}

/* Put [vvar], [vvar_vclock] and [vdso] where the image had them. */
static void restore_vdso(struct rst_args *a)
{
	uint64_t span = a->cur_vdso_end - a->cur_vdso_start;
	uint64_t target = a->cur_vdso_start + a->vdso_delta;

	if (!a->nr_cur_vdso)
		return;
	if (!a->has_vdso) {
		unmap_range(a, a->cur_vdso_start, a->cur_vdso_end);
		return;
	}
	if (!a->vdso_delta)
		return;
	/* moving within an overlapping range is not allowed: park first */
	if (target < a->cur_vdso_end && a->cur_vdso_start < target + span)
		move_vdso_set(a, (int64_t)(a->vdso_park - a->cur_vdso_start));
	move_vdso_set(a, (int64_t)(target - a->cur_vdso_start));
}

#ifndef PR_SET_VMA
#define PR_SET_VMA		0x53564d41
#define PR_SET_VMA_ANON_NAME	0
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT		1
#endif
#ifndef MCL_FUTURE
#define MCL_FUTURE		2
#endif

/* On the VMA in its place: madvise() state and the name. */
static void advise_vma(struct rst_args *a, const struct rst_vma *v)
{
	uint64_t len = v->end - v->start;
	int adv;

	for (adv = 0; adv < 64; adv++)
		if (v->madv & (1ULL << adv))
			CHECK(a, sys_madvise(v->start, len, adv), "madvise of a VMA");
	if (v->name)
		CHECK(a, sys_prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, v->start, len, v->name),
		      "prctl(PR_SET_VMA_ANON_NAME)");
}

static long lock_vma(const struct rst_vma *v)
{
	uint64_t len = v->end - v->start;
	long r, r2 = 0;

	/* on PROT_NONE, mlock sets VM_LOCKED but fails (ENOMEM) to fault pages in */
	if (v->prot == PROT_NONE && (r = sys_mprotect(v->start, len, PROT_READ)))
		return r;
	if (v->rst_flags & RST_VMA_LOCK_ONFAULT)
		r = sys_mlock2(v->start, len, MLOCK_ONFAULT);
	else
		r = sys_mlock(v->start, len);
	if (v->prot == PROT_NONE)
		r2 = sys_mprotect(v->start, len, PROT_NONE);
	return r ? r : r2;
}

/*
 * After the contents are in and after the rlimits (RLIMIT_MEMLOCK bounds
 * mlock without CAP_IPC_LOCK): the locked VMAs, then mlockall(MCL_FUTURE),
 * which locks every mapping made after it and so comes last.
 */
static void lock_memory(struct rst_args *a)
{
	const struct rst_vma *vmas = (const struct rst_vma *)a->vmas;
	uint32_t i;

	for (i = 0; i < a->nr_vmas; i++) {
		const struct rst_vma *v = &vmas[i];

		if ((v->flags & MAP_LOCKED) && !(v->rst_flags & RST_VMA_VDSO))
			CHECK(a, lock_vma(v), "mlock of a VMA");
	}
	if (a->mlockall)
		CHECK(a, sys_mlockall(a->mlockall), "mlockall(MCL_FUTURE)");
}

static void map_vmas(struct rst_args *a)
{
	struct rst_vma *vmas = (struct rst_vma *)a->vmas;
	uint32_t i;

	for (i = 0; i < a->nr_vmas; i++) {
		struct rst_vma *v = &vmas[i];
		uint64_t len = v->end - v->start;
		long r;

		if (v->rst_flags & RST_VMA_VDSO)
			continue;
		if (v->rst_flags & RST_VMA_PREMAPPED) {
			r = sys_mremap(v->premap, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, v->start);
			if (r != (long)v->start)
				fail(a, "mremap of a premapped VMA", r < 0 ? r : -14);
		} else {
			uint32_t flags = (v->flags & ~(MAP_LOCKED | MAP_FIXED_NOREPLACE)) | MAP_FIXED;

			r = sys_mmap(v->start, len, v->prot, flags, v->fd, v->pgoff);
			if (r != (long)v->start)
				fail(a, "mmap of a VMA", r < 0 ? r : -14);
		}
		advise_vma(a, v);
	}
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static void install_guards(struct rst_args *a)
{
	const struct rst_range *g = (const struct rst_range *)a->guards;
	uint32_t i;

	for (i = 0; i < a->nr_guards; i++)
		CHECK(a, sys_madvise(g[i].start, g[i].len, MADV_GUARD_INSTALL),
		      "madvise(MADV_GUARD_INSTALL)");
}

/* ---- process-wide state ---- */

static void restore_sigactions(struct rst_args *a)
{
	int sig;

	for (sig = 1; sig <= RST_NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		CHECK(a, sys_rt_sigaction(sig, &a->sigactions[sig - 1], 0, 8), "rt_sigaction");
	}
}

struct k_itimerval {
	int64_t isec, iusec, vsec, vusec;
};

static void restore_itimers(struct rst_args *a)
{
	int which;

	for (which = 0; which < 3; which++) {
		struct rst_itimer *t = &a->itimers[which];
		struct k_itimerval v = { t->isec, t->iusec, t->vsec, t->vusec };

		CHECK(a, sys_setitimer(which, &v, 0), "setitimer");
	}
}

/* struct sigevent on x86_64: 64 bytes */
struct k_sigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

static void restore_posix_timers(struct rst_args *a)
{
	struct rst_posix_timer *pt = (struct rst_posix_timer *)a->posix_timers;
	uint32_t i;

	if (!a->nr_posix_timers)
		return;
	/* with this on, timer_create() takes the id to use from *timerid */
	CHECK(a, sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0),
	      "prctl(PR_TIMER_CREATE_RESTORE_IDS)");
	for (i = 0; i < a->nr_posix_timers; i++) {
		struct k_sigevent ev;
		int32_t id = pt[i].id;
		struct rst_timespec its[2] = { pt[i].interval, pt[i].value };

		rst_memset(&ev, 0, sizeof(ev));
		ev.value = pt[i].sival;
		ev.signo = pt[i].signo;
		ev.notify = pt[i].notify;
		ev.tid = pt[i].notify_tid;
		CHECK(a, sys_timer_create(pt[i].clock_id, &ev, &id), "timer_create");
		if (id != pt[i].id)
			fail(a, "timer_create with the old id", -22);
		CHECK(a, sys_timer_settime(id, 0, its, 0), "timer_settime");
	}
	CHECK(a, sys_prctl(PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0),
	      "prctl(PR_TIMER_CREATE_RESTORE_IDS, off)");
}

/*
 * Signals that came while we were being restored (a zombie child's
 * SIGCHLD, say) are not the dumped task's: drop them before the dumped
 * pending signals are queued.
 */
static void drop_pending_signals(void)
{
	uint64_t all = ~0ULL;
	struct rst_timespec zero = { 0, 0 };
	uint8_t info[RST_SIGINFO_SIZE];

	while (sys_rt_sigtimedwait(&all, info, &zero, 8) > 0)
		;
}

static void restore_process(struct rst_args *a)
{
	const uint8_t *si = (const uint8_t *)a->shared_siginfo;
	uint32_t i;

	drop_pending_signals();
	if (!a->share_sighand)
		restore_sigactions(a);
	restore_itimers(a);
	for (i = 0; i < a->nr_rlimits; i++)
		CHECK(a, sys_prlimit64(0, i, &a->rlimits[i], 0), "setrlimit");
	/* blocked until criu lets the task go: they stay queued */
	for (i = 0; i < a->nr_shared_siginfo; i++, si += RST_SIGINFO_SIZE)
		CHECK(a, sys_rt_sigqueueinfo(a->pid, *(const int32_t *)si, si),
		      "rt_sigqueueinfo");
	if (a->thp_disabled)
		CHECK(a, sys_prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), "PR_SET_THP_DISABLE");
	if (a->child_subreaper)
		CHECK(a, sys_prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0),
		      "PR_SET_CHILD_SUBREAPER");
	/* the REGISTER_* commands are single bits: issue each one that was done */
	for (i = 0; i < 32; i++)
		if (a->membarrier_regs & (1U << i))
			CHECK(a, sys_membarrier(1U << i, 0), "membarrier register");
}

/* ---- per thread ---- */

static int same_groups(const struct rst_creds *c)
{
	uint32_t cur[RST_NGROUPS_MAX];
	long n = sys_getgroups(RST_NGROUPS_MAX, cur);
	uint32_t i;

	if (n != (long)c->ngroups)
		return 0;
	for (i = 0; i < c->ngroups; i++)
		if (cur[i] != c->groups[i])
			return 0;
	return 1;
}

static void restore_creds(struct rst_args *a, const struct rst_creds *c)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int cap;

	/* keep our capabilities across the uid change, until capset below */
	CHECK(a, sys_prctl(PR_SET_SECUREBITS, 1 << SECURE_NO_SETUID_FIXUP, 0, 0, 0),
	      "PR_SET_SECUREBITS");
	/* with setgroups denied in a user namespace, only leave them alone */
	if (!same_groups(c))
		CHECK(a, sys_setgroups(c->ngroups, c->groups), "setgroups");
	CHECK(a, sys_setresgid(c->gid, c->egid, c->sgid), "setresgid");
	sys_setfsgid(c->fsgid);
	CHECK(a, sys_setresuid(c->uid, c->euid, c->suid), "setresuid");
	sys_setfsuid(c->fsuid);

	for (cap = 0; cap < 64; cap++) {
		long r;

		if (c->cap_bnd & (1ULL << cap))
			continue;
		r = sys_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
		if (r == -22)	/* EINVAL: no such capability on this kernel */
			break;
		CHECK(a, r, "PR_CAPBSET_DROP");
	}
	CHECK(a, sys_prctl(PR_SET_SECUREBITS, c->secbits, 0, 0, 0), "PR_SET_SECUREBITS");

	data[0].effective = (uint32_t)c->cap_eff;
	data[1].effective = (uint32_t)(c->cap_eff >> 32);
	data[0].permitted = (uint32_t)c->cap_prm;
	data[1].permitted = (uint32_t)(c->cap_prm >> 32);
	data[0].inheritable = (uint32_t)c->cap_inh;
	data[1].inheritable = (uint32_t)(c->cap_inh >> 32);
	CHECK(a, sys_capset(&hdr, data), "capset");
	if (c->no_new_privs)
		CHECK(a, sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS");
}

struct k_sched_param {
	int32_t prio;
};

static void restore_thread(struct rst_args *a, struct rst_thread *t)
{
	const uint8_t *si = (const uint8_t *)t->siginfo;
	struct k_sched_param sp = { (int32_t)t->sched_prio };
	uint32_t i;

	CHECK(a, sys_prctl(PR_SET_NAME, t->comm, 0, 0, 0), "PR_SET_NAME");
	CHECK(a, sys_arch_prctl(ARCH_SET_FS, t->fs_base), "arch_prctl(ARCH_SET_FS)");
	CHECK(a, sys_arch_prctl(ARCH_SET_GS, t->gs_base), "arch_prctl(ARCH_SET_GS)");
	for (i = 0; i < t->nr_tls; i++)
		CHECK(a, sys_set_thread_area(&t->tls[i]), "set_thread_area");
	CHECK(a, sys_set_robust_list(t->robust_head, t->robust_len), "set_robust_list");
	sys_set_tid_address(t->clear_tid);
	if (t->rseq_ptr)
		CHECK(a, sys_rseq(t->rseq_ptr, t->rseq_len, 0, t->rseq_sig), "rseq");
	if (t->sched_policy || t->sched_prio)
		CHECK(a, sys_sched_setscheduler(0, t->sched_policy, &sp), "sched_setscheduler");
	CHECK(a, sys_setpriority(0 /* PRIO_PROCESS */, 0, t->nice), "setpriority");
	if (t->nr_affinity)
		CHECK(a, sys_sched_setaffinity(0, t->nr_affinity * 8, t->affinity),
		      "sched_setaffinity");
	if (t->ioprio)
		CHECK(a, sys_ioprio_set(1 /* IOPRIO_WHO_PROCESS */, 0, t->ioprio), "ioprio_set");
	for (i = 0; i < t->nr_siginfo; i++, si += RST_SIGINFO_SIZE)
		CHECK(a, sys_rt_tgsigqueueinfo(a->pid, t->tid, *(const int32_t *)si, si),
		      "rt_tgsigqueueinfo");
	/* while the thread still has CAP_SYS_ADMIN, in case it lacks no_new_privs */
	CHECK(a, rst_seccomp_filters((const struct rst_seccomp *)t->seccomp, t->nr_seccomp),
	      "seccomp(SECCOMP_SET_MODE_FILTER)");
	restore_creds(a, &t->creds);
	/* after the creds: changing them clears the pdeath signal */
	CHECK(a, sys_prctl(PR_SET_PDEATHSIG, t->pdeath_sig, 0, 0, 0), "PR_SET_PDEATHSIG");
	/* criu suspended seccomp for the task: our syscalls from here on still work */
	if (t->seccomp_mode == 1)
		CHECK(a, rst_seccomp_strict(), "prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)");
}

static void thread_main(void *arg)
{
	struct rst_thread *t = arg;
	struct rst_args *a = (struct rst_args *)t->args;

	/* step 11 of a thread other than the leader */
	restore_thread(a, t);
	__atomic_add_fetch(&a->threads_done, 1, __ATOMIC_SEQ_CST);
	sys_futex(&a->threads_done, FUTEX_WAKE, 1, 0, 0, 0);
	rst_sigreturn(t->frame, &a->sigactions[SIGTRAP - 1]);
}

static void create_threads(struct rst_args *a)
{
	struct rst_thread *th = (struct rst_thread *)a->threads;
	uint32_t i;

	for (i = 1; i < a->nr_threads; i++) {
		struct clone_args ca;
		int64_t tid = th[i].tid;
		long r;

		rst_memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			   CLONE_SYSVSEM;
		ca.stack = th[i].stack_top - RST_THREAD_STACK;
		ca.stack_size = RST_THREAD_STACK;
		ca.set_tid = (uint64_t)&tid;
		ca.set_tid_size = 1;
		r = rst_clone3(&ca, sizeof(ca), thread_main, &th[i]);
		if (r != tid)
			fail(a, "clone3 of a thread with its old tid", r < 0 ? r : -17);
	}
}

/* ---- POSIX file locks ---- */

/* the kernel's struct flock on x86_64 */
struct k_flock {
	int16_t type, whence;
	int64_t start, len;
	int32_t pid;
};

#define RST_F_SETLK 6

/*
 * POSIX locks belong to the process, and any close of the locked file
 * in it drops them all, the close of criu's anchors included.  So criu's
 * descriptors go first, all but the log and criu's stderr (which criu
 * checked are not a locked file), and the locks are taken after that.
 */
static void close_svc_but_log(struct rst_args *a)
{
	int32_t lo = a->log_fd < a->err_fd ? a->log_fd : a->err_fd;
	int32_t hi = a->log_fd < a->err_fd ? a->err_fd : a->log_fd;
	int32_t from = a->svc_fd_base;

	if (lo >= from) {
		if (lo > from)
			sys_close_range(from, lo - 1, 0);
		from = lo + 1;
	}
	if (hi >= from) {
		if (hi > from)
			sys_close_range(from, hi - 1, 0);
		from = hi + 1;
	}
	sys_close_range(from, ~0U, 0);
}

static void restore_posix_locks(struct rst_args *a)
{
	const struct rst_file_lock *l = (const struct rst_file_lock *)a->posix_locks;
	uint32_t i;

	close_svc_but_log(a);
	for (i = 0; i < a->nr_posix_locks; i++) {
		struct k_flock f;

		rst_memset(&f, 0, sizeof(f));
		f.type = l[i].type;
		f.start = l[i].start;
		f.len = l[i].len;
		if (a->log_level >= 4)
			rst_log(a->log_fd,
				"restorer of pid %d: POSIX lock type %d on fd %d from %ld len %ld\n",
				a->pid, l[i].type, l[i].fd, (long)l[i].start, (long)l[i].len);
		CHECK(a, sys_fcntl(l[i].fd, RST_F_SETLK, &f), "fcntl(F_SETLK) of a POSIX lock");
	}
}

static void wait_threads(struct rst_args *a)
{
	int32_t want = a->nr_threads - 1, done;

	while ((done = __atomic_load_n(&a->threads_done, __ATOMIC_SEQ_CST)) != want)
		sys_futex(&a->threads_done, FUTEX_WAIT, done, 0, 0, 0);
}

/*
 * After the mm: the state of the process and its threads, then return.
 * Steps 7 to 14 of Documentation/design.md ("The restorer, in order");
 * a vm child runs them too, after its own setup.
 */
static void __attribute__((noreturn)) restore_rest(struct rst_args *a)
{
	struct rst_thread *leader = (struct rst_thread *)a->threads;

	/* step 7: signals, handlers, itimers, rlimits, pending signals, prctls, membarrier */
	restore_process(a);
	/* (step 7) memory locks: each locked VMA, then mlockall(MCL_FUTURE) */
	lock_memory(a);
	/* step 8: the seccomp filters all threads share; the threads inherit them */
	CHECK(a, rst_seccomp_filters((const struct rst_seccomp *)a->seccomp_common,
				     a->nr_seccomp_common),
	      "seccomp(SECCOMP_SET_MODE_FILTER) of the filters all threads share");
	/* step 9: the other threads, with their old tids */
	create_threads(a);
	/* step 10: POSIX timers, after the threads they may name */
	restore_posix_timers(a);
	/* step 11: every other thread has restored itself; then the leader */
	wait_threads(a);
	dbg(a, "threads ready; restoring the leader's creds");
	if (a->leader_exits) {
		/* no registers to return to: only its name and creds matter */
		CHECK(a, sys_prctl(PR_SET_NAME, leader->comm, 0, 0, 0), "PR_SET_NAME");
		restore_creds(a, &leader->creds);
		/* criu's SIGKILL of the root until now: the kernel sends it to the group */
		CHECK(a, sys_prctl(PR_SET_PDEATHSIG, leader->pdeath_sig, 0, 0, 0),
		      "PR_SET_PDEATHSIG");
	} else {
		restore_thread(a, leader);
	}
	/* step 12: dumpable, after every thread's creds (a uid change resets it) */
	if (a->dumpable == 0 || a->dumpable == 1)
		CHECK(a, sys_prctl(PR_SET_DUMPABLE, a->dumpable, 0, 0, 0), "PR_SET_DUMPABLE");
	/* step 13: POSIX locks (criu refuses them in a shared table, where anchors stay) */
	if (a->nr_posix_locks)
		restore_posix_locks(a);
	/* step 14: criu's descriptors, the log among them, go last; then rt_sigreturn */
	if (!a->keep_svc_fds)
		sys_close_range(a->svc_fd_base, ~0U, 0);
	if (a->leader_exits)
		rst_leader_exit(a->leader_exit_code, &a->sigactions[SIGTRAP - 1]);
	rst_sigreturn(leader->frame, &a->sigactions[SIGTRAP - 1]);
}

static void wake_vm_children(struct rst_args *a)
{
	const uint64_t *kids = (const uint64_t *)a->vm_children;
	uint32_t i;

	for (i = 0; i < a->nr_vm_children; i++) {
		struct rst_args *k = (struct rst_args *)kids[i];

		__atomic_store_n(&k->vm_ready, 1, __ATOMIC_SEQ_CST);
		sys_futex(&k->vm_ready, FUTEX_WAKE, 1, 0, 0, 0);
	}
}

/* What a vm child does for itself: session, fds, cwd and root, personality. */
static void vm_child_setup(struct rst_args *a)
{
	const struct rst_fd *fds = (const struct rst_fd *)a->fds;
	uint32_t i;

	if (a->do_setsid)
		CHECK(a, sys_setsid(), "setsid");
	if (a->set_pgid >= 0)
		CHECK(a, sys_setpgid(0, a->set_pgid), "setpgid");
	if (a->own_fds) {
		CHECK(a, sys_close_range(0, a->svc_fd_base - 1, 0), "close_range");
		for (i = 0; i < a->nr_fds; i++) {
			long r = sys_dup3(fds[i].anchor, fds[i].fd, fds[i].flags);

			if (r != fds[i].fd)
				fail(a, "dup3 of a descriptor", r < 0 ? r : -9);
		}
	}
	if (a->root_fd >= 0) {
		CHECK(a, sys_fchdir(a->root_fd), "fchdir to the root");
		CHECK(a, sys_chroot((uint64_t)"."), "chroot");
	}
	if (a->cwd_fd >= 0)
		CHECK(a, sys_fchdir(a->cwd_fd), "fchdir to the cwd");
	if (a->umask >= 0)
		sys_umask(a->umask);
	CHECK(a, sys_personality(a->personality), "personality");
}

/* The numbered steps are those of Documentation/design.md, "The restorer, in order". */
void restorer_main(struct rst_args *a)
{
	/* step 1: everything goes but the bootstrap and premap areas and the vDSO set */
	dbg(a, "unmapping the old address space");
	unmap_old(a);
	/* step 2: the vDSO set where the image had it */
	restore_vdso(a);
	/* step 3: each VMA at its address, with its madvise advice and name */
	map_vmas(a);
	/* step 4: guard pages */
	install_guards(a);
	dbg(a, "all VMAs in place");

	/* step 5: every mm field at once */
	CHECK(a, sys_prctl(PR_SET_MM, PR_SET_MM_MAP, &a->mm, a->mm_map_size, 0),
	      "prctl(PR_SET_MM, PR_SET_MM_MAP)");
	dbg(a, "mm set with PR_SET_MM_MAP");

	/* step 6: the processes on this mm may go on */
	wake_vm_children(a);
	restore_rest(a);
}

/*
 * A process that shares the mm of its parent: created by criu's code in
 * the parent, on a stack in the parent's bootstrap area, before the go.
 * It waits until the parent's restorer has put the mm in place, then
 * sets up what is its own and restores itself like any process.
 */
void vm_child_main(struct rst_args *a)
{
	int32_t ready;

	/* off criu's code, which the parent's restorer unmaps */
	__atomic_store_n(&a->vm_started, 1, __ATOMIC_SEQ_CST);
	sys_futex(&a->vm_started, FUTEX_WAKE, 1, 0, 0, 0);
	while (!(ready = __atomic_load_n(&a->vm_ready, __ATOMIC_SEQ_CST)))
		sys_futex(&a->vm_ready, FUTEX_WAIT, 0, 0, 0, 0);
	if (ready < 0)
		sys_exit_group(1);
	dbg(a, "the mm of the parent is in place");
	vm_child_setup(a);
	restore_rest(a);
}
