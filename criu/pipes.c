// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes and FIFOs.  Both ends of a pipe share pipe_id (the inode).  The
 * data buffered in a pipe is read without consuming it: the pipe is
 * reopened through /proc/PID/fd/N and tee()d into a pipe of our own.
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

struct seen_pipe {
	struct list_head list;
	u64 ino;
};

static LIST_HEAD(seen_pipes);
static struct cr_img *pipes_data_img, *fifo_data_img;

static bool pipe_seen(u64 ino)
{
	struct seen_pipe *s;

	list_for_each_entry(s, &seen_pipes, list)
		if (s->ino == ino)
			return true;
	s = xzalloc(sizeof(*s));
	if (s) {
		s->ino = ino;
		list_add(&s->list, &seen_pipes);
	}
	return false;
}

/* Write a pipe_data_entry and the buffered bytes, once per pipe. */
static int dump_pipe_data(struct fd_parms *p, struct cr_img **imgp, int type)
{
	PipeDataEntry pde = PIPE_DATA_ENTRY__INIT;
	int src, tmp[2] = { -1, -1 }, size, ret = -1;
	ssize_t bytes = 0;
	char *buf = NULL;

	if (pipe_seen(p->st.st_ino))
		return 0;

	/* reopening a pipe for reading, non-blocking, never waits */
	src = open(p->proc_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (src < 0) {
		pr_perror("cannot reopen pipe %s of pid %d through %s", p->link, p->pid,
			  p->proc_path);
		return -1;
	}
	size = fcntl(src, F_GETPIPE_SZ);
	if (size < 0 || pipe2(tmp, O_CLOEXEC | O_NONBLOCK)) {
		pr_perror("cannot set up reading pipe %s", p->link);
		goto out;
	}
	if (fcntl(tmp[1], F_SETPIPE_SZ, size) < size) {
		pr_perror("cannot grow a pipe to %d bytes", size);
		goto out;
	}
	bytes = tee(src, tmp[1], size, SPLICE_F_NONBLOCK);
	if (bytes < 0) {
		if (errno != EAGAIN) {
			pr_perror("cannot peek into pipe %s", p->link);
			goto out;
		}
		bytes = 0;
	}

	if (!*imgp) {
		*imgp = open_image(type, O_DUMP);
		if (!*imgp)
			goto out;
	}
	pde.pipe_id = p->st.st_ino;
	pde.bytes = bytes;
	pde.has_size = true;
	pde.size = size;
	if (pb_write(*imgp, &pde))
		goto out;
	if (bytes) {
		buf = xmalloc(bytes);
		if (!buf || read_all(tmp[0], buf, bytes) != bytes) {
			pr_perror("cannot read data of pipe %s", p->link);
			goto out;
		}
		if (img_write_raw(*imgp, buf, bytes))
			goto out;
	}
	pr_debug("pipe %s: %zd bytes buffered, size %d\n", p->link, bytes, size);
	ret = 0;
out:
	free(buf);
	close(src);
	close_safe(&tmp[0]);
	close_safe(&tmp[1]);
	return ret;
}

int dump_pipe(struct fd_parms *p, u32 id)
{
	PipeEntry pe = PIPE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;

	pe.id = id;
	pe.pipe_id = p->st.st_ino;
	pe.flags = p->flags;
	pe.fown = &fown;
	fe.type = FD_TYPES__PIPE;
	fe.id = id;
	fe.pipe = &pe;
	if (dump_pipe_data(p, &pipes_data_img, CR_FD_PIPES_DATA))
		return -1;
	return write_file_entry(&fe);
}

int dump_fifo(struct fd_parms *p, u32 id)
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
	if (dump_pipe_data(p, &fifo_data_img, CR_FD_FIFO_DATA))
		return -1;
	return write_file_entry(&fe);
}

int pipes_dump_fini(void)
{
	struct seen_pipe *s, *n;
	int ret = 0;

	list_for_each_entry_safe(s, n, &seen_pipes, list) {
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
