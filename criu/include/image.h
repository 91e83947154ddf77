/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_IMAGE_H
#define CR_IMAGE_H

#include <fcntl.h>
#include <stdbool.h>
#include <sys/types.h>
#include <protobuf-c/protobuf-c.h>

enum cr_img_type {
	CR_FD_INVENTORY,
	CR_FD_PSTREE,
	CR_FD_CORE,
	CR_FD_IDS,
	CR_FD_MM,
	CR_FD_PAGEMAP,
	CR_FD_SHMEM_PAGEMAP,
	CR_FD_PAGES,
	CR_FD_FILES,
	CR_FD_FDINFO,
	CR_FD_FS,
	CR_FD_PIPES_DATA,
	CR_FD_FIFO_DATA,
	CR_FD_SECCOMP,
	CR_FD_TIMENS,
	CR_FD_STATS,
	CR_FD_USERNS,
	CR_FD_UTSNS,
	CR_FD_PIDNS,
	CR_FD_GHOST_FILE,
	CR_FD_REMAP_FPATH,
	CR_FD_MEMFD_INODE,
	CR_FD_NETDEV,
	CR_FD_NETNS,
	CR_FD_FILE_LOCKS,
	CR_FD_TTY_INFO,
	CR_FD_TTY_DATA,
	CR_FD_SK_QUEUES,
	CR_FD_IPC_VAR,
	CR_FD_IPCNS_SHM,
	CR_FD_IPCNS_MSG,
	CR_FD_IPCNS_SEM,
	CR_FD_TCP_STREAM,
	CR_FD_CPUINFO,
	CR_FD_MNTS,
	CR_FD_TMPFS_DEV,
	CR_FD_CGROUP,
	CR_FD_IFADDR,
	CR_FD_ROUTE,
	CR_FD_ROUTE6,
	CR_FD_RULE,
	CR_FD_MAX
};

/* open_image() flags */
#define O_DUMP	(O_WRONLY | O_CREAT | O_TRUNC)
#define O_RSTR	(O_RDONLY)
/* with O_RSTR: a missing file is not an error, the image is just empty */
#define O_OPT	(1 << 30)

struct cr_img {
	int fd;			/* -1 for an empty optional image */
	int type;
	bool writing;
	off_t off;		/* file offset of the next entry (for messages) */
	char name[64];
	char *buf;		/* write buffer */
	size_t buf_len;
};

/* The image directory: all images are opened relative to it. */
int open_image_dir(const char *dir, bool create);
int get_image_dir_fd(void);
/* Keep it out of the way of the descriptors of restored tasks. */
int move_image_dir_fd(int base);
void close_image_dir(void);

struct cr_img *open_image(int type, int flags, ...);
/* The same in another directory (a parent dump), by its fd. */
struct cr_img *open_image_at(int dfd, int type, int flags, ...);
int close_image(struct cr_img *img);
static inline bool empty_image(struct cr_img *img)
{
	return img->fd < 0;
}

/* Raw data: the pages image and the payload after pipe-data entries. */
int img_write_raw(struct cr_img *img, const void *buf, size_t len);
int img_read_raw(struct cr_img *img, void *buf, size_t len);
int img_flush(struct cr_img *img);
int img_raw_fd(struct cr_img *img);

int pb_write_one(struct cr_img *img, const ProtobufCMessage *msg);
#define pb_write(img, m) pb_write_one(img, &(m)->base)
/*
 * Read one entry; returns 1 on success, 0 at a clean end of file and -1
 * on error (bad framing or an undecodable message, already reported).
 */
int pb_read_one_eof(struct cr_img *img, void **msg, const ProtobufCMessageDescriptor *d);
/*
 * Read every entry of an image (opened with flags, and the image's one
 * number as the last argument where it has one) and hand each to take(),
 * which owns it from then on; a non-zero return stops the reading.
 */
int pb_read_all(int type, int flags, const ProtobufCMessageDescriptor *d,
		int (*take)(void *msg, void *arg), void *arg, ...);
/* Same, but the end of file is an error too. */
int pb_read_one(struct cr_img *img, void **msg, const ProtobufCMessageDescriptor *d);
void pb_free(void *msg);

const char *image_name_fmt(int type);
/*
 * Per-object images are named by one number, always passed to
 * open_image() as an unsigned long; stats-* take a string instead.
 */
/* Write a single-entry image in one go. */
int pb_write_image(int type, const ProtobufCMessage *msg, unsigned long id);
/* dump: remove a stale inventory.img first; write the new one last, synced */
int images_dump_start(void);
int images_commit_inventory(const ProtobufCMessage *msg);
void images_uncommit_inventory(void);
int images_commit_durable(void);
void img_start_writeback(struct cr_img *img, off_t off, size_t len);
/* restore: refuse a directory whose dump did not finish */
int images_check_complete(const char *dir);
/* restore: every pagemap against its pages file, before anything is made */
int check_page_images(void);
/* Read a single-entry image; returns 1, 0 if absent (only with O_OPT), -1 */
int pb_read_image(int type, int flags, void **msg, const ProtobufCMessageDescriptor *d,
		  unsigned long id);

#endif
