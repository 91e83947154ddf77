/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_SK_UNIX_H
#define CR_SK_UNIX_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sk-unix.pb-c.h"
#include "sockets.h"

/* unix_diag reports socket states in TCP's numbers */
#define USK_ESTABLISHED	1
#define USK_CLOSE	7
#define USK_LISTEN	10

/* unix_sk_entry.uflags: the peer outside the tree of a dumped socket */
#define USK_EXTERN	1

/* sk-unix.c: names for messages, and what kind of name a socket has */
const char *usk_type_name(u32 type);
const char *usk_name(const struct usk_info *u);
bool usk_autobound(const char *name, size_t len);
bool usk_bound_dgram(u32 type, u32 peer, const char *name, size_t len);
bool usk_anonymous(const struct usk_info *u);

/* sk-unix-rst.c: the fd_kind's restore hooks */
int usk_collect(void);
int usk_open(FileEntry *fe, int *fd);
int usk_anchors_done(void);
void usk_restore_failed(void);

/* sk-unix-bind.c: names at restore */
socklen_t usk_addr(const UnixSkEntry *u, struct sockaddr_un *addr);
/* a relative name is bound and reached from its directory */
int usk_enter_dir(const UnixSkEntry *u, int *cwd);
int usk_leave_dir(int cwd);
/* bind sk to u's name; temp: for a moment only (no mode, owner), see usk_unbind_temp */
int usk_bind(int sk, UnixSkEntry *u, bool temp);
int usk_unbind_temp(UnixSkEntry *u);
int usk_bind_name(int sk, UnixSkEntry *u);
int usk_connect_name(int sk, const UnixSkEntry *from, const UnixSkEntry *u);
/* a socket of u's type with its buffer sizes */
int usk_new(UnixSkEntry *u, int flags);
/* remove the files this restore bound: all (it failed), or those of deleted sockets */
void usk_unlink_bound(bool all);

#endif
