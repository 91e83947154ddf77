/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_FILES_H
#define CR_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"
#include "image.h"
#include "pstree.h"
#include "util.h"

/* One open descriptor of a task being dumped. */
struct fd_parms {
	pid_t pid;
	int fd;			/* -1 when the file is reached by a path link */
	int lfd;		/* criu's copy (pidfd_getfd), or -1 */
	char *fdinfo;		/* the text of /proc/PID/fdinfo/N, or NULL */
	int fd_flags;		/* FD_CLOEXEC */
	unsigned int flags;	/* file status flags, O_* */
	u64 pos;
	int mnt_id;
	char link[PATH_MAX];	/* what readlink said */
	char proc_path[PATH_MAX];	/* /proc/PID/fd/N, map_files/A-B or a path */
	struct stat st;
};

/*
 * One kind of file.  files.c keeps a table of these and asks each, in
 * order, whether it recognises a descriptor; the first that does dumps
 * it.  At restore, the entry's type picks the kind that opens it.
 * Every hook but name and type is optional.
 */
struct fd_kind {
	const char *name;
	int type;		/* FD_TYPES__* of the entries it writes */
	/* dump: is this descriptor ours? (link, st, fdinfo are filled) */
	bool (*match)(const struct fd_parms *p);
	/* dump: write the file entry (and any image of its own) for id */
	int (*dump)(struct fd_parms *p, u32 id);
	/* dump: every task is dumped; write what waited for the others */
	int (*dump_fini)(void);
	/* restore: read the kind's own images, before any anchor opens */
	int (*collect)(void);
	/* restore: open the description of fe in criu, anywhere */
	int (*open)(FileEntry *fe, int *fd);
	/* restore: every anchor is open (e.g. to register epoll targets) */
	int (*anchors_done)(void);
	/* restore, in the task: its descriptors are in place */
	int (*task_fds_done)(struct pstree_item *it);
	/* restore, in the task: every task of the tree exists (after the go) */
	int (*tree_done)(struct pstree_item *it);
	/* restore failed: undo what the kind left outside criu (bound socket files) */
	void (*restore_failed)(void);
};

extern const struct fd_kind reg_kind, pipe_kind, fifo_kind, memfd_kind;
extern const struct fd_kind eventfd_kind, signalfd_kind, timerfd_kind;
extern const struct fd_kind nsf_kind, pidfd_kind;
extern const struct fd_kind eventpoll_kind, inotify_kind;
extern const struct fd_kind tty_kind;
extern const struct fd_kind unix_sk_kind, inet_sk_kind;
extern const struct fd_kind netlink_sk_kind;

/* The kind that writes entries of this FD_TYPES__*, or NULL. */
const struct fd_kind *fd_kind_of_type(int type);

/*
 * What the dump knows of every description so far, for kinds whose
 * entries point at other files (epoll targets, locks, tty pairs).
 */
struct dumped_file {
	struct list_head list;
	u32 id;
	pid_t pid;		/* a task holding it ... */
	int fd;			/* ... at this fd; -1: reached through a path link */
	u64 dev, ino;
	unsigned int flags;
	int type;		/* FD_TYPES__* */
};
extern struct list_head dumped_files;
struct dumped_file *find_dumped_fd(pid_t pid, int fd);
/* files-index.c: the dumped description fd p refers to, or NULL; add one; free */
struct dumped_file *find_same_description(struct fd_parms *p);
void fd_index_add(const struct fd_parms *p, struct dumped_file *d);
void fd_index_free(void);

/* A file descriptor of pid, duplicated into criu (pidfd_getfd). */
int get_task_fd(pid_t pid, int fd);

/* Set when the dump failed: the kinds' dump_fini then only frees. */
extern bool files_dump_failed;

/* files.img, written by every task of the dump */
int files_dump_init(void);
int files_dump_fini(void);
int write_file_entry(FileEntry *fe);
u32 new_file_id(void);

/* Dump the whole fd table of a task into fdinfo-<files_id>.img. */
int dump_task_files(struct pstree_item *it, u32 files_id);
/*
 * Dump the file behind a /proc magic link (exe, cwd, root, a VMA's
 * map_files entry); the same file with the same flags gets one id.
 */
int dump_file_link(pid_t pid, const char *proc_path, unsigned int flags, u32 *id);
int dump_path_file(pid_t pid, const char *path, unsigned int flags, u32 *id);
struct vma_area;
struct vm_area_list;
/*
 * The file a VMA maps: through /proc/PID/map_files when we may open it
 * (CAP_CHECKPOINT_RESTORE in the initial user namespace), else through
 * one of the task's fds for the same inode, else by its path, and for a
 * deleted file, from what the task's mappings of it show.
 */
int dump_vma_file(pid_t pid, struct vm_area_list *vl, struct vma_area *v, unsigned int flags,
		  u32 *id);
int dump_ghost_from_mappings(pid_t pid, struct vm_area_list *vl, struct vma_area *v,
			     unsigned int flags, u32 id);

bool is_tty(const struct stat *st);
/* files-reg.c */
int dump_reg_file(struct fd_parms *p, u32 id);
/*
 * The path to open the file of a reg entry at: its name (0), or its ghost
 * made again (1: unlink it once open), or -1.
 */
int reg_open_name(FileEntry *fe, char *path, size_t len);
/* memfd.c */
bool is_memfd_link(const char *link);
int dump_memfd(struct fd_parms *p, u32 id);

/*
 * Restore.  criu opens every file description of the whole tree itself,
 * before any task exists, at "anchor" descriptors numbered from
 * svc_fd_base up; tasks inherit them through fork and dup3() them into
 * place, so descriptions shared in the dump are shared again.
 */
extern int svc_fd_base;

/* Move fd to the service range (>= svc_fd_base); returns the new fd. */
int move_to_svc(int fd);
/* Read files.img and friends, and compute svc_fd_base. */
int prepare_files(void);
/* Open the anchor of file id, with the flags its entry records. */
int open_anchor(u32 id, int *fd);
FileEntry *find_file_entry(u32 id);
/* Every file id of files.img is below this. */
u32 file_id_limit(void);
/* The anchor of a file id that has one, or -1. */
int anchor_fd(u32 id);
/* Open every file the tree uses (fds, VMAs, exe, cwd, root). */
int open_all_anchors(void);
/* mount.c: anchors opened after the fork, handed to the root */
void adopt_anchor(u32 id, int fd);
int for_each_anchor(int (*fn)(u32 id, int fd, void *arg), void *arg);
/*
 * In a task, for files it must open itself: open_own() opens entry fe
 * (returns 0 and *fd), or says it is not one of those (1), or fails (-1);
 * the file is put at each of the task's fds of that type.
 */
int reopen_task_fds(struct pstree_item *it, int type, int (*open_own)(FileEntry *fe, int *fd));
/* In a task: install its descriptor table from the anchors. */
int restore_task_fds(struct pstree_item *it);
/* In a task, once every task exists: what refers to other tasks. */
int restore_task_fds_late(struct pstree_item *it);
void close_anchors(void);
/* The restore failed: every kind undoes what it made outside criu. */
void files_restore_failed(void);

/*
 * fown.c: the owner and signal of a description (F_SETOWN_EX, F_SETSIG),
 * read from p->lfd, for the fown_entry of every kind's entry.
 */
int dump_fown(struct fd_parms *p, FownEntry *fown);
/* Set fown's signal on fd now and its owner in restore_fowns(). */
int restore_fown(int fd, FownEntry *fown);
/* From criu once every task exists: every owner restore_fown() kept. */
int restore_fowns(void);

/* pipes.c: drop criu's own ends once every anchor is open. */
void close_pipe_holders(void);

#endif
