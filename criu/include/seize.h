/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_SEIZE_H
#define CR_SEIZE_H

#include <stdbool.h>
#include <sys/types.h>

#include "pstree.h"

/*
 * Freeze every thread of every process of the tree rooted at pid with
 * PTRACE_SEIZE + PTRACE_INTERRUPT, noting each thread's signal mask.
 */
int seize_tree(pid_t pid);

enum unseize_mode {
	UNSEIZE_RESUME,		/* put every thread back as it was */
	UNSEIZE_KILL,		/* the dump succeeded: kill the tree */
};
void unseize_tree(enum unseize_mode mode);

/* Wait for a ptrace stop of tid; returns the status or -1. */
int wait_stop(pid_t tid, int *status);
/* waitpid that blocks but fails with EINTR every few ms, to look at a deadline */
pid_t waitpid_tick(pid_t pid, int *status, int flags);

#endif
