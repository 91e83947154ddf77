/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PIE_RST_SECCOMP_H
#define PIE_RST_SECCOMP_H

#include <stdint.h>

#include "restorer.h"

/*
 * Install n filters in the calling thread, oldest first; 0, or -errno of
 * the one that failed.  criu seized the task with PTRACE_O_SUSPEND_SECCOMP,
 * so they do not act on the restorer's own syscalls that follow.
 */
long rst_seccomp_filters(const struct rst_seccomp *f, uint32_t n);
/* Strict mode for the calling thread: 0 or -errno. */
long rst_seccomp_strict(void);

#endif
