/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_SOCKETS_H
#define CR_SOCKETS_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

#include "files.h"
#include "list.h"
#include "sk-opts.pb-c.h"
#include "util.h"

/*
 * sk-queue.c: the receive queue of a socket, in sk-queues.img.
 * Dump: copy what is queued on sk (criu's own copy of the task's fd)
 * without consuming it, one sk_packet_entry per message, for file id.
 * Fds in flight (SCM_RIGHTS) are refused: *in_flight is set.
 */
int dump_sk_queue(int sk, u32 id, int type, bool rcv_shut, bool *in_flight);
int sk_queue_dump_fini(void);
/* Restore: read sk-queues.img. */
int collect_sk_queues(void);
/* Bytes queued for socket id, and send them into it through its peer. */
size_t sk_queue_bytes(u32 id);
int restore_sk_queue(int peer, u32 id);

/* Options of SOL_SOCKET level (sk_opts_entry). */
int dump_sk_opts(int sk, SkOptsEntry *o);
/* Buffer sizes, set first (they bound how much can be queued). */
int restore_sk_bufs(int sk, SkOptsEntry *o);
/* The rest, set once the queues are filled. */
int restore_sk_opts(int sk, SkOptsEntry *o);

/* sk-family.c: a socket no kind took, refused naming its family. */
void refuse_socket(const struct fd_parms *p);

/* sk-diag.c: every unix socket of criu's net namespace, by sock_diag. */
#define USK_NAME_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path))

/* One unix socket of the net namespace, as unix_diag describes it. */
struct usk_info {
	struct list_head list;
	u32 ino, peer, type, state;
	u32 rqueue, wqueue;	/* listener: pending, backlog; else bytes in, out */
	u32 nr_icons;		/* connections not yet accepted */
	u8 shutdown;		/* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2 */
	bool has_vfs;
	u32 vfs_ino, vfs_dev;	/* the bound file (kernel dev encoding) */
	u32 name_len;
	char name[USK_NAME_MAX + 1];
	/* dump: where it was met */
	bool dumped;
	pid_t pid;
	int fd;
};

extern struct list_head usk_infos;
int collect_usk_infos(void);
bool usk_infos_collected(void);
struct usk_info *find_usk(u32 ino);
void free_usk_infos(void);

#endif
