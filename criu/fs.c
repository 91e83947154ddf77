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
