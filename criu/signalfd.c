// SPDX-License-Identifier: GPL-2.0
/*
 * signalfd: the set of signals it reads (fdinfo "sigmask", hex, bit N-1
 * for signal N) and its file flags.  It holds no signals itself: a read
 * dequeues from the reading task's pending queues, which the task's own
 * images restore.  The entry lives in files.img (file_entry.sgfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdinfo.pb-c.h"
#include "files.h"
#include "proc_parse.h"
#include "signalfd.pb-c.h"
#include "util.h"

static bool match_signalfd(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

static int dump_signalfd(struct fd_parms *p, u32 id)
{
	SignalfdEntry se = SIGNALFD_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	const char *mask;

	mask = p->fdinfo ? fdinfo_value(p->fdinfo, "sigmask") : NULL;
	if (!mask) {
		pr_err("pid %d fd %d: no sigmask in its fdinfo\n", p->pid, p->fd);
		return -1;
	}
	se.id = id;
	se.flags = p->flags;
	se.fown = &fown;
	se.sigmask = strtoull(mask, NULL, 16);
	fe.type = FD_TYPES__SIGNALFD;
	fe.id = id;
	fe.sgfd = &se;
	pr_info("pid %d fd %d: signalfd mask %#llx flags 0%o\n", p->pid, p->fd,
		(unsigned long long)se.sigmask, se.flags);
	return write_file_entry(&fe);
}

/* ---- restore ---- */

static int open_signalfd(FileEntry *fe, int *fd)
{
	SignalfdEntry *se = fe->sgfd;
	int flags = O_CLOEXEC;
	u64 mask;

	if (!se) {
		pr_err("files.img: file %u of type SIGNALFD has no sgfd entry\n", fe->id);
		return -1;
	}
	if (se->flags & O_NONBLOCK)
		flags |= O_NONBLOCK;
	/* the kernel's sigset is 64 bits here: the raw call takes its size */
	mask = se->sigmask;
	*fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), flags);
	if (*fd < 0) {
		pr_perror("cannot create signalfd %u with mask %#llx", fe->id,
			  (unsigned long long)mask);
		return -1;
	}
	pr_debug("signalfd %u: mask %#llx flags %#x\n", fe->id, (unsigned long long)mask, flags);
	return 0;
}

const struct fd_kind signalfd_kind = {
	.name = "signalfd",
	.type = FD_TYPES__SIGNALFD,
	.match = match_signalfd,
	.dump = dump_signalfd,
	.open = open_signalfd,
};
