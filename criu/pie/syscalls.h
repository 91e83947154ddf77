/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw x86_64 system calls for the restorer: no libc, no errno; a call
 * returns the kernel's value, -4095..-1 being -errno.
 */
#ifndef PIE_SYSCALLS_H
#define PIE_SYSCALLS_H

#include <stdint.h>
#include <asm/unistd.h>

typedef unsigned long size_t;

static inline long sys_call6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 asm("r10") = a4;
	register long r8 asm("r8") = a5;
	register long r9 asm("r9") = a6;
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
		     : "rcx", "r11", "memory");
	return ret;
}

#define SC(nr, a1, a2, a3, a4, a5, a6) \
	sys_call6(nr, (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), (long)(a6))
#define sys_call0(nr) SC(nr, 0, 0, 0, 0, 0, 0)
#define sys_call1(nr, a) SC(nr, a, 0, 0, 0, 0, 0)
#define sys_call2(nr, a, b) SC(nr, a, b, 0, 0, 0, 0)
#define sys_call3(nr, a, b, c) SC(nr, a, b, c, 0, 0, 0)
#define sys_call4(nr, a, b, c, d) SC(nr, a, b, c, d, 0, 0)
#define sys_call5(nr, a, b, c, d, e) SC(nr, a, b, c, d, e, 0)

#define sys_write(fd, buf, len)		sys_call3(__NR_write, fd, buf, len)
#define sys_close(fd)			sys_call1(__NR_close, fd)
#define sys_mmap(a, l, p, f, fd, o)	SC(__NR_mmap, a, l, p, f, fd, o)
#define sys_munmap(a, l)		sys_call2(__NR_munmap, a, l)
#define sys_mremap(o, ol, nl, f, n)	sys_call5(__NR_mremap, o, ol, nl, f, n)
#define sys_mprotect(a, l, p)		sys_call3(__NR_mprotect, a, l, p)
#define sys_madvise(a, l, adv)		sys_call3(__NR_madvise, a, l, adv)
#define sys_mlock(a, l)			sys_call2(__NR_mlock, a, l)
#define sys_mlock2(a, l, f)		sys_call3(__NR_mlock2, a, l, f)
#define sys_mlockall(f)			sys_call1(__NR_mlockall, f)
#define sys_prctl(o, a, b, c, d)	sys_call5(__NR_prctl, o, a, b, c, d)
#define sys_arch_prctl(c, a)		sys_call2(__NR_arch_prctl, c, a)
#define sys_rt_sigaction(s, n, o, sz)	sys_call4(__NR_rt_sigaction, s, n, o, sz)
#define sys_setitimer(w, n, o)		sys_call3(__NR_setitimer, w, n, o)
#define sys_timer_create(c, ev, id)	sys_call3(__NR_timer_create, c, ev, id)
#define sys_timer_settime(id, f, n, o)	sys_call4(__NR_timer_settime, id, f, n, o)
#define sys_rt_sigqueueinfo(p, s, i)	sys_call3(__NR_rt_sigqueueinfo, p, s, i)
#define sys_rt_tgsigqueueinfo(p, t, s, i) sys_call4(__NR_rt_tgsigqueueinfo, p, t, s, i)
#define sys_prlimit64(p, r, n, o)	sys_call4(__NR_prlimit64, p, r, n, o)
#define sys_set_robust_list(h, l)	sys_call2(__NR_set_robust_list, h, l)
#define sys_set_tid_address(p)		sys_call1(__NR_set_tid_address, p)
#define sys_rseq(p, l, f, s)		sys_call4(__NR_rseq, p, l, f, s)
#define sys_set_thread_area(u)		sys_call1(__NR_set_thread_area, u)
#define sys_setpriority(w, who, p)	sys_call3(__NR_setpriority, w, who, p)
#define sys_sched_setscheduler(p, pol, prm) sys_call3(__NR_sched_setscheduler, p, pol, prm)
#define sys_membarrier(cmd, fl)		sys_call3(__NR_membarrier, cmd, fl, 0)
#define sys_sched_setaffinity(p, l, m)	sys_call3(__NR_sched_setaffinity, p, l, m)
#define sys_ioprio_set(w, who, p)	sys_call3(__NR_ioprio_set, w, who, p)
#define sys_setgroups(n, l)		sys_call2(__NR_setgroups, n, l)
#define sys_getgroups(n, l)		sys_call2(__NR_getgroups, n, l)
#define sys_setresuid(r, e, s)		sys_call3(__NR_setresuid, r, e, s)
#define sys_setresgid(r, e, s)		sys_call3(__NR_setresgid, r, e, s)
#define sys_setfsuid(u)			sys_call1(__NR_setfsuid, u)
#define sys_setfsgid(g)			sys_call1(__NR_setfsgid, g)
#define sys_capset(h, d)		sys_call2(__NR_capset, h, d)
#define sys_futex(u, op, v, t, u2, v3)	SC(__NR_futex, u, op, v, t, u2, v3)
#define sys_exit_group(c)		sys_call1(__NR_exit_group, c)
#define sys_exit(c)			sys_call1(__NR_exit, c)
#define sys_close_range(f, l, fl)	sys_call3(__NR_close_range, f, l, fl)
#define sys_rt_sigtimedwait(s, i, t, sz)	sys_call4(__NR_rt_sigtimedwait, s, i, t, sz)
#define sys_fcntl(fd, cmd, arg)		sys_call3(__NR_fcntl, fd, cmd, arg)
#define sys_gettid()			sys_call0(__NR_gettid)
#define sys_setsid()			sys_call0(__NR_setsid)
#define sys_setpgid(p, g)		sys_call2(__NR_setpgid, p, g)
#define sys_dup3(o, n, f)		sys_call3(__NR_dup3, o, n, f)
#define sys_fchdir(fd)			sys_call1(__NR_fchdir, fd)
#define sys_chroot(p)			sys_call1(__NR_chroot, p)
#define sys_umask(m)			sys_call1(__NR_umask, m)
#define sys_personality(p)		sys_call1(__NR_personality, p)
#define sys_seccomp(op, fl, arg)	sys_call3(__NR_seccomp, op, fl, arg)

#endif
