/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_IPC_NS_H
#define CR_IPC_NS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/* dump: the whole IPC namespace of pid, as namespace ns_id */
int dump_ipc_ns(pid_t pid, u32 ns_id);
/* dump: a task maps SysV segment shmid */
int note_sysv_mapping(pid_t pid, int shmid);
/* dump: the mapped segments, for a tree in criu's IPC namespace */
int dump_mapped_sysv_shm(u32 ns_id);

/* restore, in criu: read the images of the tree's own IPC namespace */
int prepare_ipc_ns(u32 ns_id);
/* restore, in the root in its new IPC namespace: recreate everything */
int restore_ipc_ns(void);
/* restore, in criu: the mapped segments of a tree in criu's namespace */
int prepare_host_sysv_shm(u32 ns_id);
/*
 * restore, in a task: attach segment shmid's [pgoff, pgoff + len) at slot,
 * read-only (SHM_RDONLY) or not
 */
int premap_sysv_shm(pid_t vpid, int shmid, u64 pgoff, u64 len, bool rdonly, u64 slot);
/* restore, in criu: drop criu's own attaches; on failure, what criu made */
void ipc_restore_done(void);
void ipc_restore_failed(void);

#endif
