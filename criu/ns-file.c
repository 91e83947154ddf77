// SPDX-License-Identifier: GPL-2.0
/*
 * Namespace files: /proc/PID/ns/KIND held open (readlink says
 * "KIND:[INODE]").  Only a namespace the tree itself is in can be
 * dumped: after a restore, that is the one namespace of its kind the
 * tree has again.  A namespace criu shares with the tree is opened in
 * criu like any anchor; one the tree has of its own exists only once the
 * root is created, so each task opens it at its fd itself.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "namespaces.h"
#include "ns.pb-c.h"
#include "restore.h"

static const struct {
	const char *name;
	u32 flag;
} nsf_kinds[] = {
	{ "user", CLONE_NEWUSER }, { "pid", CLONE_NEWPID }, { "mnt", CLONE_NEWNS },
	{ "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC }, { "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

/* The index in nsf_kinds of a "KIND:[INODE]" link, or -1. */
static int link_kind(const char *link)
{
	size_t i, len = strcspn(link, ":");

	if (strncmp(link + len, ":[", 2))
		return -1;
	for (i = 0; i < ARRAY_SIZE(nsf_kinds); i++)
		if (strlen(nsf_kinds[i].name) == len && !strncmp(link, nsf_kinds[i].name, len))
			return i;
	return -1;
}

static int kind_of_flag(u32 flag)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(nsf_kinds); i++)
		if (nsf_kinds[i].flag == flag)
			return i;
	return -1;
}

static bool match_nsf(const struct fd_parms *p)
{
	return p->link[0] != '/' && link_kind(p->link) >= 0;
}

static int dump_nsf(struct fd_parms *p, u32 id)
{
	NsFileEntry nfe = NS_FILE_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	int k = link_kind(p->link);
	char path[64];
	struct stat st;

	/* every task of the tree is in the root's namespaces (namespaces.c) */
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", root_item->pid, nsf_kinds[k].name);
	if (stat(path, &st)) {
		pr_perror("cannot stat %s", path);
		return -1;
	}
	if (st.st_ino != p->st.st_ino || st.st_dev != p->st.st_dev) {
		pr_err("unsupported: pid %d fd %d is a %s namespace (%s) the tree is not in\n",
		       p->pid, p->fd, nsf_kinds[k].name, p->link);
		return -1;
	}
	nfe.id = id;
	nfe.ns_id = ns_id_of_ino(st.st_ino);
	nfe.ns_cflag = nsf_kinds[k].flag;
	nfe.flags = p->flags;
	fe.type = FD_TYPES__NS;
	fe.id = id;
	fe.nsf = &nfe;
	pr_debug("pid %d fd %d: the tree's %s namespace, id %u\n", p->pid, p->fd,
		 nsf_kinds[k].name, nfe.ns_id);
	return write_file_entry(&fe);
}

/* ---- restore ---- */

static int open_ns(NsFileEntry *nfe, int *fd)
{
	int k = kind_of_flag(nfe->ns_cflag);
	char path[64];

	if (k < 0) {
		pr_err("files.img: namespace file %u has an unknown kind %#x\n", nfe->id,
		       nfe->ns_cflag);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/ns/%s", nsf_kinds[k].name);
	*fd = open(path, (nfe->flags & ~O_CLOEXEC) | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	return 0;
}

/* Criu's own namespace of that kind; the tree's own is opened in the task. */
static int open_nsf_anchor(FileEntry *fe, int *fd)
{
	if (!fe->nsf) {
		pr_err("files.img: file %u of type NS has no namespace entry\n", fe->id);
		return -1;
	}
	return open_ns(fe->nsf, fd);
}

/* The tree's own namespaces exist only in the task */
static int open_own_ns(FileEntry *fe, int *fd)
{
	if (!(fe->nsf->ns_cflag & restore_ns_flags()))
		return 1;
	return open_ns(fe->nsf, fd) ? -1 : 0;
}

static int nsf_task_fds_done(struct pstree_item *it)
{
	return reopen_task_fds(it, FD_TYPES__NS, open_own_ns);
}

const struct fd_kind nsf_kind = {
	.name = "namespace",
	.type = FD_TYPES__NS,
	.match = match_nsf,
	.dump = dump_nsf,
	.open = open_nsf_anchor,
	.task_fds_done = nsf_task_fds_done,
};
