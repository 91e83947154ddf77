/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_NAMESPACES_H
#define CR_NAMESPACES_H

#include <sys/types.h>

#include "core.pb-c.h"
#include "util.h"

/* Fill the namespace ids of a task (one id per namespace inode). */
int dump_task_ns_ids(pid_t pid, TaskKobjIdsEntry *ids);
/* A fresh id for a kernel object a task may share (mm, files, fs, ...). */
u32 new_kobj_id(void);
/* timens-0.img: the time namespace offsets of the root task. */
int dump_timens(pid_t pid);

#endif
