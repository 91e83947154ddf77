/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What criu hands to the restorer blob.  The arguments are built in
 * place, inside the bootstrap area at the address where the blob will
 * read them, so pointers in them stay valid; the area is never moved.
 * Shared by criu and the freestanding code in criu/pie/: fixed-size
 * types only.
 */
#ifndef CR_RESTORER_H
#define CR_RESTORER_H

#include <stdint.h>

#define RST_TASK_SIZE		0x7ffffffff000ULL	/* 4-level paging */
#define RST_THREAD_STACK	(64UL << 10)
#define RST_NSIG		64
#define RST_NR_RLIMITS		16
#define RST_NGROUPS_MAX		256
#define RST_SIGINFO_SIZE	128

/* vma flags for the blob */
#define RST_VMA_PREMAPPED	(1 << 0)	/* move from .premap with mremap */
#define RST_VMA_VDSO		(1 << 1)	/* one of [vvar], [vvar_vclock], [vdso] */
#define RST_VMA_LOCK_ONFAULT	(1 << 2)	/* with MAP_LOCKED: mlock2(MLOCK_ONFAULT) */

struct rst_vma {
	uint64_t start, end;
	uint64_t pgoff;
	uint64_t premap;	/* where it was prepared, if RST_VMA_PREMAPPED */
	uint64_t madv;		/* bit n set: madvise(advice n) */
	uint64_t name;		/* -> PR_SET_VMA_ANON_NAME string, or 0 */
	uint32_t prot, flags;	/* PROT_*, MAP_* */
	uint32_t rst_flags;	/* RST_VMA_* */
	int32_t fd;		/* file to map, -1 for anonymous memory */
};

struct rst_range {
	uint64_t start, len;
};

struct rst_sigaction {
	uint64_t handler, flags, restorer, mask;
};

struct rst_timespec {
	int64_t sec, nsec;
};

struct rst_posix_timer {
	int32_t id;
	int32_t clock_id;
	int32_t notify;		/* SIGEV_* */
	int32_t signo;
	int32_t notify_tid;
	uint32_t overrun;
	uint64_t sival;
	struct rst_timespec interval, value;
};

/* A POSIX (fcntl) lock the process takes again after its last close */
struct rst_file_lock {
	int64_t start, len;	/* from the file's start; len 0: to EOF */
	int32_t fd;
	int32_t type;		/* F_RDLCK, F_WRLCK */
};

struct rst_itimer {
	int64_t isec, iusec, vsec, vusec;
};

struct rst_creds {
	int32_t no_new_privs;
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint32_t secbits;
	uint32_t ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd;
	uint32_t groups[RST_NGROUPS_MAX];
};

struct rst_tls {
	uint32_t entry_number, base_addr, limit, flags;	/* struct user_desc */
};

#define RST_AFFINITY_WORDS 16	/* 1024 CPUs */

/* a seccomp filter to install: seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) */
struct rst_seccomp {
	uint64_t insns;		/* -> struct sock_filter[len] */
	uint32_t len;		/* instructions */
	uint32_t flags;		/* SECCOMP_FILTER_FLAG_* */
};

struct rst_thread {
	uint64_t args;		/* -> struct rst_args */
	int32_t tid;
	int32_t pdeath_sig;
	uint64_t fs_base, gs_base;
	uint64_t clear_tid;
	uint64_t robust_head;
	uint64_t robust_len;
	uint64_t rseq_ptr;
	uint32_t rseq_len, rseq_sig;
	int32_t nice;
	uint32_t sched_policy, sched_prio;
	uint32_t ioprio;	/* 0: leave the inherited one */
	uint32_t nr_affinity;	/* words in affinity[]; 0: leave it */
	uint64_t affinity[RST_AFFINITY_WORDS];
	uint32_t nr_tls;
	struct rst_tls tls[3];
	char comm[16];
	struct rst_creds creds;
	uint32_t nr_siginfo;	/* private pending signals */
	uint64_t siginfo;	/* -> nr_siginfo raw siginfo_t */
	uint64_t stack_top;	/* the blob's stack for this thread */
	uint64_t frame;		/* rsp for rt_sigreturn: &rt_sigframe.uc */
	uint32_t seccomp_mode;	/* 1: strict, set last; 2: filters */
	uint32_t nr_seccomp;	/* its filters after the common ones, oldest first */
	uint64_t seccomp;	/* -> struct rst_seccomp[] */
};

/* the kernel's struct prctl_mm_map (linux/prctl.h) */
struct rst_mm_map {
	uint64_t start_code, end_code;
	uint64_t start_data, end_data;
	uint64_t start_brk, brk;
	uint64_t start_stack;
	uint64_t arg_start, arg_end;
	uint64_t env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size;
	uint32_t exe_fd;
};

/* a descriptor a vm child installs itself (struct rst_args.fds) */
struct rst_fd {
	int32_t fd, anchor;
	uint32_t flags;		/* O_CLOEXEC or 0 */
};

struct rst_rlimit {
	uint64_t cur, max;
};

struct rst_args {
	/* what must survive the unmapping of the old address space */
	uint64_t bootstrap_start, bootstrap_end;
	uint64_t premap_start, premap_end;
	uint64_t vdso_park;		/* spare room the size of the vDSO set */

	/* the vDSO set as the kernel gave it to us, and where it must go */
	uint64_t cur_vdso_start, cur_vdso_end;
	uint32_t nr_cur_vdso;
	struct {
		uint64_t start, end;
	} cur_vdso[4];			/* its VMAs: [vvar], [vvar_vclock], [vdso] */
	int64_t vdso_delta;		/* target - current */
	int32_t has_vdso;		/* 0: the image has none, unmap ours */

	uint32_t nr_vmas;
	uint64_t vmas;			/* -> struct rst_vma[], by address */
	uint32_t nr_guards;
	uint64_t guards;		/* -> struct rst_range[]: MADV_GUARD_INSTALL */

	struct rst_mm_map mm;
	uint32_t mm_map_size;		/* what PR_SET_MM_MAP_SIZE said */
	int32_t dumpable;
	int32_t thp_disabled;
	uint32_t mlockall;		/* MCL_FUTURE | MCL_ONFAULT, or 0 */
	int32_t child_subreaper;
	uint32_t membarrier_regs;	/* MEMBARRIER_CMD_REGISTER_* bits */

	struct rst_sigaction sigactions[RST_NSIG];	/* [sig - 1] */
	struct rst_itimer itimers[3];			/* real, virtual, prof */
	uint32_t nr_posix_timers;
	uint64_t posix_timers;		/* -> struct rst_posix_timer[] */
	uint32_t nr_shared_siginfo;
	uint64_t shared_siginfo;	/* -> raw siginfo_t[] of the process */
	struct rst_rlimit rlimits[RST_NR_RLIMITS];
	uint32_t nr_rlimits;
	uint32_t nr_posix_locks;
	uint64_t posix_locks;		/* -> struct rst_file_lock[] */

	int32_t pid;
	uint32_t nr_threads;
	uint64_t threads;		/* -> struct rst_thread[], leader first */
	int32_t leader_exits;		/* the leader had exited: it exits again */
	int32_t leader_exit_code;	/* with this code */

	int32_t svc_fd_base;		/* criu's fds are all from here up */
	int32_t keep_svc_fds;		/* the fd table is shared: criu closes them */
	int32_t log_fd;
	int32_t err_fd;			/* criu's stderr: errors go there too */
	int32_t log_level;

	volatile int32_t threads_done;	/* threads of the blob that finished */

	/*
	 * Processes that share this mm without being threads (vm children,
	 * clone(CLONE_VM)): criu creates them before the go, in the blob's
	 * vm_child_main() with their own rst_args; the restorer wakes them
	 * through vm_ready once the mm is in place.
	 */
	uint32_t nr_vm_children;
	uint64_t vm_children;		/* -> uint64_t[]: their struct rst_args */
	volatile int32_t vm_started;	/* in a vm child's args: it runs in the blob */
	volatile int32_t vm_ready;	/* in a vm child's args: the mm is in place */
	int32_t share_sighand;		/* a vm child with CLONE_SIGHAND: no sigactions */
	/* what a vm child sets up itself; its parent did the rest */
	int32_t do_setsid;
	int32_t set_pgid;		/* -1: leave it; 0: lead a group; >0: join it */
	uint32_t personality;
	int32_t cwd_fd, root_fd;	/* -1: leave them; root_fd -1: no chroot */
	int32_t umask;			/* -1: leave it */
	uint32_t nr_fds;		/* its own fd table; 0 if shared */
	int32_t own_fds;
	uint64_t fds;			/* -> struct rst_fd[] */

	/* seccomp filters of all threads, set by the leader before it clones them */
	uint32_t nr_seccomp_common;
	uint64_t seccomp_common;	/* -> struct rst_seccomp[], oldest first */
};

#endif
