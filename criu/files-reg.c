// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files, directories and device nodes, reopened by path.  A file
 * that was unlinked while open or mapped is a "ghost": its contents go
 * into ghost-file-<id>.img, and remap-fpath.img points the file at it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mount.h"
#include "cr_options.h"
#include "file-id.h"
#include "files.h"
#include "ghost-file.pb-c.h"
#include "mem.h"
#include "regfile.pb-c.h"
#include "remap-file-path.pb-c.h"
#include "restore.h"
#include "util.h"
#include "vma.h"

#define DELETED_SUFFIX " (deleted)"
#define GHOST_CHUNK (1UL << 20)

static struct cr_img *remap_img;
static u32 next_ghost_id = 1;

static void strip_deleted(char *name, bool *deleted)
{
	size_t len = strlen(name), sl = strlen(DELETED_SUFFIX);

	*deleted = len > sl && !strcmp(name + len - sl, DELETED_SUFFIX);
	if (*deleted)
		name[len - sl] = '\0';
}

static int write_ghost_chunks(struct cr_img *img, int fd, const char *name, off_t size)
{
	char *buf = xmalloc(GHOST_CHUNK);
	off_t off = 0;
	int ret = -1;

	if (!buf)
		return -1;
	while (off < size) {
		GhostChunkEntry ce = GHOST_CHUNK_ENTRY__INIT;
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			pr_perror("cannot seek in deleted file %s", name);
			goto out;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			pr_perror("cannot seek in deleted file %s", name);
			goto out;
		}
		for (off = data; off < hole;) {
			ssize_t n = pread(fd, buf, min((off_t)GHOST_CHUNK, hole - off), off);

			if (n <= 0) {
				if (n == 0)	/* EOF before the hole: it shrank under us */
					pr_err("deleted file %s ends at %lld while being read\n",
					       name, (long long)off);
				else
					pr_perror("cannot read deleted file %s at %lld", name,
						  (long long)off);
				goto out;
			}
			ce.off = off;
			ce.len = n;
			if (pb_write(img, &ce) || img_write_raw(img, buf, n))
				goto out;
			off += n;
		}
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

/* Save the contents of an unlinked file and point file id at them. */
static int dump_ghost(struct fd_parms *p, u32 id)
{
	GhostFileEntry ge = GHOST_FILE_ENTRY__INIT;
	RemapFilePathEntry re = REMAP_FILE_PATH_ENTRY__INIT;
	Timeval atim = TIMEVAL__INIT, mtim = TIMEVAL__INIT;
	struct cr_img *img;
	u32 gid = next_ghost_id++;
	int fd = -1, ret = -1;

	/* a FIFO's ghost is only its inode: the data is the pipe's */
	if (!S_ISREG(p->st.st_mode) && !S_ISFIFO(p->st.st_mode)) {
		pr_err("unsupported: pid %d has a deleted %s open: %s\n", p->pid,
		       S_ISDIR(p->st.st_mode) ? "directory" : "special file", p->link);
		return -1;
	}
	if (opts.ghost_limit && S_ISREG(p->st.st_mode) &&
	    (unsigned long long)p->st.st_size > opts.ghost_limit) {
		pr_err("pid %d: deleted file %s has %lld bytes, more than --ghost-limit %llu\n",
		       p->pid, p->link, (long long)p->st.st_size, opts.ghost_limit);
		return -1;
	}
	if (S_ISREG(p->st.st_mode))
		fd = open(p->proc_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && S_ISREG(p->st.st_mode)) {
		pr_perror("cannot open deleted file %s through %s", p->link, p->proc_path);
		return -1;
	}

	ge.uid = p->st.st_uid;
	ge.gid = p->st.st_gid;
	ge.mode = p->st.st_mode;
	ge.has_dev = ge.has_ino = ge.has_size = ge.has_chunks = true;
	ge.dev = p->st.st_dev;
	ge.ino = p->st.st_ino;
	ge.size = S_ISREG(p->st.st_mode) ? p->st.st_size : 0;
	ge.chunks = true;
	atim.tv_sec = p->st.st_atim.tv_sec;
	atim.tv_usec = p->st.st_atim.tv_nsec / 1000;
	mtim.tv_sec = p->st.st_mtim.tv_sec;
	mtim.tv_usec = p->st.st_mtim.tv_nsec / 1000;
	ge.atim = &atim;
	ge.mtim = &mtim;

	img = open_image(CR_FD_GHOST_FILE, O_DUMP, (unsigned long)gid);
	if (!img)
		goto out;
	if (pb_write(img, &ge) || (fd >= 0 && write_ghost_chunks(img, fd, p->link, ge.size))) {
		close_image(img);
		goto out;
	}
	if (close_image(img))
		goto out;

	if (!remap_img) {
		remap_img = open_image(CR_FD_REMAP_FPATH, O_DUMP);
		if (!remap_img)
			goto out;
	}
	re.orig_id = id;
	re.remap_id = gid;
	re.has_remap_type = true;
	re.remap_type = REMAP_TYPE__GHOST;
	ret = pb_write(remap_img, &re);
	pr_info("deleted file %s (%lld bytes) saved as ghost %u\n", p->link,
		(long long)ge.size, gid);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int dump_reg_file(struct fd_parms *p, u32 id)
{
	RegFileEntry re = REG_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	char name[PATH_MAX];
	bool deleted;

	snprintf(name, sizeof(name), "%s", p->link);
	strip_deleted(name, &deleted);

	if (dump_fown(p, &fown))
		return -1;
	re.id = id;
	re.flags = p->flags;
	re.pos = p->pos;
	re.fown = &fown;
	re.name = name;
	re.has_mnt_id = true;
	re.mnt_id = p->mnt_id;
	re.has_size = true;
	re.size = p->st.st_size;
	re.has_mode = true;
	re.mode = p->st.st_mode;

	/* reached by a /proc link or path, not an fd: the exe or a mapped file */
	if (p->fd < 0 && S_ISREG(p->st.st_mode) && !deleted && note_identity(p, &re))
		return -1;
	fe.type = FD_TYPES__REG;
	fe.id = id;
	fe.reg = &re;
	if ((deleted && dump_ghost(p, id)) || write_file_entry(&fe)) {
		free(re.build_id);
		return -1;
	}
	free(re.build_id);
	return 0;
}

/*
 * A deleted file we may not open: what the task's mappings show of it
 * is all we can save.  Shared mappings show the file; private ones may
 * show pages the task changed, which are dumped as such anyway.  The
 * file ends where the last mapping of it ends.
 */
int dump_ghost_from_mappings(pid_t pid, struct vm_area_list *vl, struct vma_area *v,
			     unsigned int flags, u32 id)
{
	GhostFileEntry ge = GHOST_FILE_ENTRY__INIT;
	RemapFilePathEntry rme = REMAP_FILE_PATH_ENTRY__INIT;
	RegFileEntry re = REG_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	struct cr_img *img = NULL;
	struct vma_area *m;
	u32 gid = next_ghost_id++;
	char path[64], *buf = NULL;
	u64 size = 0;
	int fd, ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open %s", path);
		return -1;
	}
	list_for_each_entry(m, &vl->h, list)
		if (m->dev == v->dev && m->ino == v->ino)
			size = max(size, m->e.pgoff + vma_len(m));
	ge.uid = getuid();
	ge.gid = getgid();
	ge.mode = S_IFREG | 0600;
	ge.has_dev = ge.has_ino = ge.has_size = ge.has_chunks = true;
	ge.dev = v->dev;
	ge.ino = v->ino;
	ge.size = size;
	ge.chunks = true;
	img = open_image(CR_FD_GHOST_FILE, O_DUMP, (unsigned long)gid);
	buf = xmalloc(GHOST_CHUNK);
	if (!img || !buf || pb_write(img, &ge))
		goto out;
	list_for_each_entry(m, &vl->h, list) {
		u64 off;

		if (m->dev != v->dev || m->ino != v->ino)
			continue;
		for (off = 0; off < vma_len(m); off += GHOST_CHUNK) {
			GhostChunkEntry ce = GHOST_CHUNK_ENTRY__INIT;
			size_t n = min(vma_len(m) - off, (u64)GHOST_CHUNK);

			ssize_t got = pread_all(fd, buf, n, m->e.start + off);

			if (got != (ssize_t)n) {
				if (got >= 0)	/* the mm is gone */
					pr_err("cannot read the mapping of %s at %llx: its task "
					       "exited\n", v->name,
					       (unsigned long long)(m->e.start + off));
				else
					pr_perror("cannot read the mapping of %s at %llx", v->name,
						  (unsigned long long)(m->e.start + off));
				goto out;
			}
			ce.off = m->e.pgoff + off;
			ce.len = n;
			if (pb_write(img, &ce) || img_write_raw(img, buf, n))
				goto out;
		}
	}
	if (close_image(img))
		goto out_noclose;
	img = NULL;
	if (!remap_img && !(remap_img = open_image(CR_FD_REMAP_FPATH, O_DUMP)))
		goto out;
	rme.orig_id = id;
	rme.remap_id = gid;
	rme.has_remap_type = true;
	rme.remap_type = REMAP_TYPE__GHOST;
	re.id = id;
	re.flags = flags;
	re.fown = &fown;
	re.name = v->name;
	re.has_size = re.has_mode = true;
	re.size = size;
	re.mode = ge.mode;
	fe.type = FD_TYPES__REG;
	fe.id = id;
	fe.reg = &re;
	if (pb_write(remap_img, &rme) || write_file_entry(&fe))
		goto out;
	pr_info("deleted file %s saved as ghost %u from its mappings (%llu bytes)\n", v->name,
		gid, (unsigned long long)size);
	ret = 0;
out:
	if (img)
		close_image(img);
out_noclose:
	free(buf);
	close(fd);
	return ret;
}

static int reg_dump_fini(void)
{
	int ret = 0;

	if (remap_img && close_image(remap_img))
		ret = -1;
	remap_img = NULL;
	return ret;
}

/* ---- restore ---- */

struct remap {
	struct list_head list;
	u32 orig_id;
	u32 ghost_id;
};

static LIST_HEAD(remaps);

static int take_remap(void *msg, void *arg)
{
	RemapFilePathEntry *re = msg;
	struct remap *r = NULL;

	(void)arg;
	if (re->has_remap_type && re->remap_type != REMAP_TYPE__GHOST)
		pr_err("remap-fpath.img: unsupported remap type %d for file %u\n", re->remap_type,
		       re->orig_id);
	else
		r = xzalloc(sizeof(*r));
	if (r) {
		r->orig_id = re->orig_id;
		r->ghost_id = re->remap_id;
		list_add_tail(&r->list, &remaps);
	}
	pb_free(re);
	return r ? 0 : -1;
}

static int read_remaps(void)
{
	return pb_read_all(CR_FD_REMAP_FPATH, O_RSTR | O_OPT, &remap_file_path_entry__descriptor,
			   take_remap, NULL);
}

static struct remap *find_remap(u32 id)
{
	struct remap *r;

	list_for_each_entry(r, &remaps, list)
		if (r->orig_id == id)
			return r;
	return NULL;
}

static bool is_tree_proc_path(const char *name);

/* ---- restore: is each exe and mapped file still the one dumped? ---- */

static int check_identity(u32 id, const char *role)
{
	FileEntry *fe = find_file_entry(id);
	RegFileEntry *re = fe ? fe->reg : NULL;
	char changes[512];
	struct stat st;
	int fd;

	if (!re || fe->type != FD_TYPES__REG || (!re->has_mtime_ns && !re->n_build_id) ||
	    find_remap(id) || is_tree_proc_path(re->name))
		return 0;
	/* an execute-only file cannot be read for its build-id, but stat()ed */
	fd = open(re->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 ? stat(re->name, &st) : fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return 0;	/* opening its anchor will say why */
	}
	identity_changes(re, fd, &st, changes, sizeof(changes));
	if (fd >= 0)
		close(fd);
	if (changes[0]) {
		pr_err("%s changed since the dump (%s): %s\n", re->name, role, changes);
		return -1;
	}
	pr_debug("%s (file %u) is the file dumped\n", re->name, id);
	return 0;
}

/* Before any anchor opens: the exe and every mapped file of each task. */
static int check_identities(void)
{
	struct pstree_item *it;
	u32 *seen = NULL, *ns;
	size_t nr = 0, i, j;
	char role[96];
	int ret = 0;

	for_each_item(it) {
		MmEntry *mm = rst_of(it) ? rst_of(it)->mm : NULL;

		/* the exe first (i == 0), then the VMAs */
		for (i = 0; mm && !ret && i <= mm->n_vmas; i++) {
			VmaEntry *v = i ? mm->vmas[i - 1] : NULL;
			u32 id = v ? v->shmid : mm->exe_file_id;

			if (v && !(v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
				continue;
			for (j = 0; j < nr && seen[j] != id; j++)
				;
			if (j < nr)
				continue;
			ns = xrealloc(seen, (nr + 1) * sizeof(*seen));
			if (!ns) {
				ret = -1;
				break;
			}
			seen = ns;
			seen[nr++] = id;
			if (v)
				snprintf(role, sizeof(role), "mapped by pid %d at %llx", it->vpid,
					 (unsigned long long)v->start);
			else
				snprintf(role, sizeof(role), "the executable of pid %d", it->vpid);
			ret = check_identity(id, role);
		}
	}
	free(seen);
	return ret;
}

/* mount-rst.c: the paths are the tree's own mounts', checked once they are there */
int reg_check_identities(void)
{
	return check_identities();
}

static int reg_collect(void)
{
	if (mounts_in_images())
		return read_remaps();
	return read_remaps() || check_identities() ? -1 : 0;
}

static int copy_ghost_chunks(struct cr_img *img, int fd, const char *path)
{
	char *buf = NULL;
	size_t cap = 0;
	int ret;

	for (;;) {
		GhostChunkEntry *ce;

		ret = pb_read_one_eof(img, (void **)&ce, &ghost_chunk_entry__descriptor);
		if (ret <= 0)
			break;
		if (ce->len > cap) {
			char *nb = xrealloc(buf, ce->len);

			if (!nb) {
				pb_free(ce);
				ret = -1;
				break;
			}
			buf = nb;
			cap = ce->len;
		}
		ret = img_read_raw(img, buf, ce->len);
		if (!ret && pwrite(fd, buf, ce->len, ce->off) != (ssize_t)ce->len) {
			pr_perror("cannot write to ghost file %s", path);
			ret = -1;
		}
		pb_free(ce);
		if (ret)
			break;
	}
	free(buf);
	return ret;
}

/* A deleted FIFO: a new one at the old path (or next to it), no contents. */
static int create_ghost_fifo(GhostFileEntry *ge, RegFileEntry *re, u32 gid, char *path,
			     size_t len)
{
	struct timespec ts[2];

	snprintf(path, len, "%s", re->name);
	if (mkfifo(path, ge->mode & 07777)) {
		snprintf(path, len, "%s.cr-ghost.%u", re->name, gid);
		if (mkfifo(path, ge->mode & 07777)) {
			pr_perror("cannot recreate deleted FIFO %s", re->name);
			return -1;
		}
		pr_warn("deleted FIFO %s restored under %s\n", re->name, path);
	}
	if (chown(path, ge->uid, ge->gid) && errno != EPERM && errno != EINVAL) {
		pr_perror("cannot chown ghost FIFO %s", path);
		unlink(path);
		return -1;
	}
	if (ge->atim && ge->mtim) {
		ts[0].tv_sec = ge->atim->tv_sec;
		ts[0].tv_nsec = ge->atim->tv_usec * 1000;
		ts[1].tv_sec = ge->mtim->tv_sec;
		ts[1].tv_nsec = ge->mtim->tv_usec * 1000;
		utimensat(AT_FDCWD, path, ts, 0);
	}
	return 0;
}

/* Recreate a deleted file at its old path, so /proc shows the same name. */
static int create_ghost(struct remap *r, RegFileEntry *re, char *path, size_t len)
{
	GhostFileEntry *ge;
	struct cr_img *img;
	struct timespec ts[2];
	int fd = -1, ret = -1;

	img = open_image(CR_FD_GHOST_FILE, O_RSTR, (unsigned long)r->ghost_id);
	if (!img)
		return -1;
	if (pb_read_one(img, (void **)&ge, &ghost_file_entry__descriptor) < 0)
		goto out;
	if (!ge->chunks) {
		pr_err("%s: only chunked ghost files are supported\n", img->name);
		goto out_free;
	}
	if (S_ISFIFO(ge->mode)) {
		ret = create_ghost_fifo(ge, re, r->ghost_id, path, len);
		goto out_free;
	}
	snprintf(path, len, "%s", re->name);
	fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, ge->mode & 07777);
	if (fd < 0) {
		/* the name is taken again: keep the contents under another one */
		snprintf(path, len, "%s.cr-ghost.%u", re->name, r->ghost_id);
		fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, ge->mode & 07777);
		if (fd < 0) {
			pr_perror("cannot recreate deleted file %s", re->name);
			goto out_free;
		}
		pr_warn("deleted file %s restored under %s\n", re->name, path);
	}
	if (copy_ghost_chunks(img, fd, path) || ftruncate(fd, ge->size)) {
		pr_perror("cannot fill ghost file %s", path);
		goto out_unlink;
	}
	if (fchown(fd, ge->uid, ge->gid) && errno != EPERM && errno != EINVAL) {
		pr_perror("cannot chown ghost file %s", path);
		goto out_unlink;
	}
	if (ge->atim && ge->mtim) {
		ts[0].tv_sec = ge->atim->tv_sec;
		ts[0].tv_nsec = ge->atim->tv_usec * 1000;
		ts[1].tv_sec = ge->mtim->tv_sec;
		ts[1].tv_nsec = ge->mtim->tv_usec * 1000;
		futimens(fd, ts);
	}
	ret = 0;
	goto out_close;
out_unlink:
	unlink(path);
out_close:
	close(fd);
out_free:
	pb_free(ge);
out:
	close_image(img);
	return ret;
}

int reg_open_name(FileEntry *fe, char *path, size_t len)
{
	struct remap *r = find_remap(fe->id);

	if (!r) {
		snprintf(path, len, "%s", fe->reg->name);
		return 0;
	}
	return create_ghost(r, fe->reg, path, len) ? -1 : 1;
}

/*
 * /proc/PID/... of a task of the tree exists only once that task does,
 * in the tree's /proc: the holder opens it itself (reg_tree_done), and
 * its anchor is a stand-in.
 */
static bool is_tree_proc_path(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, "/proc/", 6))
		return false;
	pid = strtol(name + 6, &end, 10);
	return end != name + 6 && (*end == '/' || !*end) && pstree_find_vpid(pid);
}

static int open_reg_path(RegFileEntry *re, const char *path, int *fd)
{
	unsigned int oflags = re->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	int f = open(path, oflags | O_CLOEXEC);

	if (f < 0) {
		pr_perror("cannot open %s (file %u)", re->name, re->id);
		return -1;
	}
	if (re->pos && lseek(f, re->pos, SEEK_SET) < 0) {
		pr_perror("cannot seek %s to %llu", re->name, (unsigned long long)re->pos);
		close(f);
		return -1;
	}
	*fd = f;
	return 0;
}

static int open_own_proc_path(FileEntry *fe, int *fd)
{
	if (!is_tree_proc_path(fe->reg->name))
		return 1;
	return open_reg_path(fe->reg, fe->reg->name, fd) ? -1 : 0;
}

static int reg_tree_done(struct pstree_item *it)
{
	return reopen_task_fds(it, FD_TYPES__REG, open_own_proc_path);
}

static int open_reg_anchor(FileEntry *fe, int *fd)
{
	RegFileEntry *re = fe->reg;
	struct remap *r = find_remap(fe->id);
	unsigned int oflags;
	char ghost[PATH_MAX];
	int f;

	if (!re) {
		pr_err("files.img: file %u of type REG has no reg entry\n", fe->id);
		return -1;
	}
	oflags = re->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	if (!r && is_tree_proc_path(re->name)) {
		*fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			pr_perror("cannot open /dev/null");
		return *fd < 0 ? -1 : 0;
	}
	if (r && create_ghost(r, re, ghost, sizeof(ghost)))
		return -1;
	f = open(r ? ghost : re->name, oflags | O_CLOEXEC);
	if (r)
		unlink(ghost);	/* deleted again, as it was */
	if (f < 0) {
		pr_perror("cannot open %s (file %u)", re->name, fe->id);
		return -1;
	}
	if (re->pos && lseek(f, re->pos, SEEK_SET) < 0) {
		pr_perror("cannot seek %s to %llu", re->name, (unsigned long long)re->pos);
		close(f);
		return -1;
	}
	if (re->has_size && S_ISREG(re->mode) && !r) {
		struct stat st;

		if (!fstat(f, &st) && (u64)st.st_size != re->size)
			pr_warn("%s has %lld bytes now, %llu when dumped\n", re->name,
				(long long)st.st_size, (unsigned long long)re->size);
	}
	if (restore_fown(f, re->fown)) {
		close(f);
		return -1;
	}
	pr_debug("opened %s as file %u (flags 0%o)%s\n", re->name, fe->id, oflags,
		 r ? " from its ghost" : "");
	*fd = f;
	return 0;
}

/* Anything left that has a path: files, directories, devices. */
static bool match_reg(const struct fd_parms *p)
{
	mode_t m = p->st.st_mode;

	if (p->link[0] != '/' || S_ISSOCK(m) || S_ISBLK(m))
		return false;
	return !is_tty(&p->st) || opts.shell_job;
}

const struct fd_kind reg_kind = {
	.name = "file",
	.type = FD_TYPES__REG,
	.match = match_reg,
	.dump = dump_reg_file,
	.dump_fini = reg_dump_fini,
	.collect = reg_collect,
	.open = open_reg_anchor,
	.tree_done = reg_tree_done,
};
