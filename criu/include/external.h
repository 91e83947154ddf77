/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_EXTERNAL_H
#define CR_EXTERNAL_H

/*
 * --external KEY[:VALUE] (RPC: external strings, and veths pairs as
 * veth[IN]:OUT): what the tree uses outside of itself, as CRIU names it.
 */
int external_add(const char *arg);
/* The VALUE of --external KEY:VALUE ("" without one); NULL: not external. */
const char *external_value(const char *key);

#endif
