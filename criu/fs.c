// SPDX-License-Identifier: GPL-2.0
/* cwd, root and umask of a task: fs-PID.img. */
#include <fcntl.h>
#include <stdio.h>

#include "files.h"
#include "fs.pb-c.h"
#include "task_state.h"

int dump_fs(struct pstree_item *it, unsigned int umask)
{
	FsEntry fe = FS_ENTRY__INIT;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/cwd", it->pid);
	if (dump_file_link(it->pid, path, O_RDONLY | O_DIRECTORY, &fe.cwd_id))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/root", it->pid);
	if (dump_file_link(it->pid, path, O_RDONLY | O_DIRECTORY, &fe.root_id))
		return -1;
	fe.has_umask = true;
	fe.umask = umask;
	return pb_write_image(CR_FD_FS, &fe.base, it->vpid);
}

/* ---- restore ---- */

#include <sys/stat.h>
#include <unistd.h>

#include "restore.h"

/*
 * The cwd and umask now; the root only at the very end (restore_fs_root),
 * so that every /proc access of the task's own restore sees criu's /proc.
 */
int restore_fs(struct pstree_item *it)
{
	FsEntry *fe = rst_of(it)->fs;
	int cwd = anchor_fd(fe->cwd_id), root = anchor_fd(fe->root_id);

	if (cwd < 0 || root < 0) {
		pr_err("pid %d: its cwd or root was not opened\n", it->vpid);
		return -1;
	}
	if (fchdir(cwd)) {
		pr_perror("cannot change the cwd of pid %d", it->vpid);
		return -1;
	}
	if (fe->has_umask)
		umask(fe->umask);
	return 0;
}

/* chroot needs CAP_SYS_CHROOT in the task's user namespace */
int restore_fs_root(struct pstree_item *it)
{
	FsEntry *fe = rst_of(it)->fs;
	int cwd = anchor_fd(fe->cwd_id), root = anchor_fd(fe->root_id);
	struct stat a, b;

	if (fstat(root, &a) || stat("/", &b)) {
		pr_perror("cannot stat the root of pid %d", it->vpid);
		return -1;
	}
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return 0;
	if (fchdir(root) || chroot(".")) {
		pr_perror("cannot change the root of pid %d (chroot needs CAP_SYS_CHROOT)",
			  it->vpid);
		return -1;
	}
	if (fchdir(cwd)) {
		pr_perror("cannot change the cwd of pid %d under its root", it->vpid);
		return -1;
	}
	pr_info("pid %d: root restored\n", it->vpid);
	return 0;
}
