/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_SOCKETS_H
#define CR_SOCKETS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "files.h"
#include "list.h"
#include "sk-inet.pb-c.h"
#include "sk-opts.pb-c.h"
#include "util.h"

/*
 * sockets.c: the receive queue of a socket, in sk-queues.img.
 * Dump: copy what is queued on sk (criu's own copy of the task's fd)
 * without consuming it, one sk_packet_entry per message, for file id.
 * Fds in flight (SCM_RIGHTS) are refused: *in_flight is set.
 */
#define SKQ_RCV_SHUT	1	/* its receiving side is shut */
#define SKQ_SENDERS	2	/* keep each message's sender address */
#define SKQ_PENDING	4	/* sk is the peer, not yet accepted, of socket id */
int dump_sk_queue(int sk, u32 id, int type, unsigned int flags, bool *in_flight);
int sk_queue_dump_fini(void);

/* Restore: read sk-queues.img. */
int collect_sk_queues(void);

struct sk_packet {
	struct list_head list;
	u32 id_for;
	u32 len;
	bool pending;		/* written by id_for, for its peer (see SKQ_PENDING) */
	bool has_sender;
	u32 sender_len;		/* sun_path bytes; 0: an unnamed sender */
	char sender[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char data[];
};

/* The messages for socket id after prev (NULL: the first), in queue order. */
struct sk_packet *sk_queue_next(u32 id, bool pending, struct sk_packet *prev);
size_t sk_queue_bytes(u32 id, bool pending);
/* Send one message again from socket from (to: NULL for its peer). */
int send_sk_packet(int from, const struct sk_packet *p, const struct sockaddr *to,
		   socklen_t tolen);
/* Send all of id's messages from its peer. */
int restore_sk_queue(int peer, u32 id, bool pending);

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
	u32 *icons;		/* their clients' inodes (0: closed), in accept order */
	u8 shutdown;		/* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2 */
	bool has_vfs;
	u32 vfs_ino, vfs_dev;	/* the bound file (kernel dev encoding) */
	u32 name_len;
	char name[USK_NAME_MAX + 1];
	/* dump: where it was met */
	bool dumped;
	pid_t pid;
	int fd;
	u32 id;			/* its file id */
	int keep;		/* a listener: criu's copy, to read its pending data */
};

extern struct list_head usk_infos;
int collect_usk_infos(void);
bool usk_infos_collected(void);
struct usk_info *find_usk(u32 ino);
struct usk_info *find_usk_listener(u32 ino);
void free_usk_infos(void);

/* One sock_diag dump request (sk-diag.c); cb gets each answer. */
struct nl_msg;
int sock_diag_dump(const void *req, size_t len, int (*cb)(struct nl_msg *, void *), void *arg,
		   const char *what);

/* One inet socket of the net namespace, as inet_diag describes it. */
struct isk_info {
	struct list_head list;
	u32 ino, family, proto, state;
	u32 sport, dport;	/* host order */
	u32 src[4], dst[4];	/* network order, as inet_diag gives them */
	u32 ifindex;
	u32 rqueue, wqueue;	/* listener: accept queue, backlog; else bytes in, out */
	u8 shutdown;
	bool has_v6only, v6only;
};

/* Every TCP and UDP socket (IPv4, IPv6) of criu's net namespace. */
int collect_isk_infos(struct list_head *head);
/* sk-inet.c, in the root task: the sockets of a tree with its own net namespace. */
int isk_open_in_netns(void);
/* sk-inet.c: the local (dst false) or peer address of an entry. */
struct sockaddr_storage;
socklen_t isk_addr(InetSkEntry *ie, bool dst, struct sockaddr_storage *ss);

/*
 * sk-tcp.c: established TCP connections through TCP_REPAIR.
 * Dump: put sk (criu's copy) in repair mode, write tcp-stream-<ino>.img.
 */

int dump_tcp_stream(int sk, pid_t pid, int fd, InetSkEntry *ie);
/* Before the tree runs again (resume) or dies (kill): repair off, or close. */
void tcp_dump_finish(bool resume);
/* Restore: make sk, a fresh socket, the dumped connection again. */
int restore_tcp_stream(int sk, InetSkEntry *ie);
/* Once every connection is made: out of repair mode, the unsent bytes sent. */
int tcp_restore_finish(bool ok);

#endif
