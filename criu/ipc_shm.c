// SPDX-License-Identifier: GPL-2.0
/*
 * SysV shared memory segments (see ipc_ns.c for the namespace around
 * them).  Dump: each segment's bytes through a read-only attach, into
 * ipcns-shm-ID.img; a task's mapping of one is a VMA_AREA_SYSVIPC VMA
 * whose shmid is the segment id (the inode number of its file).
 *
 * Restore: in a namespace of the tree's own, the root makes every segment
 * again; in criu's, criu makes the mapped ones again or finds them still
 * there unchanged.  A segment marked for removal (SHM_DEST) is attached by
 * whoever makes it and removed again at once: the tasks forked after that
 * inherit the attach, which keeps the segment until each task has attached
 * it where it was.  Each task attaches its segments into its premap slots.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "image.h"
#include "ipc_ns.h"
#include "ipc-shm.pb-c.h"

/* ---- dump ---- */

static int dump_one_shm(struct cr_img *img, int id)
{
	IpcShmEntry se = IPC_SHM_ENTRY__INIT;
	IpcDescEntry desc;
	struct shmid_ds ds;
	void *p;
	int ret;

	if (shmctl(id, IPC_STAT, &ds) < 0) {
		pr_perror("cannot stat SysV shared memory %d", id);
		return -1;
	}
	ipc_fill_desc(&desc, id, &ds.shm_perm);
	se.desc = &desc;
	se.size = ds.shm_segsz;
	p = shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		pr_perror("cannot attach SysV shared memory %d to read it", id);
		return -1;
	}
	pr_info("SysV shm %d: key %#x, %llu bytes, mode %#o\n", id, desc.key,
		(unsigned long long)se.size, desc.mode);
	ret = pb_write(img, &se) || img_write_raw(img, p, se.size) || ipc_write_pad(img, se.size, 4);
	shmdt(p);
	return ret ? -1 : 0;
}

static int dump_shm_ids(u32 ns_id, const int *ids, int nr)
{
	struct cr_img *img = open_image(CR_FD_IPCNS_SHM, O_DUMP, (unsigned long)ns_id);
	int i, ret = 0;

	if (!img)
		return -1;
	for (i = 0; i < nr && !ret; i++)
		ret = dump_one_shm(img, ids[i]);
	if (close_image(img))
		ret = -1;
	return ret;
}

/* Segments mapped by the tree, for a tree in criu's IPC namespace. */
static int *mapped_shm;
static int nr_mapped_shm;

int note_sysv_mapping(pid_t pid, int shmid)
{
	int i, *n;

	for (i = 0; i < nr_mapped_shm; i++)
		if (mapped_shm[i] == shmid)
			return 0;
	n = xrealloc(mapped_shm, (nr_mapped_shm + 1) * sizeof(*n));
	if (!n)
		return -1;
	mapped_shm = n;
	mapped_shm[nr_mapped_shm++] = shmid;
	pr_debug("pid %d maps SysV shm %d\n", pid, shmid);
	return 0;
}

int dump_ipc_shms(u32 ns_id)
{
	int *ids, nr, ret;

	if (ipc_list_ids("shm", &ids, &nr))
		return -1;
	ret = dump_shm_ids(ns_id, ids, nr);
	free(ids);
	return ret;
}

int dump_mapped_sysv_shm(u32 ns_id)
{
	if (!nr_mapped_shm)
		return 0;
	return dump_shm_ids(ns_id, mapped_shm, nr_mapped_shm);
}

/* ---- restore ---- */

struct rst_shm {
	IpcShmEntry *e;
	void *data;
	void *hold;	/* our own attach of an SHM_DEST segment */
	bool created;	/* by criu, in criu's namespace: removed on failure */
};

static struct rst_shm *rst_shms;
static int nr_rst_shms;

int read_ipc_shms(u32 ns_id)
{
	struct cr_img *img = open_image(CR_FD_IPCNS_SHM, O_RSTR | O_OPT, (unsigned long)ns_id);
	int r = 0;

	if (!img)
		return -1;
	while (!empty_image(img)) {
		struct rst_shm *n;
		IpcShmEntry *e;

		r = pb_read_one_eof(img, (void **)&e, &ipc_shm_entry__descriptor);
		if (r <= 0)
			break;
		n = ipc_grow(rst_shms, nr_rst_shms, sizeof(*n));
		if (!n) {
			r = -1;
			break;
		}
		rst_shms = n;
		memset(&n[nr_rst_shms], 0, sizeof(*n));
		n[nr_rst_shms].e = e;
		if (e->has_in_pagemaps && e->in_pagemaps) {
			pr_err("%s: segment %u: contents in pagemaps are not supported\n", img->name,
			       e->desc->id);
			r = -1;
			break;
		}
		n[nr_rst_shms].data = ipc_read_payload(img, e->size, 4);
		if (!n[nr_rst_shms++].data) {
			r = -1;
			break;
		}
	}
	close_image(img);
	return r < 0 ? -1 : 0;
}

static int rm_shm(int id)
{
	return shmctl(id, IPC_RMID, NULL);
}

static int private_shm(void)
{
	return shmget(IPC_PRIVATE, 1, 0600);
}

static int mk_shm(const void *arg)
{
	const IpcShmEntry *e = arg;

	return shmget((key_t)e->desc->key, e->size, IPC_CREAT | IPC_EXCL | (e->desc->mode & 0777));
}

static const struct ipc_kind shm_kind = { "shm", mk_shm, private_shm, rm_shm };

/* Create segment s, fill it, set its owner and flags. */
static int create_shm(struct rst_shm *s)
{
	IpcShmEntry *e = s->e;
	struct shmid_ds ds;
	void *p;
	int id;

	id = ipc_create(&shm_kind, e->desc, e);
	if (id < 0)
		return -1;
	s->created = true;
	p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		pr_perror("cannot attach SysV shm %d to fill it", id);
		return -1;
	}
	memcpy(p, s->data, e->size);
	if (e->desc->mode & SHM_DEST)
		s->hold = p;
	else
		shmdt(p);
	memset(&ds, 0, sizeof(ds));
	ipc_fill_perm(&ds.shm_perm, e->desc);
	if (shmctl(id, IPC_SET, &ds)) {
		pr_perror("cannot set the owner and mode of SysV shm %d", id);
		return -1;
	}
	if ((e->desc->mode & SHM_LOCKED) && shmctl(id, SHM_LOCK, NULL))
		pr_warn("SysV shm %d: cannot lock it again: %s\n", id, strerror(errno));
	if ((e->desc->mode & SHM_DEST) && shmctl(id, IPC_RMID, NULL)) {
		pr_perror("cannot mark SysV shm %d for removal", id);
		return -1;
	}
	pr_info("SysV shm %d: key %#x, %llu bytes restored\n", id, e->desc->key,
		(unsigned long long)e->size);
	return 0;
}

int restore_ipc_shms(void)
{
	int i;

	for (i = 0; i < nr_rst_shms; i++)
		if (create_shm(&rst_shms[i]))
			return -1;
	return 0;
}

/* ---- restore: a tree in criu's IPC namespace ---- */

/*
 * Is the segment still there, with the same key, size and bytes?  1 if
 * so (it is used as it is), 0 if its id is free, -1 if it differs.
 */
static int shm_still_there(struct rst_shm *s)
{
	IpcShmEntry *e = s->e;
	struct shmid_ds ds;
	void *p;
	int same;

	if (shmctl(e->desc->id, IPC_STAT, &ds) < 0) {
		if (errno == EINVAL || errno == EIDRM)
			return 0;
		pr_perror("cannot look at SysV shm %u", e->desc->id);
		return -1;
	}
	if ((u32)ds.shm_perm.__key != e->desc->key || ds.shm_segsz != e->size ||
	    (ds.shm_perm.mode & SHM_DEST)) {
		pr_err("SysV shm id %u is taken by another segment (key %#x, %zu bytes%s), "
		       "not the dumped one (key %#x, %llu bytes)\n", e->desc->id,
		       (u32)ds.shm_perm.__key, (size_t)ds.shm_segsz,
		       ds.shm_perm.mode & SHM_DEST ? ", being removed" : "", e->desc->key,
		       (unsigned long long)e->size);
		return -1;
	}
	p = shmat(e->desc->id, NULL, SHM_RDONLY);
	if (p == (void *)-1) {
		pr_perror("cannot attach SysV shm %u to compare it", e->desc->id);
		return -1;
	}
	same = !memcmp(p, s->data, e->size);
	shmdt(p);
	if (!same) {
		pr_err("SysV shm %u (key %#x) still exists but its contents changed since the "
		       "dump; refusing to attach the tree to it\n", e->desc->id, e->desc->key);
		return -1;
	}
	pr_info("SysV shm %u (key %#x) is still there, unchanged: using it\n", e->desc->id,
		e->desc->key);
	return 1;
}

int prepare_host_sysv_shm(u32 ns_id)
{
	int i, r;

	if (read_ipc_shms(ns_id))
		return -1;
	for (i = 0; i < nr_rst_shms; i++) {
		r = shm_still_there(&rst_shms[i]);
		if (r < 0 || (!r && create_shm(&rst_shms[i])))
			return -1;
	}
	return 0;
}

void ipc_restore_done(void)
{
	int i;

	for (i = 0; i < nr_rst_shms; i++)
		if (rst_shms[i].hold) {
			shmdt(rst_shms[i].hold);
			rst_shms[i].hold = NULL;
		}
}

void ipc_restore_failed(void)
{
	int i;

	/* while our attaches still keep the ids ours */
	for (i = 0; i < nr_rst_shms; i++)
		if (rst_shms[i].created && shmctl(rst_shms[i].e->desc->id, IPC_RMID, NULL))
			pr_perror("cannot remove SysV shm %u", rst_shms[i].e->desc->id);
	ipc_restore_done();
}

/* ---- restore: a task's mappings of segments ---- */

int premap_sysv_shm(pid_t vpid, int shmid, u64 pgoff, u64 len, bool rdonly, u64 slot)
{
	void *base, *p;

	/* as it was attached: a read-only attach may never become writable */
	base = shmat(shmid, NULL, rdonly ? SHM_RDONLY : 0);
	if (base == (void *)-1) {
		pr_perror("pid %d: cannot attach SysV shm %d", vpid, shmid);
		return -1;
	}
	/* a second mapping of the attach (old size 0) at the slot */
	p = mremap((char *)base + pgoff, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)slot);
	if (p != (void *)slot)
		pr_perror("pid %d: cannot move SysV shm %d to %llx", vpid, shmid,
			  (unsigned long long)slot);
	shmdt(base);
	return p == (void *)slot ? 0 : -1;
}
