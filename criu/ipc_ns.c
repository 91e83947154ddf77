// SPDX-License-Identifier: GPL-2.0
/*
 * SysV IPC: shared memory segments, semaphore sets and message queues.
 *
 * A tree with its own IPC namespace has the whole namespace dumped from a
 * helper child that joined it: its sysctls (ipcns-var), every segment with
 * its bytes (ipcns-shm), every set with its values (ipcns-sem) and every
 * queue with its messages, copied with MSG_COPY so nothing is consumed
 * (ipcns-msg).  The root recreates them in its new namespace before any
 * other task exists, each with its old id (the *_next_id sysctls).
 *
 * A tree in criu's IPC namespace gets only the segments it maps dumped
 * (ipc_shm.c, which also handles the segments of a namespace of its own).
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "image.h"
#include "ipc_ns.h"
#include "ipc-msg.pb-c.h"
#include "ipc-sem.pb-c.h"
#include "ipc-shm.pb-c.h"
#include "ipc-var.pb-c.h"
#include "namespaces.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

/* what msgsnd and msgrcv take */
struct msg_buf {
	long mtype;
	char text[];
};

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

size_t ipc_pad(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

int ipc_write_pad(struct cr_img *img, size_t len, size_t align)
{
	static const char zeros[8];

	return img_write_raw(img, zeros, ipc_pad(len, align) - len);
}

/* ids as the tree's user namespace sees them; only for its own IPC namespace */
static bool translate_ids;

void ipc_fill_desc(IpcDescEntry *d, int id, const struct ipc_perm *p)
{
	ipc_desc_entry__init(d);
	d->key = (u32)p->__key;
	d->uid = translate_ids ? tree_uid(p->uid) : p->uid;
	d->gid = translate_ids ? tree_gid(p->gid) : p->gid;
	d->cuid = translate_ids ? tree_uid(p->cuid) : p->cuid;
	d->cgid = translate_ids ? tree_gid(p->cgid) : p->cgid;
	d->mode = p->mode;
	d->id = id;
}

/* ---- dump ---- */

/* Every id listed in /proc/sysvipc/KIND (key first, id second). */
int ipc_list_ids(const char *kind, int **ids, int *nr)
{
	char path[64], *buf, *line, *save;
	int n = 0, *v = NULL;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind);
	if (read_file(path, &buf) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	line = strtok_r(buf, "\n", &save);	/* the header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		int key, id, *nv;

		if (sscanf(line, "%d %d", &key, &id) != 2)
			continue;
		nv = xrealloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			free(buf);
			return -1;
		}
		v = nv;
		v[n++] = id;
	}
	free(buf);
	*ids = v;
	*nr = n;
	return 0;
}

static int dump_one_sem(struct cr_img *img, int id)
{
	IpcSemEntry se = IPC_SEM_ENTRY__INIT;
	IpcDescEntry desc;
	struct semid_ds ds;
	union semun arg = { .buf = &ds };
	unsigned short *vals;
	int ret = -1;

	if (semctl(id, 0, IPC_STAT, arg) < 0) {
		pr_perror("cannot stat SysV semaphore set %d", id);
		return -1;
	}
	ipc_fill_desc(&desc, id, &ds.sem_perm);
	se.desc = &desc;
	se.nsems = ds.sem_nsems;
	vals = xzalloc(ipc_pad(se.nsems * sizeof(*vals), 8) + 8);
	if (!vals)
		return -1;
	arg.array = vals;
	if (semctl(id, 0, GETALL, arg) < 0) {
		pr_perror("cannot read the values of SysV semaphore set %d", id);
		goto out;
	}
	pr_info("SysV sem %d: key %#x, %u semaphores, mode %#o\n", id, desc.key, se.nsems,
		desc.mode);
	if (!pb_write(img, &se) && !img_write_raw(img, vals, ipc_pad(se.nsems * sizeof(*vals), 8)))
		ret = 0;
out:
	free(vals);
	return ret;
}

static int dump_msgs(struct cr_img *img, int id, const struct msqid_ds *ds)
{
	/* no message is longer than all of them (qbytes may have shrunk since) */
	size_t cap = ds->__msg_cbytes + sizeof(long) + 1;
	struct msg_buf *m = xmalloc(cap);
	unsigned long i;
	int ret = -1;

	if (!m)
		return -1;
	for (i = 0; i < ds->msg_qnum; i++) {
		IpcMsg im = IPC_MSG__INIT;
		ssize_t n = msgrcv(id, m, cap - sizeof(long), i, IPC_NOWAIT | MSG_COPY);

		if (n < 0) {
			pr_perror("cannot copy message %lu of SysV queue %d", i, id);
			goto out;
		}
		im.mtype = m->mtype;
		im.msize = n;
		if (pb_write(img, &im) || img_write_raw(img, m->text, n) || ipc_write_pad(img, n, 8))
			goto out;
	}
	ret = 0;
out:
	free(m);
	return ret;
}

static int dump_one_msg(struct cr_img *img, int id)
{
	IpcMsgEntry me = IPC_MSG_ENTRY__INIT;
	IpcDescEntry desc;
	struct msqid_ds ds;

	if (msgctl(id, IPC_STAT, &ds) < 0) {
		pr_perror("cannot stat SysV message queue %d", id);
		return -1;
	}
	ipc_fill_desc(&desc, id, &ds.msg_perm);
	me.desc = &desc;
	me.qbytes = ds.msg_qbytes;
	me.qnum = ds.msg_qnum;
	pr_info("SysV msg %d: key %#x, %u messages, mode %#o\n", id, desc.key, me.qnum,
		desc.mode);
	if (pb_write(img, &me))
		return -1;
	return dump_msgs(img, id, &ds);
}

static int dump_all_of(const char *kind, int type, u32 ns_id,
		       int (*one)(struct cr_img *img, int id))
{
	struct cr_img *img;
	int *ids, nr, i, ret = 0;

	if (ipc_list_ids(kind, &ids, &nr))
		return -1;
	img = open_image(type, O_DUMP, (unsigned long)ns_id);
	if (!img) {
		free(ids);
		return -1;
	}
	for (i = 0; i < nr && !ret; i++)
		ret = one(img, ids[i]);
	if (close_image(img))
		ret = -1;
	free(ids);
	return ret;
}

struct ipc_sysctl {
	const char *path;
	size_t off;	/* of the field in IpcVarEntry */
	bool wide;	/* uint64_t */
	size_t has;	/* of the has_ flag, or 0 */
};

#define VAR(f) offsetof(IpcVarEntry, f)
static const struct ipc_sysctl ipc_sysctls[] = {
	{ "kernel/msgmax", VAR(msg_ctlmax), false, 0 },
	{ "kernel/msgmnb", VAR(msg_ctlmnb), false, 0 },
	{ "kernel/msgmni", VAR(msg_ctlmni), false, 0 },
	{ "kernel/auto_msgmni", VAR(auto_msgmni), false, 0 },
	{ "kernel/shmmax", VAR(shm_ctlmax), true, 0 },
	{ "kernel/shmall", VAR(shm_ctlall), true, 0 },
	{ "kernel/shmmni", VAR(shm_ctlmni), false, 0 },
	{ "kernel/shm_rmid_forced", VAR(shm_rmid_forced), false, 0 },
	{ "fs/mqueue/queues_max", VAR(mq_queues_max), false, 0 },
	{ "fs/mqueue/msg_max", VAR(mq_msg_max), false, 0 },
	{ "fs/mqueue/msgsize_max", VAR(mq_msgsize_max), false, 0 },
	{ "fs/mqueue/msg_default", VAR(mq_msg_default), false, VAR(has_mq_msg_default) },
	{ "fs/mqueue/msgsize_default", VAR(mq_msgsize_default), false,
	  VAR(has_mq_msgsize_default) },
	/* last: set only once every object has its id */
	{ "kernel/msg_next_id", VAR(msg_next_id), false, VAR(has_msg_next_id) },
	{ "kernel/sem_next_id", VAR(sem_next_id), false, VAR(has_sem_next_id) },
	{ "kernel/shm_next_id", VAR(shm_next_id), false, VAR(has_shm_next_id) },
};
#undef VAR
#define NR_NEXT_IDS 3

/* shmmax and shmall may not fit a long long */
static int read_u64_file(const char *path, unsigned long long *v)
{
	char *buf, *end;
	int ret = -1;

	if (read_file(path, &buf) < 0)
		return -1;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (!errno && end != buf)
		ret = 0;
	else
		errno = errno ?: EINVAL;
	free(buf);
	return ret;
}

static int dump_ipc_var(u32 ns_id)
{
	IpcVarEntry ve = IPC_VAR_ENTRY__INIT;
	u32 sem[4];
	char *buf;
	size_t i;
	int ret;

	if (read_file("/proc/sys/kernel/sem", &buf) < 0) {
		pr_perror("cannot read /proc/sys/kernel/sem");
		return -1;
	}
	ret = sscanf(buf, "%u %u %u %u", &sem[0], &sem[1], &sem[2], &sem[3]);
	free(buf);
	if (ret != 4) {
		pr_err("cannot parse /proc/sys/kernel/sem\n");
		return -1;
	}
	ve.n_sem_ctls = 4;
	ve.sem_ctls = sem;
	for (i = 0; i < ARRAY_SIZE(ipc_sysctls); i++) {
		const struct ipc_sysctl *s = &ipc_sysctls[i];
		char path[64];
		unsigned long long v;

		snprintf(path, sizeof(path), "/proc/sys/%s", s->path);
		if (read_u64_file(path, &v)) {
			pr_perror("cannot read %s", path);
			return -1;
		}
		if (s->wide)
			*(u64 *)((char *)&ve + s->off) = v;
		else
			*(u32 *)((char *)&ve + s->off) = (u32)v;
		if (s->has)
			*(protobuf_c_boolean *)((char *)&ve + s->has) = true;
	}
	return pb_write_image(CR_FD_IPC_VAR, &ve.base, ns_id);
}

static u32 dump_ns_id;

/* In the helper, inside the namespace. */
static int ipc_ns_answer(int out)
{
	int ret = 0;

	if (dump_ipc_var(dump_ns_id))
		return -1;
	if (dump_ipc_shms(dump_ns_id) || dump_all_of("sem", CR_FD_IPCNS_SEM, dump_ns_id, dump_one_sem) ||
	    dump_all_of("msg", CR_FD_IPCNS_MSG, dump_ns_id, dump_one_msg))
		return -1;
	return write_all(out, &ret, sizeof(ret)) == sizeof(ret) ? 0 : -1;
}

int dump_ipc_ns(pid_t pid, u32 ns_id)
{
	int ok;

	dump_ns_id = ns_id;
	translate_ids = true;
	if (ask_in_ns(pid, "ipc", CLONE_NEWIPC, ipc_ns_answer, &ok, sizeof(ok)) != sizeof(ok))
		return -1;
	pr_info("IPC namespace %u of pid %d dumped\n", ns_id, pid);
	return 0;
}

/* ---- restore ---- */

struct rst_sem {
	IpcSemEntry *e;
	unsigned short *vals;
};

struct rst_msg {
	IpcMsgEntry *e;
	IpcMsg **msgs;
	void **texts;
};

static IpcVarEntry *rst_var;
static struct rst_sem *rst_sems;
static struct rst_msg *rst_msgs;
static int nr_rst_sems, nr_rst_msgs;

/* Raw bytes of len after an entry, and the padding to align. */
void *ipc_read_payload(struct cr_img *img, size_t len, size_t align)
{
	size_t full = ipc_pad(len, align);
	void *p = xmalloc(full + 1);

	if (p && img_read_raw(img, p, full)) {
		free(p);
		return NULL;
	}
	return p;
}

void *ipc_grow(void *arr, int n, size_t sz)
{
	return xrealloc(arr, (n + 1) * sz);
}

static int read_sem_image(u32 ns_id)
{
	struct cr_img *img = open_image(CR_FD_IPCNS_SEM, O_RSTR | O_OPT, (unsigned long)ns_id);
	int r = 0;

	if (!img)
		return -1;
	while (!empty_image(img)) {
		struct rst_sem *n;
		IpcSemEntry *e;

		r = pb_read_one_eof(img, (void **)&e, &ipc_sem_entry__descriptor);
		if (r <= 0)
			break;
		n = ipc_grow(rst_sems, nr_rst_sems, sizeof(*n));
		if (!n) {
			r = -1;
			break;
		}
		rst_sems = n;
		n[nr_rst_sems].e = e;
		n[nr_rst_sems].vals = ipc_read_payload(img, e->nsems * sizeof(unsigned short), 8);
		if (!n[nr_rst_sems++].vals) {
			r = -1;
			break;
		}
	}
	close_image(img);
	return r < 0 ? -1 : 0;
}

static int read_queue(struct cr_img *img, struct rst_msg *q)
{
	u32 i;

	q->msgs = xzalloc(sizeof(*q->msgs) * (q->e->qnum + 1));
	q->texts = xzalloc(sizeof(*q->texts) * (q->e->qnum + 1));
	if (!q->msgs || !q->texts)
		return -1;
	for (i = 0; i < q->e->qnum; i++) {
		if (pb_read_one(img, (void **)&q->msgs[i], &ipc_msg__descriptor) < 0)
			return -1;
		q->texts[i] = ipc_read_payload(img, q->msgs[i]->msize, 8);
		if (!q->texts[i])
			return -1;
	}
	return 0;
}

static int read_msg_image(u32 ns_id)
{
	struct cr_img *img = open_image(CR_FD_IPCNS_MSG, O_RSTR | O_OPT, (unsigned long)ns_id);
	int r = 0;

	if (!img)
		return -1;
	while (!empty_image(img)) {
		struct rst_msg *n;
		IpcMsgEntry *e;

		r = pb_read_one_eof(img, (void **)&e, &ipc_msg_entry__descriptor);
		if (r <= 0)
			break;
		n = ipc_grow(rst_msgs, nr_rst_msgs, sizeof(*n));
		if (!n) {
			r = -1;
			break;
		}
		rst_msgs = n;
		memset(&n[nr_rst_msgs], 0, sizeof(*n));
		n[nr_rst_msgs].e = e;
		if (read_queue(img, &n[nr_rst_msgs++])) {
			r = -1;
			break;
		}
	}
	close_image(img);
	return r < 0 ? -1 : 0;
}

int prepare_ipc_ns(u32 ns_id)
{
	if (pb_read_image(CR_FD_IPC_VAR, O_RSTR | O_OPT, (void **)&rst_var,
			  &ipc_var_entry__descriptor, ns_id) < 0)
		return -1;
	if (rst_var && rst_var->n_sem_ctls != 4) {
		pr_err("ipcns-var-%u.img: %zu semaphore limits, not 4\n", ns_id,
		       rst_var->n_sem_ctls);
		return -1;
	}
	if (read_ipc_shms(ns_id) || read_sem_image(ns_id) || read_msg_image(ns_id))
		return -1;
	pr_info("IPC namespace %u: %d semaphore sets, %d queues\n", ns_id, nr_rst_sems,
		nr_rst_msgs);
	return 0;
}

/* ---- restore: creating objects with their old ids ---- */

static int rm_sem(int id)
{
	return semctl(id, 0, IPC_RMID);
}

static int rm_msg(int id)
{
	return msgctl(id, IPC_RMID, NULL);
}

static int private_sem(void)
{
	return semget(IPC_PRIVATE, 1, 0600);
}

static int private_msg(void)
{
	return msgget(IPC_PRIVATE, 0600);
}

static int set_next_id(const struct ipc_kind *k, u32 id)
{
	char path[64], buf[32];
	int n = snprintf(buf, sizeof(buf), "%u", id);

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s_next_id", k->name);
	if (write_file(path, buf, n)) {
		pr_perror("cannot write %u to %s", id, path);
		return -1;
	}
	return 0;
}

/*
 * Create the object with its old id: the kernel takes the wanted id from
 * KIND_next_id at the next creation (and forgets it then, so a failed one
 * must be followed by a throwaway one).  Use the creator's effective ids
 * when we may take them, so that cuid and cgid come back (IPC_SET cannot
 * change them).
 */
int ipc_create(const struct ipc_kind *k, const IpcDescEntry *d, const void *arg)
{
	uid_t euid = geteuid();
	gid_t egid = getegid();
	bool as_creator = false;
	int id, err;

	if (set_next_id(k, d->id))
		return -1;
	if (d->cuid != euid || d->cgid != egid) {
		as_creator = !setegid(d->cgid) && !seteuid(d->cuid);
		if (!as_creator) {
			setegid(egid);
			pr_warn("SysV %s %u: cannot create it as %u:%u, its creator\n", k->name,
				d->id, d->cuid, d->cgid);
		}
	}
	id = k->mk(arg);
	err = errno;
	if (as_creator && (seteuid(euid) || setegid(egid))) {
		pr_perror("cannot take back uid %u gid %u", euid, egid);
		return -1;
	}
	if (id < 0) {
		int tmp = k->private();

		if (tmp >= 0)
			k->rm(tmp);
		errno = err;
		pr_perror("cannot create SysV %s %u (key %#x)", k->name, d->id, d->key);
		return -1;
	}
	if ((u32)id != d->id) {
		pr_err("SysV %s %u came back as %d: its slot is taken\n", k->name, d->id, id);
		k->rm(id);
		return -1;
	}
	return id;
}

void ipc_fill_perm(struct ipc_perm *p, const IpcDescEntry *d)
{
	p->uid = d->uid;
	p->gid = d->gid;
	p->mode = d->mode & 0777;
}

static int mk_sem(const void *arg)
{
	const IpcSemEntry *e = arg;

	return semget((key_t)e->desc->key, e->nsems, IPC_CREAT | IPC_EXCL | (e->desc->mode & 0777));
}

static const struct ipc_kind sem_kind = { "sem", mk_sem, private_sem, rm_sem };

static int create_sem(struct rst_sem *s)
{
	IpcSemEntry *e = s->e;
	struct semid_ds ds;
	union semun arg;
	int id;

	id = ipc_create(&sem_kind, e->desc, e);
	if (id < 0)
		return -1;
	arg.array = s->vals;
	if (semctl(id, 0, SETALL, arg)) {
		pr_perror("cannot set the values of SysV semaphore set %d", id);
		return -1;
	}
	memset(&ds, 0, sizeof(ds));
	ipc_fill_perm(&ds.sem_perm, e->desc);
	arg.buf = &ds;
	if (semctl(id, 0, IPC_SET, arg)) {
		pr_perror("cannot set the owner and mode of SysV semaphore set %d", id);
		return -1;
	}
	pr_info("SysV sem %d: key %#x, %u semaphores restored\n", id, e->desc->key, e->nsems);
	return 0;
}

static int mk_msg(const void *arg)
{
	const IpcMsgEntry *e = arg;

	return msgget((key_t)e->desc->key, IPC_CREAT | IPC_EXCL | (e->desc->mode & 0777));
}

static const struct ipc_kind msg_kind = { "msg", mk_msg, private_msg, rm_msg };

static int send_msgs(int id, struct rst_msg *q)
{
	u32 i;

	for (i = 0; i < q->e->qnum; i++) {
		u32 len = q->msgs[i]->msize;
		struct msg_buf *m = xmalloc(sizeof(*m) + len + 1);
		int r;

		if (!m)
			return -1;
		m->mtype = q->msgs[i]->mtype;
		memcpy(m->text, q->texts[i], len);
		r = msgsnd(id, m, len, IPC_NOWAIT);
		free(m);
		if (r) {
			pr_perror("cannot send message %u (%u bytes) to SysV queue %d", i, len, id);
			return -1;
		}
	}
	return 0;
}

static int write_msgmnb(u32 v)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", v);

	if (write_file("/proc/sys/kernel/msgmnb", buf, n)) {
		pr_perror("cannot write %u to /proc/sys/kernel/msgmnb", v);
		return -1;
	}
	return 0;
}

/*
 * IPC_SET with qbytes, owner and mode.  A qbytes above msgmnb needs
 * CAP_SYS_RESOURCE in the initial user namespace, or, in a namespace of
 * our own, msgmnb raised for the moment.
 */
static int set_qbytes(int id, struct msqid_ds *ds, u32 qbytes)
{
	bool raise = rst_var && qbytes > rst_var->msg_ctlmnb;
	int ret;

	ds->msg_qbytes = qbytes;
	if (raise)
		pr_debug("SysV msg %d: msgmnb raised to %u for a moment\n", id, qbytes);
	if (raise && write_msgmnb(qbytes))
		return -1;
	ret = msgctl(id, IPC_SET, ds);
	if (ret)
		pr_perror("cannot set SysV queue %d to %u bytes, owner %u:%u, mode %#o", id, qbytes,
			  ds->msg_perm.uid, ds->msg_perm.gid, ds->msg_perm.mode);
	if (raise && write_msgmnb(rst_var->msg_ctlmnb))
		return -1;
	return ret ? -1 : 0;
}

static int create_msg(struct rst_msg *q)
{
	IpcMsgEntry *e = q->e;
	struct msqid_ds ds;
	int id;

	id = ipc_create(&msg_kind, e->desc, e);
	if (id < 0 || msgctl(id, IPC_STAT, &ds))
		return -1;
	/* a queue made larger than msgmnb: make room before sending */
	if (e->qbytes > ds.msg_qbytes && set_qbytes(id, &ds, e->qbytes))
		return -1;
	if (send_msgs(id, q))
		return -1;
	ipc_fill_perm(&ds.msg_perm, e->desc);
	if (set_qbytes(id, &ds, e->qbytes))
		return -1;
	pr_info("SysV msg %d: key %#x, %u messages restored\n", id, e->desc->key, e->qnum);
	return 0;
}

static int restore_ipc_var(bool next_ids)
{
	size_t i, first = next_ids ? ARRAY_SIZE(ipc_sysctls) - NR_NEXT_IDS : 0;
	size_t last = next_ids ? ARRAY_SIZE(ipc_sysctls) : ARRAY_SIZE(ipc_sysctls) - NR_NEXT_IDS;
	char buf[64];
	int n;

	if (!next_ids) {
		n = snprintf(buf, sizeof(buf), "%u %u %u %u", rst_var->sem_ctls[0],
			     rst_var->sem_ctls[1], rst_var->sem_ctls[2], rst_var->sem_ctls[3]);
		if (write_file("/proc/sys/kernel/sem", buf, n)) {
			pr_perror("cannot write %s to /proc/sys/kernel/sem", buf);
			return -1;
		}
	}
	for (i = first; i < last; i++) {
		const struct ipc_sysctl *s = &ipc_sysctls[i];
		char path[64];
		u64 v;

		if (s->has && !*(protobuf_c_boolean *)((char *)rst_var + s->has))
			continue;
		v = s->wide ? *(u64 *)((char *)rst_var + s->off) : *(u32 *)((char *)rst_var + s->off);
		snprintf(path, sizeof(path), "/proc/sys/%s", s->path);
		/* a next id of -1 ("none", stored as a u32) is what we leave; it cannot be written */
		if (i >= ARRAY_SIZE(ipc_sysctls) - NR_NEXT_IDS && (int)v < 0)
			continue;
		n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
		if (write_file(path, buf, n)) {
			pr_perror("cannot write %s to %s", buf, path);
			return -1;
		}
	}
	return 0;
}

int restore_ipc_ns(void)
{
	int i;

	if (rst_var && restore_ipc_var(false))
		return -1;
	if (restore_ipc_shms())
		return -1;
	for (i = 0; i < nr_rst_sems; i++)
		if (create_sem(&rst_sems[i]))
			return -1;
	for (i = 0; i < nr_rst_msgs; i++)
		if (create_msg(&rst_msgs[i]))
			return -1;
	if (rst_var && restore_ipc_var(true))
		return -1;
	pr_info("IPC namespace restored\n");
	return 0;
}
