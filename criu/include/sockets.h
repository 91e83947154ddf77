/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_SOCKETS_H
#define CR_SOCKETS_H

#include <stdbool.h>
#include <sys/types.h>

#include "files.h"
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

#endif
