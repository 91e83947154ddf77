// SPDX-License-Identifier: GPL-2.0
/*
 * memfd: the file entry says which inode; memfd.img holds each inode's
 * name, size and seals; the contents are shared memory pages, in
 * pagemap-shmem-<shmid>.img and its pages image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "image.h"
#include "mem.h"
#include "memfd.pb-c.h"
#include "util.h"

#define MEMFD_PREFIX "/memfd:"

struct memfd_inode {
	struct list_head list;
	u64 dev, ino;
	u32 inode_id;
};

static LIST_HEAD(memfd_inodes);
static struct cr_img *memfd_img;
static u32 next_inode_id = 1;

bool is_memfd_link(const char *link)
{
	return !strncmp(link, MEMFD_PREFIX, strlen(MEMFD_PREFIX));
}

static int dump_memfd_inode(struct fd_parms *p, u32 *inode_id)
{
	MemfdInodeEntry ie = MEMFD_INODE_ENTRY__INIT;
	struct memfd_inode *mi;
	char name[PATH_MAX], *del;
	int fd, seals, ret = -1;

	list_for_each_entry(mi, &memfd_inodes, list)
		if (mi->dev == p->st.st_dev && mi->ino == p->st.st_ino) {
			*inode_id = mi->inode_id;
			return 0;
		}

	/*
	 * A description of our own: reading the contents seeks (SEEK_DATA),
	 * which must not move the task's offset.  Reopening checks the
	 * inode's mode; criu's copy of a readable fd does as well then, with
	 * the task's offset put back afterwards.
	 */
	fd = open(p->proc_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && p->lfd >= 0 && (p->flags & O_ACCMODE) != O_WRONLY) {
		pr_info("memfd %s of pid %d: cannot reopen it (%s), reading fd %d itself\n",
			p->link, p->pid, strerror(errno), p->fd);
		fd = fcntl(p->lfd, F_DUPFD_CLOEXEC, 0);
	}
	if (fd < 0) {
		pr_perror("cannot open memfd %s of pid %d", p->link, p->pid);
		return -1;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		seals = 0;

	/* the name given to memfd_create(), without "/memfd:" and " (deleted)" */
	snprintf(name, sizeof(name), "%s", p->link + strlen(MEMFD_PREFIX));
	del = strstr(name, " (deleted)");
	if (del && del[10] == '\0')
		*del = '\0';

	mi = xzalloc(sizeof(*mi));
	if (!mi)
		goto out;
	mi->dev = p->st.st_dev;
	mi->ino = p->st.st_ino;
	mi->inode_id = next_inode_id++;
	list_add_tail(&mi->list, &memfd_inodes);

	ie.name = name;
	ie.uid = p->st.st_uid;
	ie.gid = p->st.st_gid;
	ie.size = p->st.st_size;
	ie.shmid = p->st.st_ino;
	ie.seals = seals;
	ie.inode_id = mi->inode_id;
	ie.has_mode = true;
	ie.mode = p->st.st_mode & 07777;
	if (!memfd_img) {
		memfd_img = open_image(CR_FD_MEMFD_INODE, O_DUMP);
		if (!memfd_img)
			goto out;
	}
	if (pb_write(memfd_img, &ie))
		goto out;
	if (dump_shmem_file(fd, ie.shmid, ie.size))
		goto out;
	if (p->lfd >= 0 && lseek(p->lfd, p->pos, SEEK_SET) < 0) {
		pr_perror("cannot put back the offset of memfd %s of pid %d", p->link, p->pid);
		goto out;
	}
	*inode_id = mi->inode_id;
	ret = 0;
out:
	close(fd);
	return ret;
}

int dump_memfd(struct fd_parms *p, u32 id)
{
	MemfdFileEntry me = MEMFD_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;

	if (dump_memfd_inode(p, &me.inode_id) || dump_fown(p, &fown))
		return -1;
	me.id = id;
	me.flags = p->flags;
	me.pos = p->pos;
	me.fown = &fown;
	fe.type = FD_TYPES__MEMFD;
	fe.id = id;
	fe.memfd = &me;
	return write_file_entry(&fe);
}

static int memfd_dump_fini(void)
{
	struct memfd_inode *mi, *n;
	int ret = 0;

	list_for_each_entry_safe(mi, n, &memfd_inodes, list) {
		list_del(&mi->list);
		free(mi);
	}
	if (memfd_img && close_image(memfd_img))
		ret = -1;
	memfd_img = NULL;
	return ret;
}

/* ---- restore ---- */

#include <sys/mman.h>

#include "restore.h"

struct memfd_rst {
	struct list_head list;
	MemfdInodeEntry *ie;
	int fd;			/* the memfd itself, -1 until made */
};

static LIST_HEAD(memfd_rsts);

static int take_memfd_inode(void *msg, void *arg)
{
	struct memfd_rst *mr = xzalloc(sizeof(*mr));

	(void)arg;
	if (!mr) {
		pb_free(msg);
		return -1;
	}
	mr->ie = msg;
	mr->fd = -1;
	list_add_tail(&mr->list, &memfd_rsts);
	return 0;
}

static int read_memfd_inodes(void)
{
	return pb_read_all(CR_FD_MEMFD_INODE, O_RSTR | O_OPT, &memfd_inode_entry__descriptor,
			   take_memfd_inode, NULL);
}

static int create_memfd(struct memfd_rst *mr)
{
	MemfdInodeEntry *ie = mr->ie;
	void *p = NULL;
	int fd;

	fd = memfd_create(ie->name, MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot create memfd %s", ie->name);
		return -1;
	}
	if (ftruncate(fd, ie->size)) {
		pr_perror("cannot size memfd %s to %llu", ie->name, (unsigned long long)ie->size);
		goto err;
	}
	if (ie->size) {
		p = mmap(NULL, ie->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			pr_perror("cannot map memfd %s", ie->name);
			goto err;
		}
		if (fill_shmem(ie->shmid, p, ie->size)) {
			munmap(p, ie->size);
			goto err;
		}
		munmap(p, ie->size);
	}
	if (ie->has_mode && fchmod(fd, ie->mode & 07777)) {
		pr_perror("cannot set the mode of memfd %s to %#o", ie->name, ie->mode);
		goto err;
	}
	/* last: seals may forbid the writes and resizing above */
	if (ie->seals && fcntl(fd, F_ADD_SEALS, ie->seals)) {
		pr_perror("cannot seal memfd %s with %#x", ie->name, ie->seals);
		goto err;
	}
	mr->fd = move_to_svc(fd);
	return mr->fd < 0 ? -1 : 0;
err:
	close(fd);
	return -1;
}

static int open_memfd_anchor(FileEntry *fe, int *fd)
{
	MemfdFileEntry *me = fe->memfd;
	struct memfd_rst *mr;
	char path[64];

	if (!me) {
		pr_err("files.img: file %u of type MEMFD has no memfd entry\n", fe->id);
		return -1;
	}
	list_for_each_entry(mr, &memfd_rsts, list)
		if (mr->ie->inode_id == me->inode_id)
			goto found;
	pr_err("memfd.img: no inode %u for file %u\n", me->inode_id, fe->id);
	return -1;
found:
	if (mr->fd < 0 && create_memfd(mr))
		return -1;
	/* every description of the memfd is a reopening of the inode */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mr->fd);
	*fd = open(path, (me->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC);
	if (*fd < 0) {
		pr_perror("cannot reopen memfd %s", mr->ie->name);
		return -1;
	}
	if (me->pos && lseek(*fd, me->pos, SEEK_SET) < 0) {
		pr_perror("cannot seek memfd %s", mr->ie->name);
		close(*fd);
		return -1;
	}
	if (restore_fown(*fd, me->fown)) {
		close(*fd);
		return -1;
	}
	return 0;
}

static bool match_memfd(const struct fd_parms *p)
{
	return S_ISREG(p->st.st_mode) && is_memfd_link(p->link);
}

static int dump_memfd_fd(struct fd_parms *p, u32 id)
{
	return dump_memfd(p, id);
}

const struct fd_kind memfd_kind = {
	.name = "memfd",
	.type = FD_TYPES__MEMFD,
	.match = match_memfd,
	.dump = dump_memfd_fd,
	.dump_fini = memfd_dump_fini,
	.collect = read_memfd_inodes,
	.open = open_memfd_anchor,
};
