// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files, directories and device nodes, reopened by path.  A file
 * that was unlinked while open or mapped is a "ghost": its contents go
 * into ghost-file-<id>.img, and remap-fpath.img points the file at it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "ghost-file.pb-c.h"
#include "mem.h"
#include "regfile.pb-c.h"
#include "remap-file-path.pb-c.h"
#include "util.h"

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
				pr_perror("cannot read deleted file %s at %lld", name, (long long)off);
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
	int fd, ret = -1;

	if (!S_ISREG(p->st.st_mode)) {
		pr_err("unsupported: pid %d has a deleted %s open: %s\n", p->pid,
		       S_ISDIR(p->st.st_mode) ? "directory" : "special file", p->link);
		return -1;
	}
	fd = open(p->proc_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("cannot open deleted file %s through %s", p->link, p->proc_path);
		return -1;
	}

	ge.uid = p->st.st_uid;
	ge.gid = p->st.st_gid;
	ge.mode = p->st.st_mode;
	ge.has_dev = ge.has_ino = ge.has_size = ge.has_chunks = true;
	ge.dev = p->st.st_dev;
	ge.ino = p->st.st_ino;
	ge.size = p->st.st_size;
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
	if (pb_write(img, &ge) || write_ghost_chunks(img, fd, p->link, p->st.st_size)) {
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
		(long long)p->st.st_size, gid);
out:
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

	fe.type = FD_TYPES__REG;
	fe.id = id;
	fe.reg = &re;
	if (deleted && dump_ghost(p, id))
		return -1;
	return write_file_entry(&fe);
}

int reg_dump_fini(void)
{
	int ret = 0;

	if (remap_img && close_image(remap_img))
		ret = -1;
	remap_img = NULL;
	return ret;
}
