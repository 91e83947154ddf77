/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_JOIN_NS_H
#define CR_JOIN_NS_H

#include "util.h"

/*
 * --join-ns NS:{PID|FILE} (RPC join_ns): restore puts the tree into an
 * existing namespace instead of making one and filling it from the
 * images, as crun does for a pod's shared uts and ipc namespaces.
 */
int join_ns_add(const char *ns, const char *target, const char *extra);
int join_ns_parse(const char *arg);	/* "NS:TARGET[,OPTIONS]" */
/* Restore, in criu: open the namespaces; their CLONE_NEW* bits. */
int join_ns_prepare(u32 *flags);
/* Restore, in the root: enter them. */
int join_ns_enter(void);

#endif
