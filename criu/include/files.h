/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_FILES_H
#define CR_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "fdinfo.pb-c.h"
#include "image.h"
#include "pstree.h"
#include "util.h"

/* One open descriptor of a task being dumped. */
struct fd_parms {
	pid_t pid;
	int fd;			/* -1 when the file is reached by a path link */
	int fd_flags;		/* FD_CLOEXEC */
	unsigned int flags;	/* file status flags, O_* */
	u64 pos;
	int mnt_id;
	char link[PATH_MAX];	/* what readlink said */
	char proc_path[64];	/* /proc/PID/fd/N or /proc/PID/map_files/A-B */
	struct stat st;
};

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

/* files-reg.c */
int dump_reg_file(struct fd_parms *p, u32 id);
int reg_dump_fini(void);
/* pipes.c */
int dump_pipe(struct fd_parms *p, u32 id);
int dump_fifo(struct fd_parms *p, u32 id);
int pipes_dump_fini(void);
/* memfd.c */
bool is_memfd_link(const char *link);
int dump_memfd(struct fd_parms *p, u32 id);
int memfd_dump_fini(void);

#endif
