/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_PROC_PARSE_H
#define CR_PROC_PARSE_H

#include <stdbool.h>
#include <sys/types.h>

#include "list.h"
#include "util.h"

/* /proc/PID/stat, the fields we use (numbers are stat(5)'s, 1-based) */
struct proc_pid_stat {
	int pid;
	char comm[64];
	char state;		/* 3 */
	int ppid;		/* 4 */
	int pgid;		/* 5 */
	int sid;		/* 6 */
	unsigned int flags;	/* 9 */
	long priority;		/* 18 */
	long nice;		/* 19 */
	int num_threads;	/* 20 */
	u64 start_code;		/* 26 */
	u64 end_code;		/* 27 */
	u64 start_stack;	/* 28 */
	int exit_signal;	/* 38 */
	unsigned int rt_priority; /* 40 */
	unsigned int policy;	/* 41 */
	u64 start_data;		/* 45 */
	u64 end_data;		/* 46 */
	u64 start_brk;		/* 47 */
	u64 arg_start;		/* 48 */
	u64 arg_end;		/* 49 */
	u64 env_start;		/* 50 */
	u64 env_end;		/* 51 */
	int exit_code;		/* 52 */
};

int parse_pid_stat(pid_t pid, pid_t tid, struct proc_pid_stat *s);

#define NS_LEVELS_MAX 32

struct proc_status {
	char state;
	int tgid;
	int ppid;
	unsigned int umask;
	u64 sigpnd, shdpnd, sigblk, sigign, sigcgt;
	u64 cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	u32 uid[4], gid[4];	/* real, effective, saved, fs */
	int ngroups;
	u32 groups[256];
	int nnp;		/* NoNewPrivs */
	int seccomp;		/* Seccomp mode */
	int seccomp_filters;
	int thp_enabled;	/* -1 if the line is missing */
	int ns_levels;
	pid_t nstgid[NS_LEVELS_MAX], nspid[NS_LEVELS_MAX];
	pid_t nspgid[NS_LEVELS_MAX], nssid[NS_LEVELS_MAX];
};

int parse_pid_status(pid_t pid, pid_t tid, struct proc_status *st);

/* Thread ids listed in /proc/PID/task, sorted, leader first. */
int read_tids(pid_t pid, pid_t **tids, int *nr);
/* Children listed in /proc/PID/task/TID/children for every thread. */
int read_children(pid_t pid, const pid_t *tids, int nr_tids, pid_t **kids, int *nr);

/* /proc/PID/limits, in RLIMIT_* order; RLIM_INFINITY as all ones */
#define CR_RLIM_NLIMITS 16
struct proc_rlimit {
	u64 cur, max;
};
int parse_pid_limits(pid_t pid, struct proc_rlimit *lim, int *nr);

/* /proc/PID/fdinfo/N */
struct proc_fdinfo {
	u64 pos;
	unsigned int flags;
	int mnt_id;
	u64 ino;
	bool locked;		/* a "lock:" line: the file holds a lock */
};
int parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *fi);
/* the same from the text of an fdinfo file already read (buf is cut up) */
void parse_fdinfo_text(char *buf, struct proc_fdinfo *fi);
/* The text after "key:" in an fdinfo text, or NULL. */
const char *fdinfo_value(const char *fdinfo, const char *key);

/* /proc/PID/timers */
struct proc_posix_timer {
	int id;
	int signo;
	int notify;		/* SIGEV_* */
	int notify_tid;
	int clock_id;
	u64 sival_ptr;
};
int parse_posix_timers(pid_t pid, struct proc_posix_timer **timers, int *nr);

#endif
