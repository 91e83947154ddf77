// SPDX-License-Identifier: GPL-2.0
/*
 * eventfd: a 64-bit counter.  fdinfo shows it ("eventfd-count", hex) and
 * whether reads take one at a time ("eventfd-semaphore"); the file flags
 * carry O_NONBLOCK.  The entry lives in files.img (file_entry.efd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "eventfd.pb-c.h"
#include "files.h"
#include "proc_parse.h"
#include "util.h"

static bool match_eventfd(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[eventfd]");
}

static int dump_eventfd(struct fd_parms *p, u32 id)
{
	EventfdFileEntry ee = EVENTFD_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	const char *count, *sem;

	count = p->fdinfo ? fdinfo_value(p->fdinfo, "eventfd-count") : NULL;
	if (!count) {
		pr_err("pid %d fd %d: no eventfd-count in its fdinfo\n", p->pid, p->fd);
		return -1;
	}
	/* kernels before 6.6 do not show it: only then is the mode unknown */
	sem = fdinfo_value(p->fdinfo, "eventfd-semaphore");
	if (!sem)
		pr_warn("pid %d fd %d: the kernel does not show EFD_SEMAPHORE; "
			"restored as a plain counter\n",
			p->pid, p->fd);
	ee.id = id;
	ee.flags = p->flags;
	ee.fown = &fown;
	ee.counter = strtoull(count, NULL, 16);
	ee.has_semaphore = true;
	ee.semaphore = sem && atoi(sem) != 0;
	fe.type = FD_TYPES__EVENTFD;
	fe.id = id;
	fe.efd = &ee;
	pr_info("pid %d fd %d: eventfd counter %llu%s flags 0%o\n", p->pid, p->fd,
		(unsigned long long)ee.counter, ee.semaphore ? " semaphore" : "", ee.flags);
	return write_file_entry(&fe);
}

/* ---- restore ---- */

static int open_eventfd(FileEntry *fe, int *fd)
{
	EventfdFileEntry *ee = fe->efd;
	int flags = EFD_CLOEXEC;

	if (!ee) {
		pr_err("files.img: file %u of type EVENTFD has no efd entry\n", fe->id);
		return -1;
	}
	if (ee->flags & O_NONBLOCK)
		flags |= EFD_NONBLOCK;
	if (ee->has_semaphore && ee->semaphore)
		flags |= EFD_SEMAPHORE;
	/* eventfd() takes an unsigned int; the rest of the range by write() */
	*fd = eventfd(0, flags);
	if (*fd < 0) {
		pr_perror("cannot create eventfd for file %u", fe->id);
		return -1;
	}
	if (ee->counter && write(*fd, &ee->counter, sizeof(ee->counter)) != sizeof(ee->counter)) {
		pr_perror("cannot set the counter of eventfd %u to %llu", fe->id,
			  (unsigned long long)ee->counter);
		close(*fd);
		return -1;
	}
	pr_debug("eventfd %u: counter %llu flags %#x\n", fe->id, (unsigned long long)ee->counter,
		 flags);
	return 0;
}

const struct fd_kind eventfd_kind = {
	.name = "eventfd",
	.type = FD_TYPES__EVENTFD,
	.match = match_eventfd,
	.dump = dump_eventfd,
	.open = open_eventfd,
};
