// SPDX-License-Identifier: GPL-2.0
/*
 * File locks (--file-locks): flock, POSIX (fcntl F_SETLK) and OFD
 * (F_OFD_SETLK) locks, one file_lock_entry each in filelocks.img.
 *
 * Dump: /proc/PID/fdinfo/N shows, as "lock:" lines, the locks set
 * through that fd's open file description and owned by it (flock, OFD)
 * or by the task's descriptor table (POSIX).  So every fd of a
 * description repeats its flock and OFD locks, and every fd of a task on
 * that description repeats the task's POSIX locks: duplicates are
 * dropped.  Waiters ("->" lines, /proc/locks only) hold nothing.
 *
 * Restore: flock and OFD locks belong to the description and survive
 * any close but the last, so the task takes them on its own fd of it as
 * soon as its fds are in place (the holder's pid then shows in
 * /proc/locks as before).  A POSIX lock belongs to the process and any
 * close of the file in it drops it, so the restorer takes POSIX locks
 * after it has closed criu's descriptors, just before rt_sigreturn.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cr_options.h"
#include "file-lock.pb-c.h"
#include "file-lock.h"
#include "restore.h"
#include "util.h"
#include "vma.h"

struct held_lock {
	struct list_head list;
	FileLockEntry e;
	u32 id;			/* the description it was seen on */
	u64 dev, ino;
	/* as the lock line showed it, to find it again in /proc/locks */
	pid_t kpid;
	unsigned int maj, min;
	u64 kino;
	bool claimed;		/* its /proc/locks line was found */
};

static LIST_HEAD(held_locks);

/* A file VMA of the tree: a lock on its inode may be held through it. */
struct mapped_file {
	struct list_head list;
	struct pstree_item *it;
	u64 dev, ino, start;
	u32 id;
	int uses;		/* locks put on it */
	char *name;
};

static LIST_HEAD(mapped_files);

/* One "lock:" line of fdinfo (or a line of /proc/locks). */
struct lock_line {
	bool waiter;		/* "->": blocked, waiting for the lock */
	bool parsed;		/* pid and inode below are known */
	char kind[16];		/* POSIX, FLOCK, OFDLCK, LEASE, DELEG, ... */
	char type[16];		/* READ, WRITE */
	pid_t pid;		/* in criu's pid namespace; -1 for OFD, 0 unknown */
	unsigned int maj, min;
	unsigned long long ino;
	long long start;
	char end[24];		/* last byte, or EOF */
};

static int parse_lock_line(const char *s, struct lock_line *l)
{
	char mode[16];

	memset(l, 0, sizeof(*l));
	/* "N: " then, for a waiter, "-> " */
	s = strchr(s, ':');
	if (!s)
		return -1;
	s += strspn(s + 1, " \t") + 1;
	if (!strncmp(s, "->", 2)) {
		l->waiter = true;
		s += 2;
	}
	if (sscanf(s, "%15s", l->kind) != 1)
		return -1;
	/* leases have the same columns: mode is ACTIVE, BREAKING, ... */
	l->parsed = sscanf(s, "%*s %15s %15s %d %x:%x:%llu %lld %23s", mode, l->type, &l->pid,
			   &l->maj, &l->min, &l->ino, &l->start, l->end) == 8;
	if (strcmp(l->kind, "POSIX") && strcmp(l->kind, "FLOCK") && strcmp(l->kind, "OFDLCK"))
		return 0;	/* leases and the like: refused by the caller */
	return l->parsed ? 0 : -1;
}

static int lock_flag(const char *kind)
{
	if (!strcmp(kind, "POSIX"))
		return FL_POSIX;
	if (!strcmp(kind, "FLOCK"))
		return FL_FLOCK;
	if (!strcmp(kind, "OFDLCK"))
		return FL_OFD;
	return 0;
}

static int lock_type(const char *type)
{
	if (!strcmp(type, "READ"))
		return F_RDLCK;
	if (!strcmp(type, "WRITE"))
		return F_WRLCK;
	return -1;
}

static bool same_lock(const struct held_lock *h, const FileLockEntry *e, u32 id,
		      const struct stat *st)
{
	if (h->e.flag != e->flag || h->e.type != e->type || h->e.start != e->start ||
	    h->e.len != e->len)
		return false;
	/* a POSIX lock is the process's, the others the description's */
	if (e->flag == FL_POSIX)
		return h->e.pid == e->pid && h->dev == st->st_dev && h->ino == st->st_ino;
	return h->id == id;
}

/* The entry for l; false if its type or range is one we cannot take. */
static bool lock_entry(const struct lock_line *l, FileLockEntry *e)
{
	file_lock_entry__init(e);
	e->flag = lock_flag(l->kind);
	e->type = lock_type(l->type);
	e->start = l->start;
	e->len = strcmp(l->end, "EOF") ? atoll(l->end) - l->start + 1 : 0;
	return (int)e->type >= 0 && e->start >= 0 && e->len >= 0;
}

static struct held_lock *remember_lock(const FileLockEntry *e, u32 id, const struct lock_line *l)
{
	struct held_lock *h = xzalloc(sizeof(*h));

	if (!h)
		return NULL;
	h->e = *e;
	h->id = id;
	h->kpid = l->pid;
	h->maj = l->maj;
	h->min = l->min;
	h->kino = l->ino;
	list_add_tail(&h->list, &held_locks);
	return h;
}

static int note_lock(const struct fd_parms *p, pid_t vpid, u32 id, const struct lock_line *l)
{
	FileLockEntry e;
	struct held_lock *h;

	if (!lock_entry(l, &e)) {
		pr_err("unsupported: pid %d fd %d (%s) holds a %s lock of type %s on %lld-%s\n",
		       p->pid, p->fd, p->link, l->kind, l->type, l->start, l->end);
		return -1;
	}
	e.pid = vpid;
	e.fd = p->fd;
	list_for_each_entry(h, &held_locks, list)
		if (same_lock(h, &e, id, &p->st))
			return 0;
	h = remember_lock(&e, id, l);
	if (!h)
		return -1;
	h->dev = p->st.st_dev;
	h->ino = p->st.st_ino;
	pr_info("pid %d fd %d (%s): %s %s lock on %lld-%s, file id %u\n", p->pid, p->fd, p->link,
		l->kind, l->type, l->start, l->end, id);
	return 0;
}

int dump_fd_locks(const struct fd_parms *p, pid_t vpid, u32 id)
{
	const char *s = p->fdinfo;
	struct lock_line l;

	for (; s && (s = strstr(s, "lock:")); s += 5) {
		if (s != p->fdinfo && s[-1] != '\n')
			continue;
		if (parse_lock_line(s + 5, &l)) {
			pr_err("pid %d fd %d: cannot parse the lock line '%.*s' of its fdinfo\n",
			       p->pid, p->fd, (int)strcspn(s, "\n"), s);
			return -1;
		}
		if (l.waiter)
			continue;
		if (!lock_flag(l.kind)) {
			pr_err("unsupported: pid %d fd %d (%s) holds a %s\n", p->pid, p->fd,
			       p->link, !strcmp(l.kind, "LEASE") ? "lease" : l.kind);
			return -1;
		}
		if (!opts.file_locks) {
			pr_err("unsupported: pid %d fd %d (%s) holds a file lock (%s %s %lld-%s); "
			       "dump it with --file-locks\n",
			       p->pid, p->fd, p->link, l.kind, l.type, l.start, l.end);
			return -1;
		}
		if (note_lock(p, vpid, id, &l))
			return -1;
	}
	return 0;
}

/* ---- locks held through a mapping, found in /proc/locks ---- */

int note_mapped_file(struct pstree_item *it, const struct vma_area *v, u32 id)
{
	struct list_head *pos;
	struct mapped_file *m;

	/* tasks are dumped one by one: this task's entries are the last ones */
	for (pos = mapped_files.prev; pos != &mapped_files; pos = pos->prev) {
		m = list_entry(pos, struct mapped_file, list);
		if (m->it != it)
			break;
		if (m->id == id && m->dev == v->dev && m->ino == v->ino)
			return 0;
	}
	m = xzalloc(sizeof(*m));
	if (!m)
		return -1;
	m->name = xstrdup(v->name ? v->name : "a file");
	if (!m->name) {
		free(m);
		return -1;
	}
	m->it = it;
	m->dev = v->dev;
	m->ino = v->ino;
	m->start = v->e.start;
	m->id = id;
	list_add_tail(&m->list, &mapped_files);
	return 0;
}

static bool same_inode(u64 dev, u64 ino, const struct lock_line *l)
{
	return ino == l->ino && major(dev) == l->maj && minor(dev) == l->min;
}

/* The lock of fdinfo that this /proc/locks line shows, marked as found. */
static bool claim_fd_lock(const struct lock_line *l, const FileLockEntry *e)
{
	struct held_lock *h;

	list_for_each_entry(h, &held_locks, list) {
		if (h->claimed || h->kpid != l->pid || h->maj != l->maj || h->min != l->min ||
		    h->kino != l->ino || h->e.flag != e->flag || h->e.type != e->type ||
		    h->e.start != e->start || h->e.len != e->len)
			continue;
		h->claimed = true;
		return true;
	}
	return false;
}

/*
 * The tree's mapping the lock is held through: one of the locker's own
 * if it has one, else another task's (the mapping may have been
 * inherited); among those, one no other lock was put on yet.
 */
static struct mapped_file *lock_mapping(const struct pstree_item *it, const struct lock_line *l)
{
	struct mapped_file *m, *best = NULL;
	int score, best_score = -1;

	list_for_each_entry(m, &mapped_files, list) {
		if (!same_inode(m->dev, m->ino, l))
			continue;
		score = (m->it == it) * 2 + !m->uses;
		if (score > best_score) {
			best = m;
			best_score = score;
		}
	}
	return best;
}

static bool tree_has_open(const struct lock_line *l)
{
	struct dumped_file *d;

	list_for_each_entry(d, &dumped_files, list)
		if (same_inode(d->dev, d->ino, l))
			return true;
	return false;
}

static int dump_mapping_lock(struct mapped_file *m, const struct lock_line *l, FileLockEntry *e)
{
	pid_t pid = m->it->pid;
	struct held_lock *h;

	if (!lock_flag(l->kind) || e->flag == FL_POSIX) {
		pr_err("unsupported: pid %d maps %s at %llx and holds a %s on it that no fd "
		       "of the tree reaches\n", pid, m->name, (unsigned long long)m->start,
		       !strcmp(l->kind, "LEASE") ? "lease" : l->kind);
		return -1;
	}
	if ((int)e->type < 0 || e->start < 0 || e->len < 0) {
		pr_err("unsupported: pid %d maps %s at %llx and holds a %s lock of type %s on "
		       "%lld-%s through it\n", pid, m->name, (unsigned long long)m->start,
		       l->kind, l->type, l->start, l->end);
		return -1;
	}
	if (!opts.file_locks) {
		pr_err("unsupported: pid %d maps %s at %llx and holds a file lock on it through "
		       "that mapping, no fd (%s %s %lld-%s); dump it with --file-locks\n", pid,
		       m->name, (unsigned long long)m->start, l->kind, l->type, l->start, l->end);
		return -1;
	}
	e->pid = m->it->vpid;
	e->fd = -1;
	e->has_map_start = true;
	e->map_start = m->start;
	h = remember_lock(e, m->id, l);
	if (!h)
		return -1;
	h->claimed = true;
	m->uses++;
	/* the pid /proc/locks shows: -1 for OFD, else who took it (maybe gone) */
	pr_info("pid %d: %s %s lock on %lld-%s of %s, held through its mapping at %llx "
		"(file id %u; /proc/locks pid %d)\n", pid, l->kind, l->type, l->start, l->end,
		m->name, (unsigned long long)m->start, m->id, l->pid);
	return 0;
}

static bool is_desc_lock(const char *kind)
{
	return lock_flag(kind) == FL_FLOCK || lock_flag(kind) == FL_OFD;
}

/* The holder pid names a live process (outside the tree, then). */
static bool holder_alive(pid_t pid)
{
	char path[32];

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/* One line of /proc/locks: a lock of the tree that no fdinfo showed? */
static int check_proc_lock(const char *line)
{
	struct pstree_item *it = NULL;
	struct mapped_file *m;
	struct lock_line l;
	FileLockEntry e;

	if (parse_lock_line(line, &l) || !l.parsed) {
		pr_debug("/proc/locks: '%s' not understood, skipped\n", line);
		return 0;
	}
	if (l.waiter)
		return 0;
	if (l.pid > 0)
		it = pstree_find(l.pid);
	/*
	 * A description's lock (flock, OFD) may be the tree's without a pid
	 * of the tree: OFD locks show none, a flock the pid of whoever took
	 * it, which may have handed the mapping down and exited.
	 */
	if (!it && (!is_desc_lock(l.kind) || holder_alive(l.pid))) {
		pr_debug("/proc/locks: '%s' is not the tree's\n", line);
		return 0;
	}
	lock_entry(&l, &e);
	if (lock_flag(l.kind) && claim_fd_lock(&l, &e))
		return 0;
	m = lock_mapping(it, &l);
	if (m)
		return dump_mapping_lock(m, &l, &e);
	if (it && tree_has_open(&l))
		pr_warn("pid %d: its %s %s lock on inode %x:%x:%llu is held by a description "
			"no task of the tree has: not dumped\n", l.pid, l.kind, l.type, l.maj,
			l.min, l.ino);
	return 0;
}

int dump_mapped_locks(void)
{
	char *buf, *line, *next;
	int ret = 0;

	if (list_empty(&mapped_files))
		return 0;
	if (read_file("/proc/locks", &buf) < 0) {
		pr_perror("cannot read /proc/locks");
		return -1;
	}
	for (line = buf; line && *line && !ret; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ret = check_proc_lock(line);
	}
	free(buf);
	return ret;
}

int file_locks_dump_fini(void)
{
	static bool written;
	struct held_lock *h, *n;
	struct mapped_file *m, *mn;
	struct cr_img *img = NULL;
	int ret = 0;

	if (opts.file_locks && !written) {
		written = true;
		img = open_image(CR_FD_FILE_LOCKS, O_DUMP);
		if (!img)
			ret = -1;
	}
	list_for_each_entry_safe(h, n, &held_locks, list) {
		if (img && !ret && pb_write(img, &h->e))
			ret = -1;
		list_del(&h->list);
		free(h);
	}
	list_for_each_entry_safe(m, mn, &mapped_files, list) {
		list_del(&m->list);
		free(m->name);
		free(m);
	}
	if (img && close_image(img))
		ret = -1;
	return ret;
}

/* ---- restore ---- */

struct rst_lock {
	FileLockEntry *e;
	u32 file_id;
};

static struct rst_lock *rst_locks;
static size_t nr_rst_locks;

static int take_lock(void *msg, void *arg)
{
	struct rst_lock *n = xrealloc(rst_locks, (nr_rst_locks + 1) * sizeof(*n));

	(void)arg;
	if (!n) {
		pb_free(msg);
		return -1;
	}
	rst_locks = n;
	rst_locks[nr_rst_locks++].e = msg;
	return 0;
}

/* The file id of fd in the task vpid, or 0. */
static u32 file_of_fd(pid_t vpid, int fd)
{
	struct pstree_item *it = pstree_find_vpid(vpid);
	size_t i;

	if (!it || it->state == TASK_DEAD)
		return 0;
	for (i = 0; i < rst_of(it)->nr_fds; i++)
		if ((int)rst_of(it)->fds[i]->fd == fd)
			return rst_of(it)->fds[i]->id;
	return 0;
}

/* The file id of the file VMA at start in the task vpid, or 0. */
static u32 file_of_vma(pid_t vpid, u64 start)
{
	struct pstree_item *it = pstree_find_vpid(vpid);
	MmEntry *mm;
	size_t i;

	if (!it || it->state == TASK_DEAD)
		return 0;
	mm = rst_of(it)->mm;
	for (i = 0; mm && i < mm->n_vmas; i++)
		if (mm->vmas[i]->start == start &&
		    (mm->vmas[i]->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
			return mm->vmas[i]->shmid;
	return 0;
}

static int check_lock(struct rst_lock *l)
{
	FileLockEntry *e = l->e;

	if ((e->flag != FL_POSIX && e->flag != FL_FLOCK && e->flag != FL_OFD) ||
	    (e->type != F_RDLCK && e->type != F_WRLCK) || e->start < 0 || e->len < 0) {
		pr_err("filelocks.img: unsupported lock: flag %u type %u start %lld len %lld\n",
		       e->flag, e->type, (long long)e->start, (long long)e->len);
		return -1;
	}
	if (e->fd >= 0) {
		l->file_id = file_of_fd(e->pid, e->fd);
		if (!l->file_id) {
			pr_err("filelocks.img: a lock of pid %d fd %d, which the images do not "
			       "have\n", e->pid, e->fd);
			return -1;
		}
		return 0;
	}
	/* no fd: held through the description a mapping of the task uses */
	if (!e->has_map_start || e->flag == FL_POSIX) {
		pr_err("filelocks.img: a %s lock of pid %d with fd %d and no mapping\n",
		       e->flag == FL_POSIX ? "POSIX" : "flock or OFD", e->pid, e->fd);
		return -1;
	}
	l->file_id = file_of_vma(e->pid, e->map_start);
	if (!l->file_id) {
		pr_err("filelocks.img: a lock of pid %d held through a file mapping at %llx, "
		       "which the images do not have\n", e->pid, (unsigned long long)e->map_start);
		return -1;
	}
	return 0;
}

int collect_file_locks(void)
{
	size_t i;

	if (pb_read_all(CR_FD_FILE_LOCKS, O_RSTR | O_OPT, &file_lock_entry__descriptor, take_lock,
			NULL))
		return -1;
	if (nr_rst_locks && !opts.file_locks) {
		pr_err("the images hold %zu file locks; restore them with --file-locks\n",
		       nr_rst_locks);
		return -1;
	}
	for (i = 0; i < nr_rst_locks; i++)
		if (check_lock(&rst_locks[i]))
			return -1;
	pr_info("%zu file locks to restore\n", nr_rst_locks);
	return 0;
}

static int take_desc_lock(const FileLockEntry *e, int fd, const char *where)
{
	struct flock f = {
		.l_type = e->type,
		.l_whence = SEEK_SET,
		.l_start = e->start,
		.l_len = e->len,
	};

	if (e->flag == FL_FLOCK) {
		if (flock(fd, (e->type == F_RDLCK ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
			pr_perror("pid %d %s: cannot take its flock", e->pid, where);
			return -1;
		}
	} else if (fcntl(fd, F_OFD_SETLK, &f)) {
		pr_perror("pid %d %s: cannot take its OFD lock on %lld+%lld", e->pid, where,
			  (long long)e->start, (long long)e->len);
		return -1;
	}
	pr_debug("pid %d %s: %s lock type %u taken\n", e->pid, where,
		 e->flag == FL_FLOCK ? "flock" : "OFD", e->type);
	return 0;
}

/*
 * A lock held through a mapping is taken on the anchor the mapping is
 * made from (the task still has criu's anchors): the mapping then keeps
 * the lock's description, and the lock, alive, as in the dumped tree.
 * The task takes it itself, so that its pid shows as the holder.
 */
static int take_task_lock(const struct rst_lock *l)
{
	const FileLockEntry *e = l->e;
	char where[64];
	int fd = e->fd;

	if (fd >= 0) {
		snprintf(where, sizeof(where), "fd %d", fd);
	} else {
		snprintf(where, sizeof(where), "mapping at %llx", (unsigned long long)e->map_start);
		fd = anchor_fd(l->file_id);
		if (fd < 0) {
			pr_err("pid %d %s: file id %u was not opened\n", e->pid, where, l->file_id);
			return -1;
		}
	}
	return take_desc_lock(e, fd, where);
}

int restore_desc_locks(struct pstree_item *it)
{
	size_t i;

	for (i = 0; i < nr_rst_locks; i++) {
		FileLockEntry *e = rst_locks[i].e;

		if (e->pid == it->vpid && e->flag != FL_POSIX && take_task_lock(&rst_locks[i]))
			return -1;
	}
	return 0;
}

size_t posix_locks_size(struct pstree_item *it)
{
	size_t i, n = 0;

	for (i = 0; i < nr_rst_locks; i++)
		n += rst_locks[i].e->pid == it->vpid && rst_locks[i].e->flag == FL_POSIX;
	return (n + 1) * sizeof(struct rst_file_lock);
}

/* The restorer keeps the log and criu's stderr open while it takes the locks. */
static bool is_log_file(int fd)
{
	struct stat st, lst;
	int logs[2] = { log_get_fd(), log_get_err_fd() };
	int i;

	if (fstat(fd, &st))
		return false;
	for (i = 0; i < 2; i++)
		if (!fstat(logs[i], &lst) && lst.st_dev == st.st_dev && lst.st_ino == st.st_ino)
			return true;
	return false;
}

int prepare_posix_locks(struct pstree_item *it, struct rst_args *a, void *room)
{
	struct rst_file_lock *l = room;
	size_t i;

	a->posix_locks = (u64)(unsigned long)room;
	a->nr_posix_locks = 0;
	for (i = 0; i < nr_rst_locks; i++) {
		FileLockEntry *e = rst_locks[i].e;

		if (e->pid != it->vpid || e->flag != FL_POSIX)
			continue;
		if (is_log_file(e->fd)) {
			pr_err("pid %d fd %d: cannot restore a POSIX lock on criu's own log\n",
			       e->pid, e->fd);
			return -1;
		}
		l->start = e->start;
		l->len = e->len;
		l->fd = e->fd;
		l->type = e->type;
		l++;
		a->nr_posix_locks++;
	}
	return 0;
}
