/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_IPC_NS_H
#define CR_IPC_NS_H

#include <stdbool.h>
#include <sys/ipc.h>
#include <sys/types.h>

#include "image.h"
#include "ipc-desc.pb-c.h"
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

/* ---- between ipc_ns.c and ipc_shm.c ---- */

/* the segments: all of the current IPC namespace; read; made again */
int dump_ipc_shms(u32 ns_id);
int read_ipc_shms(u32 ns_id);
int restore_ipc_shms(void);

/* Every id listed in /proc/sysvipc/KIND, KIND "shm", "sem" or "msg". */
int ipc_list_ids(const char *kind, int **ids, int *nr);
/* n rounded up to a power of two a; zeros up to that after len bytes */
size_t ipc_pad(size_t n, size_t a);
int ipc_write_pad(struct cr_img *img, size_t len, size_t align);
/* len raw bytes after an entry, and its padding; malloc'ed */
void *ipc_read_payload(struct cr_img *img, size_t len, size_t align);
/* arr, of n elements of sz bytes, grown by one */
void *ipc_grow(void *arr, int n, size_t sz);
void ipc_fill_desc(IpcDescEntry *d, int id, const struct ipc_perm *p);
void ipc_fill_perm(struct ipc_perm *p, const IpcDescEntry *d);

struct ipc_kind {
	const char *name;
	int (*mk)(const void *arg);	/* the object of the image */
	int (*private)(void);		/* a throwaway one */
	int (*rm)(int id);
};

/* Make the object of desc d again, with its id; returns the id or -1. */
int ipc_create(const struct ipc_kind *k, const IpcDescEntry *d, const void *arg);

#endif
