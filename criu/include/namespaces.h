/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_NAMESPACES_H
#define CR_NAMESPACES_H

#include <sys/types.h>

#include "core.pb-c.h"
#include "pstree.h"
#include "util.h"

/* Fill the namespace ids of a task (one id per namespace inode). */
int dump_task_ns_ids(pid_t pid, TaskKobjIdsEntry *ids);
/* The id dump_task_ns_ids() gave the namespace inode ino, or 0. */
u32 ns_id_of_ino(u64 ino);
/* A fresh id for a kernel object a task may share (mm, files, fs, ...). */
u32 new_kobj_id(void);
/* timens.c: timens-0.img, criu's clocks (pid is unused). */
int dump_timens(pid_t pid);
/* timens-ID.img: the clocks of pid's time namespace (the tree's own). */
int dump_tree_timens(pid_t pid, unsigned long id);
/* Refuse a pid whose time namespace for children is not its own. */
int check_time_for_children(pid_t pid);
/* Read timens-ID.img (and timens-0.img) for the restore. */
int prepare_timens(u32 id);
/* In the root: a new time namespace with the dumped clocks, if any. */
int restore_timens(void);

/*
 * Check and write the namespaces the tree has of its own; ns_flags gets
 * their CLONE_NEW* bits, proc_mount the flags of a fresh /proc (bit 31
 * set when there is one).
 */
int dump_namespaces(struct pstree_item *root, u32 *ns_flags, u32 *proc_mount);
/*
 * Run fn in a child that joined pid's namespace of kind ns (nstype); what
 * fn writes to out is read into buf.  Returns the bytes read or -1.
 */
ssize_t ask_in_ns(pid_t pid, const char *ns, int nstype, int (*fn)(int out), void *buf,
		  size_t len);
/* the root's ids, from cr-dump.c */
TaskKobjIdsEntry *dump_root_ids(void);
/* Ids as the tree's own user namespace sees them. */
int prepare_id_translation(pid_t root_pid);
u32 tree_uid(u32 uid);
u32 tree_gid(u32 gid);

/* net-ns.c: a net namespace of the tree's own (loopback, veth) */
int dump_netns(pid_t pid, u32 id);
int prepare_netns(u32 id);
/* From criu, once the root exists: its devices, addresses and routes. */
int restore_netns_from_criu(pid_t root);
int restore_netns(void);

/* restore */
int prepare_namespaces(u32 ns_flags, u32 proc_mount, TaskKobjIdsEntry *root_ids);
u32 restore_ns_flags(void);
/* From criu, once the root exists: its uid_map, gid_map and setgroups. */
int write_userns_maps(pid_t pid);
/* In the root, in its new namespaces: /proc, host names, loopback. */
int restore_root_namespaces(void);

#endif
