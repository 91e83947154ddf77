/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_TTY_H
#define CR_TTY_H

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <termios.h>

#include "files.h"
#include "list.h"
#include "tty.pb-c.h"

/* cr-dump.c: refuse a session leader whose terminal is from outside the tree */
int check_cttys(void);

#define QUEUE_MAX (256 << 10) /* more than a tty holds (64 + 4 KiB) */

/* tty-queue.c: the queues of a pty pair */
struct tty_queues {
	char *in; /* what a reader of the slave gets */
	size_t in_len;
	char *out; /* what a reader of the master gets */
	size_t out_len;
};

void free_queues(struct tty_queues *q);
/* Read both queues; orig: the slave's modes; packet: the master's mode. */
int take_queues(int master, int slave, bool packet, const struct termios *orig,
		struct tty_queues *q);
/* Put them into a pair whose slave has the modes orig. */
int refill(int master, int slave, const struct termios *orig, struct tty_queues *q);

/* ---- inside tty.c, tty-ctty.c and tty-queue.c ---- */

#define PTMX_RDEV makedev(5, 2)
#define DEV_TTY_RDEV makedev(5, 0)
#define PTS_MAJOR 136

static inline bool is_pts(dev_t rdev)
{
	return major(rdev) == PTS_MAJOR;
}

/* A new description of the slave of master (TIOCGPTPEER). */
static inline int open_peer(int master, int flags)
{
	return ioctl(master, TIOCGPTPEER, flags | O_NOCTTY | O_CLOEXEC);
}

/* The tty_info entries of a pair: its master, its slave, /dev/tty of it. */
enum { SIDE_MASTER, SIDE_SLAVE, SIDE_CTTY, NR_SIDES };

/* A pty master some task of the tree holds. */
struct dump_pty {
	struct list_head list;
	int lfd; /* criu's copy */
	int index;
	dev_t devpts;
	char pts_dir[PATH_MAX - 16]; /* where its slave is, as the task sees it */
	u32 info[3]; /* tty_info ids of its sides (SIDE_*) */
	bool dumped;
	bool orphan; /* lfd is the slave: the master is outside (tty-orphan.c) */
};

extern struct list_head dump_ptys;
int scan_masters(void);
/* The directory of the slaves, from a master's path or a slave's. */
void pts_dir_of(const char *path, bool master, char *out, size_t len);

/* tty-orphan.c: slaves whose master is outside the tree (orphan_pts_master) */
int scan_orphan_slaves(void);
void orphan_session(struct dump_pty *d, pid_t *sid, pid_t *pgrp);
int send_orphan_masters(void);
/* devpts 0: any */
struct dump_pty *find_dump_pty(dev_t devpts, int index);
int dump_pty_once(struct dump_pty *d);
int dump_info(struct dump_pty *d, bool slave, int sfd);
/* Give e the next id and write it to tty-info.img. */
int write_info(TtyInfoEntry *e);
int write_tty_file(u32 id, u32 info_id, unsigned int flags, struct fd_parms *p);

/* One pair, made again with its old number. */
struct rst_pty {
	struct list_head list;
	u32 index;
	TtyInfoEntry *info[NR_SIDES];
	char pts_dir[PATH_MAX];
	int master; /* held by criu until a description takes it */
	bool master_given;
	u32 slave_ids[16]; /* slave descriptions opened as anchors */
	int nr_slave_ids;
	struct tty_queues q;
};
extern struct list_head rst_ptys;
struct rst_pty *pty_of_info(u32 info_id, int *side);
int first_slave_anchor(struct rst_pty *r);

/* tty-ctty.c: controlling terminals, foreground groups, /dev/tty */
dev_t task_ctty(pid_t pid);
bool ctty_inside(pid_t pid);
int dump_ctty_info(struct dump_pty *d);
int dump_ctty_only(struct dump_pty *d);
int open_ctty_standin(FileEntry *fe, int *fd);
int tty_task_fds_done(struct pstree_item *it);

#endif
