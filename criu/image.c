// SPDX-License-Identifier: GPL-2.0
/*
 * Image files: a set magic (except inventory), the image magic, then
 * entries, each a little-endian u32 length and a protobuf message.
 * Pages images are raw.  Every read error names the file, the offset
 * and what was expected there.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "image.h"
#include "magic.h"
#include "util.h"

#define IMG_BUF_SIZE (64 << 10)
#define MAX_ENTRY_SIZE (64 << 20)

struct img_desc {
	const char *fmt;
	u32 magic;
	u32 set_magic;		/* 0: none, raw: no header at all */
	bool raw;
};

static const struct img_desc img_descs[CR_FD_MAX] = {
	[CR_FD_INVENTORY]	= { "inventory.img", INVENTORY_MAGIC, 0 },
	[CR_FD_PSTREE]		= { "pstree.img", PSTREE_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_CORE]		= { "core-%lu.img", CORE_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_IDS]		= { "ids-%lu.img", IDS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_MM]		= { "mm-%lu.img", MM_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_PAGEMAP]		= { "pagemap-%lu.img", PAGEMAP_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_SHMEM_PAGEMAP]	= { "pagemap-shmem-%lu.img", SHMEM_PAGEMAP_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_PAGES]		= { "pages-%lu.img", 0, 0, true },
	[CR_FD_FILES]		= { "files.img", FILES_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_FDINFO]		= { "fdinfo-%lu.img", FDINFO_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_FS]		= { "fs-%lu.img", FS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_PIPES_DATA]	= { "pipes-data.img", PIPES_DATA_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_FIFO_DATA]	= { "fifo-data.img", FIFO_DATA_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_SECCOMP]		= { "seccomp.img", SECCOMP_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_TIMENS]		= { "timens-%lu.img", TIMENS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_STATS]		= { "stats-%s", STATS_MAGIC, IMG_SERVICE_MAGIC },
	[CR_FD_USERNS]		= { "userns-%lu.img", USERNS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_UTSNS]		= { "utsns-%lu.img", UTSNS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_PIDNS]		= { "pidns-%lu.img", PIDNS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_GHOST_FILE]	= { "ghost-file-%lx.img", GHOST_FILE_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_REMAP_FPATH]	= { "remap-fpath.img", REMAP_FPATH_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_MEMFD_INODE]	= { "memfd.img", MEMFD_INODE_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_NETDEV]		= { "netdev-%lu.img", NETDEV_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_NETNS]		= { "netns-%lu.img", NETNS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_FILE_LOCKS]	= { "filelocks.img", FILE_LOCKS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_TTY_INFO]	= { "tty-info.img", TTY_INFO_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_TTY_DATA]	= { "tty-data.img", TTY_DATA_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_SK_QUEUES]	= { "sk-queues.img", SK_QUEUES_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_IPC_VAR]		= { "ipcns-var-%lu.img", IPC_VAR_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_IPCNS_SHM]	= { "ipcns-shm-%lu.img", IPCNS_SHM_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_IPCNS_MSG]	= { "ipcns-msg-%lu.img", IPCNS_MSG_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_IPCNS_SEM]	= { "ipcns-sem-%lu.img", IPCNS_SEM_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_TCP_STREAM]	= { "tcp-stream-%lx.img", TCP_STREAM_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_CPUINFO]		= { "cpuinfo.img", CPUINFO_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_MNTS]		= { "mountpoints-%lu.img", MNTS_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_TMPFS_DEV]	= { "tmpfs-dev-%lu.tar.gz.img", 0, 0, true },
	[CR_FD_CGROUP]		= { "cgroup.img", CGROUP_MAGIC, IMG_COMMON_MAGIC },
	[CR_FD_IFADDR]		= { "ifaddr-%lu.img", 0, 0, true },	/* iproute2's save */
	[CR_FD_ROUTE]		= { "route-%lu.img", 0, 0, true },
	[CR_FD_ROUTE6]		= { "route6-%lu.img", 0, 0, true },
	[CR_FD_RULE]		= { "rule-%lu.img", 0, 0, true },
};

static int image_dir_fd = -1;

int open_image_dir(const char *dir, bool create)
{
	if (create && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		pr_perror("cannot create image directory %s", dir);
		return -1;
	}
	image_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (image_dir_fd < 0) {
		pr_perror("cannot open image directory %s", dir);
		return -1;
	}
	return 0;
}

int move_image_dir_fd(int base)
{
	int fd = fcntl(image_dir_fd, F_DUPFD_CLOEXEC, base);

	if (fd < 0) {
		pr_perror("cannot move the image directory fd above %d", base);
		return -1;
	}
	close(image_dir_fd);
	image_dir_fd = fd;
	return 0;
}

int get_image_dir_fd(void)
{
	return image_dir_fd;
}

void close_image_dir(void)
{
	close_safe(&image_dir_fd);
}

const char *image_name_fmt(int type)
{
	return img_descs[type].fmt;
}

static int write_header(struct cr_img *img)
{
	const struct img_desc *d = &img_descs[img->type];
	u32 hdr[2];
	int n = 0;

	if (d->raw)
		return 0;
	if (d->set_magic)
		hdr[n++] = d->set_magic;
	hdr[n++] = d->magic;
	return img_write_raw(img, hdr, n * sizeof(u32));
}

static int check_header(struct cr_img *img)
{
	const struct img_desc *d = &img_descs[img->type];
	u32 m;

	if (d->raw)
		return 0;
	if (d->set_magic) {
		if (img_read_raw(img, &m, sizeof(m)))
			return -1;
		if (m != d->set_magic) {
			pr_err("%s: bad set magic 0x%08x at offset 0, expected 0x%08x\n",
			       img->name, m, d->set_magic);
			return -1;
		}
	}
	if (img_read_raw(img, &m, sizeof(m)))
		return -1;
	if (m != d->magic) {
		pr_err("%s: bad magic 0x%08x at offset %ld, expected 0x%08x\n",
		       img->name, m, (long)img->off - 4, d->magic);
		return -1;
	}
	return 0;
}

static struct cr_img *open_image_va(int dfd, int type, int flags, va_list args)
{
	struct cr_img *img;
	bool optional = flags & O_OPT;

	img = xzalloc(sizeof(*img));
	if (!img)
		return NULL;
	img->type = type;
	img->writing = (flags & O_ACCMODE) != O_RDONLY;
	vsnprintf(img->name, sizeof(img->name), img_descs[type].fmt, args);

	flags &= ~O_OPT;
	img->fd = fault_hit(FI_IMG_OPEN) ? -1 :
		  openat(dfd, img->name, flags | O_CLOEXEC, 0600);
	if (img->fd < 0) {
		if (optional && errno == ENOENT)
			return img;
		pr_perror("cannot open image %s", img->name);
		goto err;
	}

	if (img->writing) {
		if (write_header(img))
			goto err;
	} else if (check_header(img)) {
		goto err;
	}
	return img;
err:
	if (img->fd >= 0)
		close(img->fd);
	free(img->buf);
	free(img);
	return NULL;
}

struct cr_img *open_image(int type, int flags, ...)
{
	struct cr_img *img;
	va_list args;

	va_start(args, flags);
	img = open_image_va(image_dir_fd, type, flags, args);
	va_end(args);
	return img;
}

struct cr_img *open_image_at(int dfd, int type, int flags, ...)
{
	struct cr_img *img;
	va_list args;

	va_start(args, flags);
	img = open_image_va(dfd, type, flags, args);
	va_end(args);
	return img;
}

int img_raw_fd(struct cr_img *img)
{
	if (img_flush(img))
		return -1;
	return img->fd;
}

int img_flush(struct cr_img *img)
{
	if (!img->buf_len)
		return 0;
	if (fault_hit(FI_IMG_WRITE) || write_all(img->fd, img->buf, img->buf_len) < 0) {
		pr_perror("cannot write image %s at offset %ld", img->name,
			  (long)(img->off - img->buf_len));
		return -1;
	}
	img->buf_len = 0;
	return 0;
}

int img_write_raw(struct cr_img *img, const void *data, size_t len)
{
	/* Big chunks go straight to the file, small ones are batched. */
	if (len >= IMG_BUF_SIZE / 2) {
		if (img_flush(img))
			return -1;
		if (fault_hit(FI_IMG_WRITE) || write_all(img->fd, data, len) < 0) {
			pr_perror("cannot write %zu bytes to image %s at offset %ld",
				  len, img->name, (long)img->off);
			return -1;
		}
		img->off += len;
		return 0;
	}
	if (!img->buf) {
		img->buf = xmalloc(IMG_BUF_SIZE);
		if (!img->buf)
			return -1;
	}
	if (img->buf_len + len > IMG_BUF_SIZE && img_flush(img))
		return -1;
	memcpy(img->buf + img->buf_len, data, len);
	img->buf_len += len;
	img->off += len;
	return 0;
}

/* Returns 0, or -1 with a message (also on a short read). */
int img_read_raw(struct cr_img *img, void *data, size_t len)
{
	ssize_t n = fault_hit(FI_IMG_READ) ? -1 : read_all(img->fd, data, len);

	if (n < 0) {
		pr_perror("cannot read image %s at offset %ld", img->name, (long)img->off);
		return -1;
	}
	if ((size_t)n != len) {
		pr_err("%s: truncated at offset %ld: expected %zu bytes, got %zd\n",
		       img->name, (long)img->off, len, n);
		return -1;
	}
	img->off += len;
	return 0;
}

int close_image(struct cr_img *img)
{
	int ret = 0;

	if (!img)
		return 0;
	if (img->fd >= 0) {
		if (img->writing && img_flush(img))
			ret = -1;
		if (close(img->fd) && img->writing) {
			pr_perror("cannot close image %s", img->name);
			ret = -1;
		}
	}
	free(img->buf);
	free(img);
	return ret;
}

int pb_write_one(struct cr_img *img, const ProtobufCMessage *msg)
{
	u8 stackbuf[1024];
	size_t size = protobuf_c_message_get_packed_size(msg);
	u8 *buf = stackbuf;
	u32 len = size;
	int ret;

	if (size > sizeof(stackbuf)) {
		buf = xmalloc(size);
		if (!buf)
			return -1;
	}
	protobuf_c_message_pack(msg, buf);
	ret = img_write_raw(img, &len, sizeof(len));
	if (!ret)
		ret = img_write_raw(img, buf, size);
	if (buf != stackbuf)
		free(buf);
	return ret;
}

int pb_read_one_eof(struct cr_img *img, void **msg, const ProtobufCMessageDescriptor *d)
{
	u32 len;
	u8 *buf;
	ssize_t n;
	off_t start = img->off;

	*msg = NULL;
	if (empty_image(img))
		return 0;

	n = fault_hit(FI_IMG_READ) ? -1 : read_all(img->fd, &len, sizeof(len));
	if (n == 0)
		return 0;
	if (n < 0) {
		pr_perror("cannot read image %s at offset %ld", img->name, (long)start);
		return -1;
	}
	if (n != sizeof(len)) {
		pr_err("%s: truncated entry header at offset %ld: expected 4 bytes, got %zd\n",
		       img->name, (long)start, n);
		return -1;
	}
	img->off += n;
	if (len > MAX_ENTRY_SIZE) {
		pr_err("%s: entry at offset %ld claims %u bytes, more than a %s can be\n",
		       img->name, (long)start, len, d->name);
		return -1;
	}
	buf = xmalloc(len);
	if (!buf)
		return -1;
	if (img_read_raw(img, buf, len)) {
		free(buf);
		return -1;
	}
	*msg = protobuf_c_message_unpack(d, NULL, len, buf);
	free(buf);
	if (!*msg) {
		pr_err("%s: entry at offset %ld (%u bytes) does not decode as %s\n",
		       img->name, (long)start, len, d->name);
		return -1;
	}
	return 1;
}

int pb_read_all(int type, int flags, const ProtobufCMessageDescriptor *d,
		int (*take)(void *msg, void *arg), void *arg, ...)
{
	unsigned long id;
	struct cr_img *img;
	va_list ap;
	int ret;

	va_start(ap, arg);
	id = va_arg(ap, unsigned long);
	va_end(ap);
	img = open_image(type, flags, id);
	if (!img)
		return -1;
	for (;;) {
		void *msg;

		ret = pb_read_one_eof(img, &msg, d);
		if (ret <= 0)
			break;
		ret = take(msg, arg);
		if (ret) {
			ret = -1;
			break;
		}
	}
	close_image(img);
	return ret < 0 ? -1 : 0;
}

int pb_read_one(struct cr_img *img, void **msg, const ProtobufCMessageDescriptor *d)
{
	int ret = pb_read_one_eof(img, msg, d);

	if (ret == 0) {
		pr_err("%s: no %s entry at offset %ld: the image ends there\n",
		       img->name, d->name, (long)img->off);
		return -1;
	}
	return ret;
}

void pb_free(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

int pb_write_image(int type, const ProtobufCMessage *msg, unsigned long id)
{
	struct cr_img *img;
	int ret;

	img = open_image(type, O_DUMP, id);
	if (!img)
		return -1;
	ret = pb_write_one(img, msg);
	if (close_image(img))
		ret = -1;
	return ret;
}

#define INVENTORY_PART "inventory.img.part"

/*
 * A dump into a directory that held one: the old inventory.img would make
 * the new, unfinished set look complete, so it goes first.
 */
int images_dump_start(void)
{
	const char *names[] = { img_descs[CR_FD_INVENTORY].fmt, INVENTORY_PART };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!unlinkat(image_dir_fd, names[i], 0)) {
			pr_info("removed %s of an earlier dump\n", names[i]);
		} else if (errno != ENOENT) {
			pr_perror("cannot remove the old %s", names[i]);
			return -1;
		}
	}
	return 0;
}

#define SYNC_BATCH 128

/* Sync n open images: writeback of all first, so one journal commit covers them. */
static int sync_batch(int *fds, int n)
{
	int i, ret = 0;

	for (i = 0; i < n; i++)
		sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
	for (i = 0; i < n; i++) {
		if (!ret && fdatasync(fds[i])) {
			pr_perror("cannot sync an image to disk");
			ret = -1;
		}
		close(fds[i]);
	}
	return ret;
}

/*
 * The data of every image in the directory, on disk: fdatasync of each
 * regular file, not syncfs, so the dump does not wait for the writeback of
 * whatever else uses the filesystem.  The pages images were mostly written
 * back while the dump ran (img_start_writeback), so little is left here.
 */
static int images_sync(void)
{
	int dfd, fd, ret = 0, n = 0, total = 0, fds[SYNC_BATCH];
	struct dirent *de;
	DIR *d;

	dfd = openat(image_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		pr_perror("cannot list the image directory");
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		fd = openat(image_dir_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && (errno == ELOOP || errno == ENOENT))
			continue;
		if (fd < 0) {
			pr_perror("cannot open image %s to sync it", de->d_name);
			ret = -1;
			break;
		}
		fds[n++] = fd;
		total++;
		if (n == SYNC_BATCH) {
			ret = sync_batch(fds, n);
			n = 0;
		}
	}
	if (n && sync_batch(fds, n))
		ret = -1;
	closedir(d);
	pr_debug("synced %d images\n", total);
	return ret;
}

/*
 * Start writing back a range just written, without waiting: by the time the
 * dump syncs its images most of the pages are on disk already.
 */
void img_start_writeback(struct cr_img *img, off_t off, size_t len)
{
	if (sync_file_range(img->fd, off, len, SYNC_FILE_RANGE_WRITE))
		pr_debug("sync_file_range on %s: %s\n", img->name, strerror(errno));
}

/*
 * inventory.img is what makes a directory a dump, so it comes last: it is
 * written as inventory.img.part, then the data of every image (the part
 * too) is synced, then it is renamed into place.  A dump that dies at any
 * point leaves no inventory.img, and a crash of the machine cannot leave
 * one whose images are not on disk.  Writing the part before the sync
 * lets one journal commit cover every file.  images_commit_durable()
 * then syncs the directory, which only makes the rename itself durable:
 * a killing dump does that after the kill (a crash kills the tree anyway).
 */
int images_commit_inventory(const ProtobufCMessage *msg)
{
	size_t size = protobuf_c_message_get_packed_size(msg);
	u32 hdr[2] = { INVENTORY_MAGIC, size };
	u8 *buf = xmalloc(sizeof(hdr) + size);
	u64 t0 = now_us();
	int fd = -1, ret = -1;

	if (!buf)
		return -1;
	memcpy(buf, hdr, sizeof(hdr));
	protobuf_c_message_pack(msg, buf + sizeof(hdr));
	fd = openat(image_dir_fd, INVENTORY_PART, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, buf, sizeof(hdr) + size) < 0) {
		pr_perror("cannot write %s", INVENTORY_PART);
		goto out;
	}
	if (images_sync())
		goto out;
	if (renameat(image_dir_fd, INVENTORY_PART, image_dir_fd, img_descs[CR_FD_INVENTORY].fmt)) {
		pr_perror("cannot put inventory.img in place");
		goto out;
	}
	pr_info("images synced and inventory.img in place in %llu us\n",
		(unsigned long long)(now_us() - t0));
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

int images_commit_durable(void)
{
	u64 t0 = now_us();

	if (fsync(image_dir_fd)) {
		pr_perror("cannot sync the image directory");
		return -1;
	}
	pr_debug("image directory synced in %llu us\n", (unsigned long long)(now_us() - t0));
	return 0;
}

/* A dump that fails after its inventory was committed must not pass for one. */
void images_uncommit_inventory(void)
{
	if (unlinkat(image_dir_fd, img_descs[CR_FD_INVENTORY].fmt, 0) && errno != ENOENT)
		pr_perror("cannot remove inventory.img of the failed dump");
}

int pb_read_image(int type, int flags, void **msg, const ProtobufCMessageDescriptor *d,
		  unsigned long id)
{
	struct cr_img *img;
	int ret;

	*msg = NULL;
	img = open_image(type, flags, id);
	if (!img)
		return -1;
	if (empty_image(img)) {
		close_image(img);
		return 0;
	}
	ret = pb_read_one(img, msg, d);
	close_image(img);
	return ret < 0 ? -1 : 1;
}
