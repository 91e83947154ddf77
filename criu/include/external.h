/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_EXTERNAL_H
#define CR_EXTERNAL_H

#include <stdbool.h>

#include "fdinfo.pb-c.h"

/*
 * What lies outside the tree, named by the caller as CRIU names it:
 * --external KEY[:VALUE] at dump (net[ino]:NAME is used; mnt[...] goes to
 * mount.c; other keys are kept and match nothing), --inherit-fd
 * fd[N]:KEY at restore (criu's own fd N stands for the file or namespace
 * KEY: pipe:[ino], socket:[ino], a path, or a name given at dump).
 */
int inherit_fd_add(int fd, const char *key);
/* "fd[N]:KEY" */
int inherit_fd_parse(const char *arg);
/* A fresh duplicate of the fd given for key (the caller closes it); -1: none. */
int inherit_fd_dup(const char *key);
bool inherit_fd_given(const char *key);

int external_add(const char *arg);
/* The VALUE of --external KEY:VALUE ("" without one); NULL: not external. */
const char *external_value(const char *key);

/*
 * Restore: the inherited fd that replaces file fe (a pipe, socket, path or
 * tty the caller handed over); 1 and *fd set, 0 none, -1 error.
 */
int inherit_fd_for_file(FileEntry *fe, int *fd);

#endif
