/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_MOUNT_H
#define CR_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/* --external mnt[KEY]:VAL and --ext-mount-map KEY:VAL (dump and restore) */
int mnt_add_external(const char *arg);
int mnt_add_ext_map(const char *key, const char *val);
int mnt_add_ext_mount_map(const char *arg);

/* dump: the mountinfo of pid's namespace as its root sees it (to free) */
char *read_tree_mountinfo(pid_t pid);
/* dump: write mountpoints-ID.img (and tmpfs contents) for pid's mount namespace */
int dump_mounts(pid_t pid, u32 id);

/* restore, in criu: read mountpoints-ID.img if the dump wrote one (1: there is one) */
int prepare_mounts(u32 id);
bool mounts_in_images(void);
/* restore, in the root: build the tree's mounts and pivot_root into them */
int restore_mounts(void);
/* then, after the other namespaces: per-mount flags and propagation */
int finish_mounts(void);

/*
 * The files of a tree with its own mounts are opened in its mount
 * namespace once the root has built it: before the fork, criu makes the
 * channel; after it, criu opens the anchors in the root's namespace with
 * open_fn and hands them over, and the root takes them in.
 */
int mnt_anchor_channel(void);
int mnt_hand_anchors(pid_t root_pid, int (*open_fn)(void));
/* files-reg.c: is each exe and mapped file the one dumped (in the tree's mounts) */
int reg_check_identities(void);

#endif
