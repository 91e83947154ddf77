// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes and FIFOs.  Both ends of a pipe share pipe_id (the inode).  The
 * data buffered in a pipe is read without consuming it: tee()d from a
 * read end into a pipe of our own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "fifo.pb-c.h"
#include "pipe-data.pb-c.h"
#include "pipe.pb-c.h"
#include "regfile.pb-c.h"
#include "util.h"

/*
 * Every pipe inode met so far.  Its data is read once, with tee() from
 * criu's own copy (pidfd_getfd) of a read end: no reopening, which
 * checks the inode's permissions and fails for a pipe of another user.
 * Until a read end turns up, a copy of a write end is kept: at the end
 * of the dump, reopening that one is the last way left to the data.
 */
struct seen_pipe {
	struct list_head list;
	u64 ino;
	bool fifo;
	bool done;		/* its pipe_data_entry is written */
	int wfd;		/* a write end, while !done; else -1 */
	char link[64];
};

static LIST_HEAD(seen_pipes);
static struct cr_img *pipes_data_img, *fifo_data_img;

static struct seen_pipe *get_seen_pipe(const struct fd_parms *p, bool fifo)
{
	struct seen_pipe *s;

	list_for_each_entry(s, &seen_pipes, list)
		if (s->ino == p->st.st_ino && s->fifo == fifo)
			return s;
	s = xzalloc(sizeof(*s));
	if (!s)
		return NULL;
	s->ino = p->st.st_ino;
	s->fifo = fifo;
	s->wfd = -1;
	snprintf(s->link, sizeof(s->link), "%.*s", (int)sizeof(s->link) - 1, p->link);
	list_add_tail(&s->list, &seen_pipes);
	return s;
}

/* Copy what is buffered in the pipe behind the read end src into buf. */
static ssize_t peek_pipe(int src, int size, char **buf, const char *link)
{
	int tmp[2] = { -1, -1 };
	ssize_t bytes = -1;

	*buf = NULL;
	if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("cannot set up reading pipe %s", link);
		return -1;
	}
	if (fcntl(tmp[1], F_SETPIPE_SZ, size) < size) {
		pr_perror("cannot grow a pipe to %d bytes", size);
		goto out;
	}
	bytes = tee(src, tmp[1], size, SPLICE_F_NONBLOCK);
	if (bytes < 0) {
		if (errno != EAGAIN) {
			pr_perror("cannot peek into pipe %s", link);
			goto out;
		}
		bytes = 0;
	}
	if (bytes && (!(*buf = xmalloc(bytes)) || read_all(tmp[0], *buf, bytes) != bytes)) {
		pr_perror("cannot read data of pipe %s", link);
		free(*buf);
		*buf = NULL;
		bytes = -1;
	}
out:
	close_safe(&tmp[0]);
	close_safe(&tmp[1]);
	return bytes;
}

/* Write a pipe_data_entry and the bytes; src < 0: the data is lost. */
static int write_pipe_data(struct seen_pipe *s, int src, int size)
{
	struct cr_img **imgp = s->fifo ? &fifo_data_img : &pipes_data_img;
	PipeDataEntry pde = PIPE_DATA_ENTRY__INIT;
	char *buf = NULL;
	ssize_t bytes = 0;
	int ret = -1;

	if (src >= 0) {
		bytes = peek_pipe(src, size, &buf, s->link);
		if (bytes < 0)
			return -1;
	}
	if (!*imgp) {
		*imgp = open_image(s->fifo ? CR_FD_FIFO_DATA : CR_FD_PIPES_DATA, O_DUMP);
		if (!*imgp)
			goto out;
	}
	pde.pipe_id = s->ino;
	pde.bytes = bytes;
	pde.has_size = true;
	pde.size = size;
	if (pb_write(*imgp, &pde) || (bytes && img_write_raw(*imgp, buf, bytes)))
		goto out;
	pr_debug("pipe %s: %zd bytes buffered, size %d\n", s->link, bytes, size);
	s->done = true;
	close_safe(&s->wfd);
	ret = 0;
out:
	free(buf);
	return ret;
}

/*
 * Dump the data of p's pipe now if p is a read end; a write end keeps
 * it waiting for a read end elsewhere in the tree (see pipes_dump_fini).
 */
static int dump_pipe_data(struct fd_parms *p, bool fifo)
{
	struct seen_pipe *s = get_seen_pipe(p, fifo);
	int size;

	if (!s)
		return -1;
	if (s->done)
		return 0;
	if ((p->flags & O_ACCMODE) != O_WRONLY) {
		size = fcntl(p->lfd, F_GETPIPE_SZ);
		if (size < 0) {
			pr_perror("cannot get the size of pipe %s", p->link);
			return -1;
		}
		return write_pipe_data(s, p->lfd, size);
	}
	if (s->wfd < 0) {
		s->wfd = fcntl(p->lfd, F_DUPFD_CLOEXEC, 0);
		if (s->wfd < 0) {
			pr_perror("cannot keep a write end of pipe %s", p->link);
			return -1;
		}
	}
	return 0;
}

/* No read end in the tree: reopen the write end for reading, if we may. */
static int dump_orphan_data(struct seen_pipe *s)
{
	char path[64];
	int size, src, ret;

	size = fcntl(s->wfd, F_GETPIPE_SZ);
	if (size < 0) {
		pr_perror("cannot get the size of pipe %s", s->link);
		return -1;
	}
	/* non-blocking: a pipe reopened for reading never waits */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s->wfd);
	src = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (src < 0) {
		pr_warn("pipe %s: no read end in the tree and it cannot be reopened (%s); "
			"its buffered data is not dumped (nobody could read it)\n",
			s->link, strerror(errno));
		return write_pipe_data(s, -1, size);
	}
	pr_info("pipe %s: no read end in the tree, data read through a reopened end\n",
		s->link);
	ret = write_pipe_data(s, src, size);
	close(src);
	return ret;
}

static int dump_pipe(struct fd_parms *p, u32 id)
{
	PipeEntry pe = PIPE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;

	pe.id = id;
	pe.pipe_id = p->st.st_ino;
	pe.flags = p->flags;
	pe.fown = &fown;
	if (dump_fown(p, &fown))
		return -1;
	fe.type = FD_TYPES__PIPE;
	fe.id = id;
	fe.pipe = &pe;
	if (dump_pipe_data(p, false))
		return -1;
	return write_file_entry(&fe);
}

static int dump_fifo(struct fd_parms *p, u32 id)
{
	FifoEntry fi = FIFO_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	u32 regf_id = new_file_id();

	/* the path and open flags live in a regular file entry */
	if (dump_reg_file(p, regf_id))
		return -1;
	fi.id = id;
	fi.pipe_id = p->st.st_ino;
	fi.has_regf_id = true;
	fi.regf_id = regf_id;
	fe.type = FD_TYPES__FIFO;
	fe.id = id;
	fe.fifo = &fi;
	if (dump_pipe_data(p, true))
		return -1;
	return write_file_entry(&fe);
}

static int pipes_dump_fini(void)
{
	struct seen_pipe *s, *n;
	int ret = 0;

	list_for_each_entry_safe(s, n, &seen_pipes, list) {
		if (!s->done && s->wfd >= 0 && !ret && dump_orphan_data(s))
			ret = -1;
		close_safe(&s->wfd);
		list_del(&s->list);
		free(s);
	}
	if (pipes_data_img && close_image(pipes_data_img))
		ret = -1;
	if (fifo_data_img && close_image(fifo_data_img))
		ret = -1;
	pipes_data_img = fifo_data_img = NULL;
	return ret;
}

/* ---- restore ---- */

struct pipe_data {
	struct list_head list;
	bool fifo;
	u32 pipe_id;
	u32 size;		/* 0: leave the default */
	u32 bytes;
	char *data;
};

/* a pipe made for the restore; its two ends anchor every description */
struct pipe_obj {
	struct list_head list;
	u32 pipe_id;
	int ends[2];
	bool used[2];		/* an end's own description is taken */
};

static LIST_HEAD(pipe_datas);
static LIST_HEAD(pipe_objs);

static int read_data_image(int type, bool fifo)
{
	struct cr_img *img = open_image(type, O_RSTR | O_OPT);
	int ret;

	if (!img)
		return -1;
	for (;;) {
		PipeDataEntry *pde;
		struct pipe_data *pd;

		ret = pb_read_one_eof(img, (void **)&pde, &pipe_data_entry__descriptor);
		if (ret <= 0)
			break;
		pd = xzalloc(sizeof(*pd));
		if (!pd || (pde->bytes && !(pd->data = xmalloc(pde->bytes)))) {
			pb_free(pde);
			free(pd);
			ret = -1;
			break;
		}
		pd->fifo = fifo;
		pd->pipe_id = pde->pipe_id;
		pd->size = pde->has_size ? pde->size : 0;
		pd->bytes = pde->bytes;
		pb_free(pde);
		list_add_tail(&pd->list, &pipe_datas);
		if (pd->bytes && img_read_raw(img, pd->data, pd->bytes)) {
			ret = -1;
			break;
		}
	}
	close_image(img);
	return ret < 0 ? -1 : 0;
}

static int read_pipes_data(void)
{
	return read_data_image(CR_FD_PIPES_DATA, false) || read_data_image(CR_FD_FIFO_DATA, true);
}

static struct pipe_data *find_pipe_data(u32 pipe_id, bool fifo)
{
	struct pipe_data *pd;

	list_for_each_entry(pd, &pipe_datas, list)
		if (pd->pipe_id == pipe_id && pd->fifo == fifo)
			return pd;
	return NULL;
}

/* Size the pipe and put back what was buffered in it. */
static int fill_pipe(int wfd, struct pipe_data *pd, const char *what)
{
	if (!pd)
		return 0;
	if (pd->size && fcntl(wfd, F_SETPIPE_SZ, pd->size) < 0) {
		pr_perror("cannot size %s %u to %u bytes", what, pd->pipe_id, pd->size);
		return -1;
	}
	if (pd->bytes && write_all(wfd, pd->data, pd->bytes) != pd->bytes) {
		pr_perror("cannot refill %s %u with %u bytes", what, pd->pipe_id, pd->bytes);
		return -1;
	}
	return 0;
}

/* A new description of the same pipe: reopening through /proc never
 * blocks here, since both ends are held open. */
static int reopen_end(int fd, unsigned int flags, int *out)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	*out = open(path, (flags & (O_ACCMODE | O_NONBLOCK | O_ASYNC)) | O_CLOEXEC);
	if (*out < 0) {
		pr_perror("cannot reopen %s", path);
		return -1;
	}
	return 0;
}

static int open_pipe_anchor(FileEntry *fe, int *fd)
{
	PipeEntry *pe = fe->pipe;
	struct pipe_obj *po;
	int end;

	if (!pe) {
		pr_err("files.img: file %u of type PIPE has no pipe entry\n", fe->id);
		return -1;
	}
	list_for_each_entry(po, &pipe_objs, list)
		if (po->pipe_id == pe->pipe_id)
			goto found;

	po = xzalloc(sizeof(*po));
	if (!po)
		return -1;
	if (pipe2(po->ends, O_CLOEXEC)) {
		pr_perror("cannot create pipe %u", pe->pipe_id);
		free(po);
		return -1;
	}
	po->pipe_id = pe->pipe_id;
	list_add(&po->list, &pipe_objs);
	po->ends[0] = move_to_svc(po->ends[0]);
	po->ends[1] = move_to_svc(po->ends[1]);
	if (po->ends[0] < 0 || po->ends[1] < 0 ||
	    fill_pipe(po->ends[1], find_pipe_data(pe->pipe_id, false), "pipe"))
		return -1;
found:
	end = (pe->flags & O_ACCMODE) == O_RDONLY ? 0 : 1;
	if (po->used[end])
		return reopen_end(po->ends[end], pe->flags, fd) || restore_fown(*fd, pe->fown);
	/*
	 * The first description of each end is the one pipe2() made: a
	 * reopened one would carry O_LARGEFILE, which pipes never have.
	 */
	po->used[end] = true;
	if (fcntl(po->ends[end], F_SETFL, pe->flags & (O_NONBLOCK | O_ASYNC))) {
		pr_perror("cannot set the flags of pipe %u", pe->pipe_id);
		return -1;
	}
	*fd = fcntl(po->ends[end], F_DUPFD, svc_fd_base);
	if (*fd < 0) {
		pr_perror("cannot duplicate pipe %u", pe->pipe_id);
		return -1;
	}
	return restore_fown(*fd, pe->fown);
}

static int open_fifo_anchor(FileEntry *fe, int *fd)
{
	FifoEntry *fi = fe->fifo;
	FileEntry *rfe = fi && fi->has_regf_id ? find_file_entry(fi->regf_id) : NULL;
	struct pipe_obj *po;
	unsigned int flags;
	char path[PATH_MAX];
	const char *name;
	int f, ghost;

	if (!rfe || !rfe->reg) {
		pr_err("files.img: FIFO file %u has no path entry\n", fe->id);
		return -1;
	}
	name = rfe->reg->name;
	flags = rfe->reg->flags;
	list_for_each_entry(po, &pipe_objs, list)
		if (po->pipe_id == fi->pipe_id)
			goto found;

	/* a deleted FIFO is made again and unlinked once held open */
	ghost = reg_open_name(rfe, path, sizeof(path));
	if (ghost < 0)
		return -1;
	po = xzalloc(sizeof(*po));
	if (!po)
		return -1;
	po->pipe_id = fi->pipe_id;
	/* read-write and non-blocking: opening a FIFO this way never waits */
	po->ends[0] = po->ends[1] = move_to_svc(open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC));
	if (ghost)
		unlink(path);
	list_add(&po->list, &pipe_objs);
	if (po->ends[0] < 0) {
		pr_perror("cannot open FIFO %s", name);
		return -1;
	}
	if (fill_pipe(po->ends[1], find_pipe_data(fi->pipe_id, true), "FIFO"))
		return -1;
found:
	/* through the holder: the same inode even once the name is gone */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", po->ends[0]);
	f = open(path, (flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
	if (f < 0) {
		pr_perror("cannot open FIFO %s", name);
		return -1;
	}
	if (fcntl(f, F_SETFL, flags & ~O_ACCMODE) || restore_fown(f, rfe->reg->fown)) {
		pr_perror("cannot set the flags of FIFO %s", name);
		close(f);
		return -1;
	}
	*fd = f;
	return 0;
}

void close_pipe_holders(void)
{
	struct pipe_obj *po, *n;

	list_for_each_entry_safe(po, n, &pipe_objs, list) {
		close(po->ends[0]);
		if (po->ends[1] != po->ends[0])
			close(po->ends[1]);
		list_del(&po->list);
		free(po);
	}
}

static bool is_pipe(const struct fd_parms *p)
{
	return S_ISFIFO(p->st.st_mode) && !strncmp(p->link, "pipe:", 5);
}

static bool is_fifo(const struct fd_parms *p)
{
	return S_ISFIFO(p->st.st_mode) && strncmp(p->link, "pipe:", 5);
}

/* The data images of both are read and closed by the pipe kind. */
const struct fd_kind pipe_kind = {
	.name = "pipe",
	.type = FD_TYPES__PIPE,
	.match = is_pipe,
	.dump = dump_pipe,
	.dump_fini = pipes_dump_fini,
	.collect = read_pipes_data,
	.open = open_pipe_anchor,
};

const struct fd_kind fifo_kind = {
	.name = "fifo",
	.type = FD_TYPES__FIFO,
	.match = is_fifo,
	.dump = dump_fifo,
	.open = open_fifo_anchor,
};
