/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the seccomp tests: a filter that makes some syscalls fail
 * with a given errno, and the seccomp lines of a thread's status.
 */
#ifndef ZDTM_SECCOMP_UTIL_H
#define ZDTM_SECCOMP_UTIL_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtmtst.h"

struct sc_rule {
	int nr; /* syscall */
	int err; /* its errno */
};

/* Install a filter: each rule's syscall fails with its errno, all else passes. */
static inline long sc_install(const struct sc_rule *r, int n, unsigned int flags)
{
	struct sock_filter f[64];
	struct sock_fprog prog;
	int k = 0, i;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	for (i = 0; i < n && k < 60; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, r[i].nr, 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						      SECCOMP_RET_ERRNO | (r[i].err & 0xffff));
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = k;
	prog.filter = f;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* A status line of thread tid of this process ("Seccomp", "Seccomp_filters"), or -1. */
static inline int sc_status(pid_t pid, pid_t tid, const char *key)
{
	char path[64], buf[4096], *p;
	size_t klen = strlen(key);
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	len = read_file(path, buf, sizeof(buf) - 1);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return atoi(p + klen + 1);
	}
	return -1;
}

/* Does syscall nr (no arguments) fail with err (0: succeed)?  1 if so. */
static inline int sc_fails_with(int nr, int err)
{
	long r;

	errno = 0;
	r = syscall(nr);
	if (!err)
		return r >= 0;
	return r == -1 && errno == err;
}

#endif
