// SPDX-License-Identifier: GPL-2.0
/*
 * Open files.  Each open file description gets one id and one entry in
 * files.img; fdinfo-<files_id>.img maps a task's descriptor numbers to
 * those ids.  Descriptors that share a description (dup, fork) are found
 * with kcmp(KCMP_FILE) and share the id.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fault.h"
#include "cr_options.h"
#include "file-lock.h"
#include "external.h"
#include "files.h"
#include "proc_parse.h"
#include "restore.h"
#include "sockets.h"
#include "util.h"
#include "vma.h"

/*
 * Every kind of file we know, in the order they are asked to recognise a
 * descriptor: the specific ones first, regular files (anything reached
 * by a path) last.
 */
static const struct fd_kind *const fd_kinds[] = {
	&pipe_kind,
	&fifo_kind,
	&memfd_kind,
	&eventfd_kind,
	&signalfd_kind,
	&timerfd_kind,
	&nsf_kind,
	&pidfd_kind,
	&eventpoll_kind,
	&inotify_kind,
	&tty_kind,
	&unix_sk_kind,
	&inet_sk_kind,
	&netlink_sk_kind,
	&reg_kind,
};

#define for_each_kind(k, i) \
	for (i = 0; i < ARRAY_SIZE(fd_kinds) && ((k) = fd_kinds[i]); i++)

const struct fd_kind *fd_kind_of_type(int type)
{
	const struct fd_kind *k;
	size_t i;

	for_each_kind(k, i)
		if (k->type == type)
			return k;
	return NULL;
}

/* Run one optional hook of every kind; stop at the first failure. */
#define kinds_call(hook, ...)                                          \
	({                                                             \
		const struct fd_kind *__k;                             \
		size_t __i;                                            \
		int __ret = 0;                                         \
		for_each_kind(__k, __i)                                \
			if (__k->hook && __k->hook(__VA_ARGS__)) {     \
				__ret = -1;                            \
				break;                                 \
			}                                              \
		__ret;                                                 \
	})

/* Every kind's fini runs, even after one failed: they free what they hold. */
static int kinds_dump_fini(void)
{
	const struct fd_kind *k;
	size_t i;
	int ret = 0;

	for_each_kind(k, i)
		if (k->dump_fini && k->dump_fini())
			ret = -1;
	return ret;
}

LIST_HEAD(dumped_files);
bool files_dump_failed;
static struct cr_img *files_img;
static u32 next_file_id = 1;

u32 new_file_id(void)
{
	return next_file_id++;
}

/* a stat of /proc/PID/map_files worked in this dump (see dump_vma_file) */
static bool map_files_open;

int files_dump_init(void)
{
	map_files_open = false;
	files_img = open_image(CR_FD_FILES, O_DUMP);
	return files_img ? 0 : -1;
}

/* One pidfd at a time: tasks are dumped one after another. */
static int task_pidfd = -1;
static pid_t task_pidfd_pid;

int files_dump_fini(void)
{
	struct dumped_file *d, *n;
	int ret = 0;

	fd_index_free();
	/* the kinds' fini may look the dumped files up */
	if (kinds_dump_fini())
		ret = -1;
	if (file_locks_dump_fini())
		ret = -1;
	close_safe(&task_pidfd);
	list_for_each_entry_safe(d, n, &dumped_files, list) {
		list_del(&d->list);
		free(d);
	}
	if (files_img && close_image(files_img))
		ret = -1;
	files_img = NULL;
	return ret;
}

int write_file_entry(FileEntry *fe)
{
	return pb_write(files_img, fe);
}

static int remember_file(u32 id, int type, pid_t pid, int fd, const struct stat *st,
			 unsigned int flags)
{
	struct dumped_file *d = xzalloc(sizeof(*d));

	if (!d)
		return -1;
	d->id = id;
	d->pid = pid;
	d->fd = fd;
	d->dev = st->st_dev;
	d->ino = st->st_ino;
	d->flags = flags;
	d->type = type;
	list_add_tail(&d->list, &dumped_files);
	return 0;
}

struct dumped_file *find_dumped_fd(pid_t pid, int fd)
{
	struct dumped_file *d;

	list_for_each_entry(d, &dumped_files, list)
		if (d->pid == pid && d->fd == fd)
			return d;
	return NULL;
}

int get_task_fd(pid_t pid, int fd)
{
	int lfd;

	if (task_pidfd < 0 || task_pidfd_pid != pid) {
		close_safe(&task_pidfd);
		task_pidfd = syscall(SYS_pidfd_open, pid, 0);
		/* a thread of a process whose leader exited: PIDFD_THREAD (O_EXCL, 6.9) */
		if (task_pidfd < 0 && errno == ENOENT)
			task_pidfd = syscall(SYS_pidfd_open, pid, O_EXCL);
		if (task_pidfd < 0) {
			pr_perror("cannot open a pidfd for pid %d", pid);
			return -1;
		}
		task_pidfd_pid = pid;
	}
	lfd = syscall(SYS_pidfd_getfd, task_pidfd, fd, 0);
	if (lfd < 0)
		pr_perror("cannot take fd %d of pid %d (pidfd_getfd)", fd, pid);
	return lfd;
}

static const char *anon_kind(const char *link)
{
	/* "anon_inode:[eventfd]" -> "eventfd", "anon_inode:inotify" -> "inotify" */
	static char kind[64];
	const char *k = link + strlen("anon_inode:");
	size_t len;

	if (*k == '[')
		k++;
	len = strcspn(k, "]");
	snprintf(kind, sizeof(kind), "%.*s", (int)len, k);
	return kind;
}

bool is_tty(const struct stat *st)
{
	unsigned int maj = major(st->st_rdev);

	/* ttys, /dev/tty and the console, pty masters and slaves */
	return S_ISCHR(st->st_mode) && (maj == 4 || maj == 5 || maj == 136 || maj == 128);
}

/* No kind took it: say what it is. */
static void refuse_fd(const struct fd_parms *p)
{
	mode_t m = p->st.st_mode;

	if (!strncmp(p->link, "anon_inode:", 11))
		pr_err("unsupported: pid %d fd %d is %s\n", p->pid, p->fd, anon_kind(p->link));
	else if (S_ISSOCK(m))
		refuse_socket(p);
	else if (is_tty(&p->st) && !opts.shell_job)
		pr_err("unsupported: pid %d fd %d is a terminal (%s); try --shell-job\n", p->pid,
		       p->fd, p->link);
	else if (S_ISBLK(m))
		pr_err("unsupported: pid %d fd %d is a block device (%s)\n", p->pid, p->fd,
		       p->link);
	else
		pr_err("unsupported: pid %d fd %d is %s\n", p->pid, p->fd, p->link);
}

/* Returns the FD_TYPES__* of the entry written, or -1. */
static int dump_one_file(struct fd_parms *p, u32 id)
{
	const struct fd_kind *k;
	size_t i;

	for_each_kind(k, i) {
		if (!k->match(p))
			continue;
		pr_debug("pid %d fd %d: %s is %s\n", p->pid, p->fd, p->link, k->name);
		return k->dump(p, id) ? -1 : k->type;
	}
	refuse_fd(p);
	return -1;
}

static void put_fd_parms(struct fd_parms *p)
{
	free(p->fdinfo);
	p->fdinfo = NULL;
	close_safe(&p->lfd);
}

static int fill_fd_parms(pid_t pid, int fd, struct fd_parms *p)
{
	struct proc_fdinfo fi;
	char path[64], *text;
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->fd = fd;
	p->lfd = -1;
	snprintf(p->proc_path, sizeof(p->proc_path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(p->proc_path, p->link, sizeof(p->link) - 1);
	if (n < 0) {
		pr_perror("cannot read link %s", p->proc_path);
		return -1;
	}
	p->link[n] = '\0';
	p->lfd = get_task_fd(pid, fd);
	if (p->lfd < 0)
		return -1;
	if (fstat(p->lfd, &p->st)) {
		pr_perror("cannot stat fd %d of pid %d", fd, pid);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	if (read_file(path, &p->fdinfo) < 0) {
		pr_perror("cannot read %s", path);
		return -1;
	}
	text = xstrdup(p->fdinfo);
	if (!text)
		return -1;
	parse_fdinfo_text(text, &fi);
	free(text);
	p->pos = fi.pos;
	p->mnt_id = fi.mnt_id;
	p->fd_flags = (fi.flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	p->flags = fi.flags & ~O_CLOEXEC;
	return 0;
}

static int dump_fd(struct pstree_item *it, int fd, struct cr_img *img)
{
	FdinfoEntry e = FDINFO_ENTRY__INIT;
	struct dumped_file *same;
	struct fd_parms p;
	int type;
	u32 id;

	if (fill_fd_parms(it->pid, fd, &p))
		goto err;

	same = find_same_description(&p);
	if (same) {
		id = same->id;
		type = same->type;
		pr_debug("pid %d fd %d: the same open file as id %u\n", it->pid, fd, id);
	} else {
		id = new_file_id();
		type = dump_one_file(&p, id);
		if (type < 0 || remember_file(id, type, it->pid, fd, &p.st, p.flags))
			goto err;
		fd_index_add(&p, list_last_entry(&dumped_files, struct dumped_file, list));
		pr_debug("pid %d fd %d: %s id %u flags 0%o pos %llu\n", it->pid, fd, p.link, id,
			 p.flags, (unsigned long long)p.pos);
	}
	if (dump_fd_locks(&p, it->vpid, id))
		goto err;
	put_fd_parms(&p);
	e.id = id;
	e.flags = p.fd_flags;
	e.fd = fd;
	e.type = type;
	return pb_write(img, &e);
err:
	put_fd_parms(&p);
	return -1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int list_fds(pid_t pid, int **fds, int *nr)
{
	char path[64];
	struct dirent *de;
	int *f = NULL, n = 0, cap = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			int *nf;

			cap = cap ? cap * 2 : 32;
			nf = xrealloc(f, cap * sizeof(*f));
			if (!nf) {
				free(f);
				closedir(d);
				return -1;
			}
			f = nf;
		}
		f[n++] = atoi(de->d_name);
	}
	closedir(d);
	qsort(f, n, sizeof(*f), cmp_int);
	*fds = f;
	*nr = n;
	return 0;
}

int dump_task_files(struct pstree_item *it, u32 files_id)
{
	struct cr_img *img;
	int *fds, nr, i, ret = -1;

	if (list_fds(it->pid, &fds, &nr))
		return -1;
	img = open_image(CR_FD_FDINFO, O_DUMP, (unsigned long)files_id);
	if (!img)
		goto out;
	for (i = 0; i < nr; i++)
		if (dump_fd(it, fds[i], img))
			goto out;
	ret = 0;
out:
	if (img && close_image(img))
		ret = -1;
	free(fds);
	return ret;
}

static int dump_file_parms(struct fd_parms *p, unsigned int flags, u32 *id);

int dump_file_link(pid_t pid, const char *proc_path, unsigned int flags, u32 *id)
{
	struct fd_parms p;
	ssize_t n;

	memset(&p, 0, sizeof(p));
	p.pid = pid;
	p.lfd = -1;
	snprintf(p.proc_path, sizeof(p.proc_path), "%s", proc_path);
	n = readlink(proc_path, p.link, sizeof(p.link) - 1);
	if (n < 0) {
		pr_perror("cannot read link %s", proc_path);
		return -1;
	}
	p.link[n] = '\0';
	return dump_file_parms(&p, flags, id);
}

/* A file reached by its path in criu's own view of the filesystem. */
int dump_path_file(pid_t pid, const char *path, unsigned int flags, u32 *id)
{
	struct fd_parms p;

	memset(&p, 0, sizeof(p));
	p.pid = pid;
	p.lfd = -1;
	snprintf(p.proc_path, sizeof(p.proc_path), "%s", path);
	snprintf(p.link, sizeof(p.link), "%s", path);
	return dump_file_parms(&p, flags, id);
}

static int dump_file_parms(struct fd_parms *pp, unsigned int flags, u32 *id)
{
	struct fd_parms p = *pp;
	struct dumped_file *d;
	pid_t pid = p.pid;
	const char *proc_path = p.proc_path;
	int type;

	p.fd = -1;
	p.flags = flags;
	p.mnt_id = -1;
	if (stat(proc_path, &p.st)) {
		pr_perror("cannot stat %s", proc_path);
		return -1;
	}

	list_for_each_entry(d, &dumped_files, list) {
		if (d->fd < 0 && d->dev == p.st.st_dev && d->ino == p.st.st_ino &&
		    d->flags == flags) {
			*id = d->id;
			return 0;
		}
	}
	*id = new_file_id();
	if (S_ISREG(p.st.st_mode) && is_memfd_link(p.link))
		type = dump_memfd(&p, *id) ? -1 : FD_TYPES__MEMFD;
	else
		type = dump_reg_file(&p, *id) ? -1 : FD_TYPES__REG;
	if (type < 0)
		return -1;
	pr_debug("pid %d: %s is %s, id %u\n", pid, proc_path, p.link, *id);
	return remember_file(*id, type, pid, -1, &p.st, flags);
}

/* A /proc/PID/fd/N link of pid to the inode dev:ino, if it has one. */
static int find_fd_of_inode(pid_t pid, u64 dev, u64 ino, char *path, size_t len)
{
	int *fds, nr, i, ret = -1;

	if (list_fds(pid, &fds, &nr))
		return -1;
	for (i = 0; i < nr; i++) {
		struct stat st;

		snprintf(path, len, "/proc/%d/fd/%d", pid, fds[i]);
		if (!stat(path, &st) && st.st_dev == dev && st.st_ino == ino) {
			ret = 0;
			break;
		}
	}
	free(fds);
	return ret;
}

int dump_vma_file(pid_t pid, struct vm_area_list *vl, struct vma_area *v, unsigned int flags,
		  u32 *id)
{
	struct dumped_file *d;
	char path[PATH_MAX];
	struct stat st;

	/*
	 * Most mappings are of files already dumped by path (the libraries of
	 * every task): once map_files is known to be open to us, that is what
	 * its stat, readlink and stat would find, so the inode smaps gave is
	 * looked up first.  Where stat's device differs from smaps'
	 * (overlayfs), nothing is found here and the lookups find it.
	 */
	if (map_files_open)
		list_for_each_entry(d, &dumped_files, list)
			if (d->fd < 0 && d->dev == v->dev && d->ino == v->ino &&
			    d->flags == flags) {
				*id = d->id;
				return 0;
			}
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)v->e.start, (unsigned long long)v->e.end);
	if (!stat(path, &st)) {
		map_files_open = true;
		return dump_file_link(pid, path, flags, id);
	}
	if (errno != EPERM && errno != EACCES) {
		pr_perror("cannot stat %s", path);
		return -1;
	}
	/* map_files is closed to us: another way to the same inode */
	if (!find_fd_of_inode(pid, v->dev, v->ino, path, sizeof(path)))
		return dump_file_link(pid, path, flags, id);
	if (!v->deleted && v->name && !stat(v->name, &st) && st.st_ino == v->ino &&
	    st.st_dev == v->dev)
		return dump_path_file(pid, v->name, flags, id);
	/* a container's file: its path is in the task's root, not in criu's */
	if (!v->deleted && v->name && v->name[0] == '/') {
		struct fd_parms p = { .pid = pid, .lfd = -1 };

		snprintf(p.proc_path, sizeof(p.proc_path), "/proc/%d/root%s", pid, v->name);
		snprintf(p.link, sizeof(p.link), "%s", v->name);
		if (!stat(p.proc_path, &st) && st.st_ino == v->ino && st.st_dev == v->dev)
			return dump_file_parms(&p, flags, id);
	}
	/* a memfd has no path to recreate it at: its name, seals and size need an fd */
	if (v->deleted && v->name && v->name[0] == '/' && !(v->e.status & VMA_AREA_MEMFD)) {
		/* one ghost for all of this task's mappings of the inode */
		list_for_each_entry(d, &dumped_files, list)
			if (d->fd < 0 && d->pid == pid && d->dev == v->dev &&
			    d->ino == v->ino && d->flags == flags) {
				*id = d->id;
				return 0;
			}
		*id = new_file_id();
		st.st_dev = v->dev;
		st.st_ino = v->ino;
		if (dump_ghost_from_mappings(pid, vl, v, flags, *id))
			return -1;
		return remember_file(*id, FD_TYPES__REG, pid, -1, &st, flags);
	}
	pr_err("unsupported: pid %d maps %s%s at %llx, which only /proc/PID/map_files reaches "
	       "(needs CAP_CHECKPOINT_RESTORE in the initial user namespace)\n", pid,
	       v->name ? v->name : "a file", v->deleted ? " (deleted)" : "",
	       (unsigned long long)v->e.start);
	return -1;
}

/* ---- restore ---- */

int svc_fd_base = 3;

struct file_desc {
	FileEntry *fe;
	int anchor;		/* -1 until opened */
};

static struct file_desc *fdescs;
static u32 nr_fdescs;

int move_to_svc(int fd)
{
	int nfd;

	if (fd < 0 || fd >= svc_fd_base)
		return fd;
	nfd = fcntl(fd, F_DUPFD, svc_fd_base);
	if (nfd < 0)
		pr_perror("cannot move fd %d above %d", fd, svc_fd_base);
	close(fd);
	return nfd;
}

static int add_file_entry(FileEntry *fe)
{
	if (fe->id == 0 || fe->id > 1000000) {
		pr_err("files.img: file id %u is out of range\n", fe->id);
		return -1;
	}
	if (fe->id >= nr_fdescs) {
		u32 n = fe->id + 64;
		struct file_desc *nd = xrealloc(fdescs, n * sizeof(*nd));

		if (!nd)
			return -1;
		memset(nd + nr_fdescs, 0, (n - nr_fdescs) * sizeof(*nd));
		fdescs = nd;
		nr_fdescs = n;
	}
	if (fdescs[fe->id].fe) {
		pr_err("files.img: file id %u appears twice\n", fe->id);
		return -1;
	}
	fdescs[fe->id].fe = fe;
	fdescs[fe->id].anchor = -1;
	return 0;
}

FileEntry *find_file_entry(u32 id)
{
	return id < nr_fdescs ? fdescs[id].fe : NULL;
}

static int max_image_fd(void)
{
	struct pstree_item *it;
	int max_fd = 2;
	size_t i;

	for_each_item(it) {
		struct task_restore *tr = rst_of(it);

		for (i = 0; i < tr->nr_fds; i++)
			max_fd = max(max_fd, (int)tr->fds[i]->fd);
	}
	return max_fd;
}

static int take_file_entry(void *msg, void *arg)
{
	(void)arg;
	if (add_file_entry(msg)) {
		pb_free(msg);
		return -1;
	}
	return 0;
}

int prepare_files(void)
{
	if (pb_read_all(CR_FD_FILES, O_RSTR, &file_entry__descriptor, take_file_entry, NULL))
		return -1;
	if (kinds_call(collect) || collect_file_locks())
		return -1;
	/* a little room above the largest descriptor the tree uses */
	svc_fd_base = max_image_fd() + 1;
	return 0;
}

u32 file_id_limit(void)
{
	return nr_fdescs;
}

int anchor_fd(u32 id)
{
	return id < nr_fdescs && fdescs[id].fe ? fdescs[id].anchor : -1;
}

int open_anchor(u32 id, int *fd)
{
	FileEntry *fe = find_file_entry(id);
	const struct fd_kind *k;
	struct file_desc *d;
	int ret;

	if (!fe) {
		pr_err("no file with id %u in files.img\n", id);
		return -1;
	}
	d = &fdescs[id];
	if (d->anchor >= 0) {
		*fd = d->anchor;
		return 0;
	}
	k = fd_kind_of_type(fe->type);
	if (!k || !k->open) {
		pr_err("unsupported: file id %u of type %d in the images\n", id, fe->type);
		return -1;
	}
	if (fault_hit(FI_ANCHOR)) {
		pr_perror("cannot open file id %u", id);
		return -1;
	}
	/* a file the caller handed over (--inherit-fd) is not made again */
	ret = inherit_fd_for_file(fe, fd);
	if (ret < 0 || (!ret && k->open(fe, fd)))
		return -1;
	*fd = move_to_svc(*fd);
	if (*fd < 0)
		return -1;
	d->anchor = *fd;
	return 0;
}

/* mount-rst.c: the root took an anchor criu opened after the fork */
void adopt_anchor(u32 id, int fd)
{
	if (id < nr_fdescs && fdescs[id].fe)
		fdescs[id].anchor = fd;
}

int for_each_anchor(int (*fn)(u32 id, int fd, void *arg), void *arg)
{
	u32 i;

	for (i = 0; i < nr_fdescs; i++)
		if (fdescs[i].fe && fdescs[i].anchor >= 0 && fn(i, fdescs[i].anchor, arg))
			return -1;
	return 0;
}

int open_all_anchors(void)
{
	struct pstree_item *it;
	size_t i;
	int fd;

	for_each_item(it) {
		struct task_restore *tr = rst_of(it);

		if (it->state == TASK_DEAD)
			continue;
		for (i = 0; i < tr->nr_fds; i++)
			if (open_anchor(tr->fds[i]->id, &fd))
				return -1;
		for (i = 0; i < tr->mm->n_vmas; i++) {
			VmaEntry *v = tr->mm->vmas[i];

			if ((v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) &&
			    open_anchor(v->shmid, &fd))
				return -1;
		}
		if (open_anchor(tr->mm->exe_file_id, &fd) ||
		    open_anchor(tr->fs->cwd_id, &fd) || open_anchor(tr->fs->root_id, &fd))
			return -1;
	}
	return kinds_call(anchors_done);
}

void close_anchors(void)
{
	u32 i;

	for (i = 0; i < nr_fdescs; i++)
		if (fdescs[i].fe && fdescs[i].anchor >= 0) {
			close(fdescs[i].anchor);
			fdescs[i].anchor = -1;
		}
}

/*
 * open() keeps O_ASYNC in the flags without arming it, and a signal's
 * si_fd is the fd that armed it: clearing and setting it again at the
 * task's own fd number does both.
 */
static int restore_async(struct pstree_item *it, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || !(fl & O_ASYNC))
		return 0;
	if (fcntl(fd, F_SETFL, fl & ~O_ASYNC) || fcntl(fd, F_SETFL, fl)) {
		pr_perror("cannot set O_ASYNC on fd %d of pid %d", fd, it->vpid);
		return -1;
	}
	return 0;
}

int reopen_task_fds(struct pstree_item *it, int type, int (*open_own)(FileEntry *fe, int *fd))
{
	struct task_restore *tr = rst_of(it);
	size_t i;

	for (i = 0; i < tr->nr_fds; i++) {
		FdinfoEntry *e = tr->fds[i];
		FileEntry *fe = find_file_entry(e->id);
		int fd, ret;

		if (!fe || (int)fe->type != type)
			continue;
		ret = open_own(fe, &fd);
		if (ret < 0)
			return -1;
		if (ret > 0)
			continue;
		if (dup3(fd, e->fd, (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
			pr_perror("cannot install fd %u of pid %d", e->fd, it->vpid);
			close(fd);
			return -1;
		}
		close(fd);
		pr_debug("pid %d: fd %u (file %u) opened by the task itself\n", it->vpid, e->fd,
			 e->id);
	}
	return 0;
}

int restore_task_fds(struct pstree_item *it)
{
	struct task_restore *tr = rst_of(it);
	size_t i;

	/* criu's own low descriptors and anything else not ours go away */
	if (close_range(0, svc_fd_base - 1, 0)) {
		pr_perror("cannot close inherited descriptors of pid %d", it->vpid);
		return -1;
	}
	for (i = 0; i < tr->nr_fds; i++) {
		FdinfoEntry *e = tr->fds[i];
		int a = anchor_fd(e->id);
		int fl = (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0;

		if (a < 0) {
			pr_err("pid %d fd %u: file id %u was not opened\n", it->vpid, e->fd, e->id);
			return -1;
		}
		if (e->fd >= (u32)svc_fd_base || dup3(a, e->fd, fl) != (int)e->fd) {
			pr_perror("cannot install fd %u of pid %d", e->fd, it->vpid);
			return -1;
		}
		if (restore_async(it, e->fd))
			return -1;
		pr_debug("pid %d: fd %u is file %u\n", it->vpid, e->fd, e->id);
	}
	return kinds_call(task_fds_done, it) || restore_desc_locks(it) ? -1 : 0;
}

void files_restore_failed(void)
{
	const struct fd_kind *k;
	size_t i;

	for_each_kind(k, i)
		if (k->restore_failed)
			k->restore_failed();
}

int restore_task_fds_late(struct pstree_item *it)
{
	return kinds_call(tree_done, it);
}
